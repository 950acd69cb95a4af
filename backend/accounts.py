"""Accounts, roles and API keys; publisher identity verification gates signing (Art. 8).

API keys are 256-bit random tokens, so a plain SHA-256 digest is a safe stored form. Raw identity
numbers are never stored or logged: only a keyed digest (HMAC with the service secret) and a hint.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from backend import audit
from backend.errors import ApiError
from backend.store.db import new_id, utcnow
from backend.store.schema import accounts, api_keys

ROLES = ("admin", "moderator", "auditor", "publisher")
IDENTITY_KINDS = ("org_code", "id_number", "mobile")
BLOCKED_FROM_PUBLISHING = {"suspended": "suspended", "closed": "closed"}


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    role: str
    status: str
    identity_verified: bool
    complaint_contact: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Account:
        return cls(
            row.id, row.name, row.role, row.status, bool(row.identity_verified), row.complaint_contact
        )


def key_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def identity_digest(secret_key: str, kind: str, number: str) -> str:
    normalised = "".join(number.split()).upper()
    return hmac.new(secret_key.encode(), f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()


def create_account(
    conn: Connection, name: str, role: str, actor: str = "system", complaint_contact: str | None = None
) -> Account:
    if role not in ROLES:
        raise ApiError(400, "invalid_role", f"role must be one of {', '.join(ROLES)}")
    name = name.strip()
    if not name or len(name) > 200:
        raise ApiError(400, "invalid_name", "name must be 1 to 200 characters")
    account_id = new_id("acct")
    conn.execute(
        accounts.insert().values(
            id=account_id,
            name=name,
            role=role,
            status="active",
            identity_verified=False,
            complaint_contact=complaint_contact,
            created_at=utcnow(),
        )
    )
    audit.append(conn, actor, "account.created", account_id, {"name": name, "role": role})
    return Account(account_id, name, role, "active", False, complaint_contact)


def issue_api_key(conn: Connection, account_id: str, actor: str = "system") -> str:
    token = "avl_" + secrets.token_urlsafe(32)
    conn.execute(
        api_keys.insert().values(
            id=new_id("key"),
            account_id=account_id,
            key_digest=key_digest(token),
            prefix=token[:10],
            created_at=utcnow(),
        )
    )
    audit.append(conn, actor, "api_key.issued", account_id, {"prefix": token[:10]})
    return token


def verify_identity(
    conn: Connection, secret_key: str, account_id: str, kind: str, number: str, actor: str
) -> None:
    """Record that an admin checked a publisher's real identity; the raw number is not kept."""
    if kind not in IDENTITY_KINDS:
        raise ApiError(400, "invalid_identity_kind", f"identity kind must be one of {', '.join(IDENTITY_KINDS)}")
    cleaned = "".join(number.split())
    if not (4 <= len(cleaned) <= 64):
        raise ApiError(400, "invalid_identity_number", "identity number must be 4 to 64 characters")
    result = conn.execute(
        accounts.update()
        .where(accounts.c.id == account_id)
        .values(
            identity_verified=True,
            identity_kind=kind,
            identity_digest=identity_digest(secret_key, kind, cleaned),
            identity_hint="…" + cleaned[-2:],
            verified_by=actor,
            verified_at=utcnow(),
        )
    )
    if result.rowcount == 0:
        raise ApiError(404, "account_not_found", "no such account")
    audit.append(conn, actor, "account.identity_verified", account_id, {"kind": kind})


def get_account(conn: Connection, account_id: str) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    return Account.from_row(row) if row else None


def authenticate(conn: Connection, token: str) -> Account | None:
    row = conn.execute(
        select(accounts)
        .join(api_keys, api_keys.c.account_id == accounts.c.id)
        .where(api_keys.c.key_digest == key_digest(token), api_keys.c.revoked_at.is_(None))
    ).first()
    return Account.from_row(row) if row else None


def check_may_publish(account: Account) -> None:
    if account.role != "publisher":
        raise ApiError(403, "not_a_publisher", "only publisher accounts may sign media")
    if account.status in BLOCKED_FROM_PUBLISHING:
        raise ApiError(
            403,
            f"account_{account.status}",
            f"this account is {account.status} and may not publish (see the notice sent to the account)",
        )
    if not account.identity_verified:
        raise ApiError(
            403,
            "identity_not_verified",
            "publisher identity is not verified; an administrator must verify it before you can publish",
        )
