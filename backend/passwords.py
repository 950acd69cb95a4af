"""Console passwords: Argon2id hashes (argon2-cffi), never the password itself."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, select

from backend import audit
from backend.accounts import Account
from backend.errors import ApiError
from backend.store.schema import accounts

MIN_LENGTH = 12
MAX_LENGTH = 200
CONSOLE_ROLES = ("admin", "moderator", "auditor")


def _hasher() -> PasswordHasher:
    return PasswordHasher()


def set_password(conn: Connection, account_id: str, password: str, actor: str) -> None:
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ApiError(400, "weak_password", f"a console password has {MIN_LENGTH} to {MAX_LENGTH} characters")
    result = conn.execute(accounts.update().where(accounts.c.id == account_id)
                          .values(password_hash=_hasher().hash(password)))
    if result.rowcount == 0:
        raise ApiError(404, "account_not_found", "no such account")
    audit.append(conn, actor, "account.password_set", account_id, {})


def check_login(conn: Connection, account_id: str, password: str) -> Account | None:
    """The account if the password matches and it may use the console; None otherwise (no hint why)."""
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    if row is None or not row.password_hash:
        _hasher().hash(password)  # same work either way, so timing does not reveal which accounts exist
        return None
    try:
        _hasher().verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if row.role not in CONSOLE_ROLES or row.status in ("suspended", "closed"):
        return None
    return Account.from_row(row)
