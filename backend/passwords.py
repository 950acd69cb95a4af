"""Console passwords: Argon2id hashes (argon2-cffi), never the password itself."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection

from backend import audit, sessions, staff_login
from backend.domain_errors import InvalidInput, NotFound
from backend.store.schema import accounts
from backend.vocabulary import CONSOLE_ROLES, LOCKED_OUT

MIN_LENGTH = 12
MAX_LENGTH = 200


def _hasher() -> PasswordHasher:
    return PasswordHasher()


def set_password(conn: Connection, account_id: str, password: str, actor: str) -> None:
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput("weak_password", f"a console password has {MIN_LENGTH} to {MAX_LENGTH} characters")
    result = conn.execute(accounts.update().where(accounts.c.id == account_id)
                          .values(password_hash=_hasher().hash(password)))
    if result.rowcount == 0:
        raise NotFound("account_not_found", "no such account")
    ended = sessions.revoke_account(conn, account_id, "password_changed")  # a reset locks the old holder out
    audit.append(conn, actor, "account.password_set", account_id, {"sessions_ended": ended})


def check_password(conn: Connection, account_id: str, password: str) -> bool:
    """Whether `password` is this account's console password (asked again before a security setting changes)."""
    row = conn.execute(accounts.select().where(accounts.c.id == account_id)).first()
    if row is None or not row.password_hash:
        _hasher().hash(password)
        return False
    try:
        return bool(_hasher().verify(row.password_hash, password[:MAX_LENGTH]))
    except (VerificationError, InvalidHashError):
        return False


def check_login(conn: Connection, login: str, password: str) -> Any:
    """The staff account row whose username or e-mail is `login` if the password matches and it may use
    the console; None otherwise (no hint why). The second factor is checked after this (staff_login)."""
    row = staff_login.find(conn, login)
    if row is None or not row.password_hash:
        _hasher().hash(password)  # same work either way, so timing does not reveal which accounts exist
        return None
    try:
        _hasher().verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if row.role not in CONSOLE_ROLES or row.status in LOCKED_OUT:
        return None
    return row
