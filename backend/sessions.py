"""Console session records: created at sign-in, checked on every request, revoked for good.

The browser holds a random 256-bit id; the table stores its SHA-256, so a database reader cannot
replay sessions. A session ends at logout, when its password is changed or reset, when the account is
suspended or closed, and after `console_session_hours`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, select, update

from backend.store.db import utcnow
from backend.store.schema import console_sessions

TOUCH_EVERY = dt.timedelta(seconds=60)  # last_seen is a hint for humans: no write on every click


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def create(conn: Connection, account_id: str, hours: float) -> str:
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    conn.execute(console_sessions.insert().values(
        id_digest=digest(raw), account_id=account_id, created_at=now, last_seen_at=now,
        expires_at=now + dt.timedelta(hours=hours)))
    return raw


def live_account(conn: Connection, raw: str) -> tuple[str, bool] | None:
    """The account of a live session (not revoked, not expired) and whether last_seen is due a touch."""
    row = conn.execute(select(console_sessions).where(console_sessions.c.id_digest == digest(raw))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or _aware(row.expires_at) <= now:
        return None
    return str(row.account_id), now - _aware(row.last_seen_at) > TOUCH_EVERY


def touch(conn: Connection, raw: str) -> None:
    conn.execute(update(console_sessions).where(console_sessions.c.id_digest == digest(raw))
                 .values(last_seen_at=utcnow()))


def revoke(conn: Connection, raw: str, reason: str = "logout") -> None:
    conn.execute(update(console_sessions).where(console_sessions.c.id_digest == digest(raw),
                                                console_sessions.c.revoked_at.is_(None))
                 .values(revoked_at=utcnow(), revoked_reason=reason))


def revoke_account(conn: Connection, account_id: str, reason: str) -> int:
    """End every live session of an account; returns how many were live."""
    result = conn.execute(update(console_sessions).where(console_sessions.c.account_id == account_id,
                                                         console_sessions.c.revoked_at.is_(None))
                          .values(revoked_at=utcnow(), revoked_reason=reason))
    return int(result.rowcount or 0)
