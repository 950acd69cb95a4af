"""One-time recovery codes for staff who lost their authenticator: each works once in place of a TOTP code.

A set is ten codes of ten characters (about 49 bits each), from an alphabet without look-alikes. Only an
HMAC of each code is stored (a key derived from the service secret; the codes are random, so a slow hash
adds nothing), and they are shown once, when made. A new set replaces the old one; resetting the second
factor (`avlabel accounts totp-enrol --reset`) removes them. A use is audited with how many are left, never
with the code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import Connection, func, select

from backend import audit
from backend.store.db import utcnow
from backend.store.schema import staff_recovery_codes as codes

COUNT = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LENGTH = 10


def _digest(service_secret: str, code: str) -> str:
    if not service_secret:
        raise RuntimeError("no service secret: recovery codes cannot be keyed")
    key = hashlib.sha256(b"avlabel-recovery-code:" + service_secret.encode()).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def normalise(text: str) -> str | None:
    """The code as stored (lower case, no spaces or dash), or None when it cannot be one."""
    code = "".join(text.split()).replace("-", "").lower()
    return code if len(code) == LENGTH and all(c in ALPHABET for c in code) else None


def issue(conn: Connection, account_id: str, service_secret: str, actor: str) -> list[str]:
    """A new set of codes for the account (the old ones stop working); returned once, as `xxxxx-xxxxx`."""
    fresh = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]
    now = utcnow()
    conn.execute(codes.delete().where(codes.c.account_id == account_id))
    conn.execute(codes.insert(), [{"digest": _digest(service_secret, c), "account_id": account_id,
                                   "created_at": now} for c in fresh])
    audit.append(conn, actor, "account.recovery_codes_issued", account_id, {"count": COUNT})
    return [f"{c[:5]}-{c[5:]}" for c in fresh]


def use(conn: Connection, account_id: str, text: str, service_secret: str) -> bool:
    """True once for each of the account's unused codes; the use is recorded in the same transaction."""
    code = normalise(text)
    if code is None:
        return False
    # Conditional, so two sign-ins racing with one code cannot both pass.
    done = conn.execute(codes.update().where(
        codes.c.digest == _digest(service_secret, code), codes.c.account_id == account_id,
        codes.c.used_at.is_(None)).values(used_at=utcnow()))
    if done.rowcount != 1:
        return False
    audit.append(conn, account_id, "account.recovery_code_used", account_id,
                 {"remaining": remaining(conn, account_id)})
    return True


def remaining(conn: Connection, account_id: str) -> int:
    return int(conn.execute(select(func.count()).select_from(codes).where(
        codes.c.account_id == account_id, codes.c.used_at.is_(None))).scalar_one())


def revoke(conn: Connection, account_id: str) -> int:
    """Removes the account's codes (its second factor is being replaced)."""
    return int(conn.execute(codes.delete().where(codes.c.account_id == account_id)).rowcount)
