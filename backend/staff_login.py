"""Staff sign-in names and the TOTP second factor (pyotp); the console language of each staff member.

Staff (admin, moderator, auditor) sign in by username or e-mail (both unique, stored lower-cased) and
password. The TOTP secret is stored encrypted (Fernet, key derived from the service secret): it is shown
once, as an otpauth URI, when enrolment starts, and is never logged, audited or returned afterwards. A
code is accepted within one 30-second step either side of now, and only once: the step of the last code
accepted is kept and a code of that step or an earlier one is refused. Admins must enrol; others may.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from typing import Any

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, or_, select

from backend import audit, recovery_codes
from backend.domain_errors import Conflict, InvalidInput, NotFound
from backend.store.db import utcnow
from backend.store.schema import accounts
from backend.vocabulary import CONSOLE_ROLES, Role

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"
STEP = 30  # seconds per code
WINDOW = 1  # steps accepted either side of now
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[a-z0-9.-]{1,189}\.[a-z]{2,24}$")
ISSUER = "avlabel console"


def _fernet(service_secret: str) -> Fernet:
    if not service_secret:
        raise RuntimeError("no service secret: TOTP secrets cannot be encrypted")
    key = hashlib.sha256(b"avlabel-totp-secret:" + service_secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _staff_row(conn: Connection, account_id: str) -> Any:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    if row is None:
        raise NotFound("account_not_found", "no such account")
    if row.role not in CONSOLE_ROLES:
        raise Conflict("not_a_console_role", "only admin, moderator and auditor accounts use the console")
    return row


def set_login(conn: Connection, account_id: str, username: str | None, email: str | None, actor: str) -> None:
    """Gives a staff account its sign-in username and/or e-mail (either may be cleared with "")."""
    _staff_row(conn, account_id)
    values: dict[str, Any] = {}
    if username is not None:
        name = username.strip().lower()
        if name and not USERNAME.match(name):
            raise InvalidInput("invalid_username", "a username has 2 to 64 of a-z, 0-9, '.', '_' and '-'")
        values["username"] = name or None
    if email is not None:
        mail = email.strip().lower()
        if mail and not EMAIL.match(mail):
            raise InvalidInput("invalid_email", "not an e-mail address")
        values["email"] = mail or None
    if not values:
        raise InvalidInput("nothing_to_change", "give username and/or email")
    for column, value in values.items():
        if value is None:
            continue
        # Neither a username nor an e-mail may equal another account's username or e-mail.
        clash = conn.execute(select(accounts.c.id).where(
            or_(accounts.c.username == value, accounts.c.email == value), accounts.c.id != account_id)).first()
        if clash is not None:
            raise Conflict("login_taken", f"that {column} is already used by another account")
    conn.execute(accounts.update().where(accounts.c.id == account_id).values(**values))
    audit.append(conn, actor, "account.login_set", account_id, values)


def find(conn: Connection, login: str) -> Any:
    """The account whose username or e-mail is `login` (case-insensitive), or None."""
    text = login.strip().lower()
    if not text:
        return None
    return conn.execute(select(accounts).where(or_(accounts.c.username == text, accounts.c.email == text))).first()


def needs_code(row: Any) -> bool:
    """A code is asked for once enrolled."""
    return row.totp_enabled_at is not None


def must_enrol(row: Any) -> bool:
    """Admins cannot sign in until they have enrolled."""
    return row.role == Role.ADMIN and row.totp_enabled_at is None


def begin_enrolment(conn: Connection, account_id: str, service_secret: str, reset: bool = False,
                    actor: str = "system") -> str:
    """A new (not yet confirmed) secret for the account; returns its otpauth URI, the only time it is shown.
    An enrolled account keeps its secret unless `reset` (an operator's CLI reset)."""
    row = _staff_row(conn, account_id)
    if row.totp_enabled_at is not None and not reset:
        raise Conflict("totp_enrolled", "this account already has a second factor")
    secret = pyotp.random_base32()
    recovery_codes.revoke(conn, account_id)  # codes belong to the factor being replaced
    conn.execute(accounts.update().where(accounts.c.id == account_id).values(
        totp_secret=_fernet(service_secret).encrypt(secret.encode()).decode(), totp_enabled_at=None,
        totp_last_step=None))
    audit.append(conn, actor, "account.totp_enrolment_started", account_id, {"reset": reset})
    label = row.username or row.email or row.id
    return pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name=ISSUER)


def check_code(conn: Connection, account_id: str, code: str, service_secret: str,
               now: float | None = None) -> bool:
    """True once for a right code: within ±1 step and of a later step than the last code accepted.
    The first right code confirms a pending enrolment."""
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    digits = "".join(code.split())
    if row is None or not row.totp_secret or not digits.isdigit() or len(digits) != 6:
        return False
    try:
        secret = _fernet(service_secret).decrypt(row.totp_secret.encode()).decode()
    except InvalidToken:
        return False
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP)
    matched = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        if secrets.compare_digest(totp.at(step * STEP), digits):
            matched = step
    last = row.totp_last_step
    if matched is None or (last is not None and matched <= last):
        return False
    # Conditional, so two sign-ins racing with one code cannot both pass.
    done = conn.execute(accounts.update().where(
        accounts.c.id == account_id,
        or_(accounts.c.totp_last_step.is_(None), accounts.c.totp_last_step < matched))
        .values(totp_last_step=matched, totp_enabled_at=row.totp_enabled_at or utcnow()))
    if done.rowcount != 1:
        return False
    if row.totp_enabled_at is None:
        audit.append(conn, account_id, "account.totp_enrolled", account_id, {})
    return True


def set_locale(conn: Connection, account_id: str, locale: str) -> None:
    if locale not in LOCALES:
        raise InvalidInput("invalid_locale", "the console speaks zh or en")
    conn.execute(accounts.update().where(accounts.c.id == account_id).values(console_locale=locale))


def locale_of(row: Any) -> str:
    value = getattr(row, "console_locale", None)
    return value if value in LOCALES else DEFAULT_LOCALE
