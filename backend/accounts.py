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

from backend import audit, sessions
from backend.domain_errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.store.db import new_id, utcnow
from backend.store.schema import accounts, api_keys
from backend.vocabulary import LOCKED_OUT, AccountStatus, IdentityKind, Role
from backend.webhooks import new_secret

ROLES = tuple(Role)
IDENTITY_KINDS = tuple(IdentityKind)
MAX_NAME = 200
MAX_CONTACT = 300
MAX_WEBHOOK_URL = 500
MAX_IDENTITY_NUMBER = 64


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    role: Role
    status: AccountStatus
    identity_verified: bool
    complaint_contact: str | None = None
    console_locale: str = "zh"  # the language the console speaks to this staff member (zh or en)
    username: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Account:
        return cls(
            row.id, row.name, Role(row.role), AccountStatus(row.status), bool(row.identity_verified),
            row.complaint_contact, getattr(row, "console_locale", None) or "zh", getattr(row, "username", None),
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
        raise InvalidInput("invalid_role", f"role must be one of {', '.join(ROLES)}")
    account_role = Role(role)
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput("invalid_name", "name must be 1 to 200 characters")
    account_id = new_id("acct")
    conn.execute(
        accounts.insert().values(
            id=account_id,
            name=name,
            role=account_role,
            status=AccountStatus.ACTIVE,
            identity_verified=False,
            complaint_contact=complaint_contact,
            created_at=utcnow(),
        )
    )
    audit.append(conn, actor, "account.created", account_id, {"name": name, "role": account_role})
    return Account(account_id, name, account_role, AccountStatus.ACTIVE, False, complaint_contact)


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
        raise InvalidInput("invalid_identity_kind", f"identity kind must be one of {', '.join(IDENTITY_KINDS)}")
    cleaned = "".join(number.split())
    if not (4 <= len(cleaned) <= MAX_IDENTITY_NUMBER):
        raise InvalidInput("invalid_identity_number", "identity number must be 4 to 64 characters")
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
        raise NotFound("account_not_found", "no such account")
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
    if account.role != Role.PUBLISHER:
        raise Forbidden("not_a_publisher", "only publisher accounts may sign media")
    if account.status in LOCKED_OUT:
        raise Forbidden(
            f"account_{account.status}",
            f"this account is {account.status} and may not publish (see the notice sent to the account)",
        )
    if not account.identity_verified:
        raise Forbidden(
            "identity_not_verified",
            "publisher identity is not verified; an administrator must verify it before you can publish",
        )


def check_restrictions(account: Account, visible_label: bool | None) -> None:
    """A restricted publisher (Art. 14 feature limits) must keep the burned-in label and signs at a
    reduced rate (the rate is counted by the caller)."""
    if account.status == AccountStatus.RESTRICTED and visible_label is False:
        raise Forbidden("account_restricted",
                        "this account is restricted: the visible AI-generated label cannot be switched off")


def view(row: Any) -> dict[str, Any]:
    """An account as the API shows it: never the identity digest, the password hash or the webhook secret."""
    return {
        "id": row.id, "name": row.name, "role": row.role, "status": row.status,
        "identity_verified": bool(row.identity_verified), "identity_kind": row.identity_kind,
        "identity_hint": row.identity_hint, "verified_at": row.verified_at.isoformat() if row.verified_at else None,
        "complaint_contact": row.complaint_contact, "webhook_url": row.webhook_url,
        "has_password": bool(row.password_hash), "created_at": row.created_at.isoformat(),
        # Sign-in names and whether a second factor is enrolled; never the TOTP secret itself.
        "username": row.username, "email": row.email, "totp_enrolled": row.totp_enabled_at is not None,
        "console_locale": row.console_locale,
    }


def get_row(conn: Connection, account_id: str) -> Any:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    if row is None:
        raise NotFound("account_not_found", "no such account")
    return row


def update_profile(conn: Connection, account_id: str, changes: dict[str, Any], actor: str) -> str | None:
    """Sets the complaint contact and/or webhook URL; a new webhook URL gets a new secret, returned once."""
    get_row(conn, account_id)
    values: dict[str, Any] = {}
    secret = None
    if "complaint_contact" in changes:
        contact = changes["complaint_contact"]
        if contact is not None and (not isinstance(contact, str) or len(contact) > MAX_CONTACT):
            raise InvalidInput("invalid_complaint_contact", "complaint_contact must be a string of at most 300 chars")
        values["complaint_contact"] = contact.strip() or None if isinstance(contact, str) else None
    if "webhook_url" in changes:
        url = changes["webhook_url"]
        if url is not None and (not isinstance(url, str) or not url.startswith(("https://", "http://"))
                                or len(url) > MAX_WEBHOOK_URL):
            raise InvalidInput("invalid_webhook_url", "webhook_url must be an http(s) URL of at most 500 chars")
        values["webhook_url"] = url
        secret = new_secret() if url else None
        values["webhook_secret"] = secret
    if not values:
        raise InvalidInput("nothing_to_change", "give complaint_contact and/or webhook_url")
    conn.execute(accounts.update().where(accounts.c.id == account_id).values(**values))
    audit.append(conn, actor, "account.profile_changed", account_id,
                 {k: v for k, v in values.items() if k != "webhook_secret"})
    return secret


STAFF_STATUSES = ("active", "suspended", "closed")


def set_staff_status(conn: Connection, account_id: str, status: Any, actor: str) -> None:
    """An admin suspends, reinstates or closes a staff account (publishers go through cases, with reasons).
    Suspension and closing end its console sessions; closing also revokes its keys."""
    if status not in STAFF_STATUSES:
        raise InvalidInput("invalid_status", f"status must be one of {', '.join(STAFF_STATUSES)}")
    row = get_row(conn, account_id)
    if row.role == "publisher":
        raise Conflict("publisher_status_by_case", "a publisher's status changes through a case action")
    if account_id == actor:
        raise Conflict("own_status", "an administrator cannot change its own status")
    conn.execute(accounts.update().where(accounts.c.id == account_id).values(status=status))
    if status != "active":
        sessions.revoke_account(conn, account_id, f"account_{status}")
    if status == "closed":
        conn.execute(api_keys.update().where(api_keys.c.account_id == account_id, api_keys.c.revoked_at.is_(None))
                     .values(revoked_at=utcnow()))
    audit.append(conn, actor, "account.status_changed", account_id, {"from": row.status, "to": status})


def list_keys(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    get_row(conn, account_id)
    rows = conn.execute(select(api_keys).where(api_keys.c.account_id == account_id).order_by(api_keys.c.created_at))
    return [{"id": r.id, "prefix": r.prefix, "created_at": r.created_at.isoformat(),
             "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None} for r in rows]


def revoke_key(conn: Connection, account_id: str, key_id: str, actor: str) -> None:
    result = conn.execute(api_keys.update().where(api_keys.c.id == key_id, api_keys.c.account_id == account_id,
                                                  api_keys.c.revoked_at.is_(None)).values(revoked_at=utcnow()))
    if result.rowcount == 0:
        raise NotFound("key_not_found", "no such active key on this account")
    audit.append(conn, actor, "api_key.revoked", account_id, {"key_id": key_id})
