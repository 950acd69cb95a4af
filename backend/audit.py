"""Append-only, hash-chained audit log (Art. 14/17 records).

Each entry's hash covers its content and the previous entry's hash, so editing or deleting any row
breaks the chain from that row on. Appends happen inside the caller's transaction, with the writer
serialised (PostgreSQL advisory lock, SQLite BEGIN IMMEDIATE) so the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, text

from backend.store.schema import audit_log

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 0x61766C61  # "avla"


def _canonical(at: dt.datetime, actor: str, action: str, subject: str | None, data: Any, prev: str) -> bytes:
    body = {
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "data": data,
        "prev": prev,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(row: Any, prev: str) -> str:
    return hashlib.sha256(_canonical(row.at, row.actor, row.action, row.subject, row.data, prev)).hexdigest()


def append(conn: Connection, actor: str, action: str, subject: str | None, data: dict[str, Any]) -> str:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    last = conn.execute(select(audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).scalar()
    prev = last or GENESIS
    # Microsecond precision survives both databases' timestamp types, so the hash recomputes.
    at = dt.datetime.now(dt.UTC)
    data = json.loads(json.dumps(data, default=str))
    digest = hashlib.sha256(_canonical(at, actor, action, subject, data, prev)).hexdigest()
    conn.execute(
        audit_log.insert().values(
            at=at, actor=actor, action=action, subject=subject, data=data, prev_hash=prev, hash=digest
        )
    )
    return digest


@dataclass
class ChainReport:
    entries: int
    ok: bool
    first_broken_seq: int | None = None
    reason: str = ""


def _rows(conn: Connection, batch: int = 5000) -> Iterator[Any]:
    last = 0
    while True:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.seq > last).order_by(audit_log.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def prune_anchor(conn: Connection) -> tuple[int, str] | None:
    """Where the log starts after a retention prune: (last removed seq, its hash), itself a chained entry."""
    row = conn.execute(select(audit_log.c.data).where(audit_log.c.action == "audit.pruned")
                       .order_by(audit_log.c.seq.desc()).limit(1)).first()
    if row is None:
        return None
    return int(row.data["up_to_seq"]), str(row.data["last_hash"])


def verify_chain(conn: Connection) -> ChainReport:
    prev = GENESIS
    count = 0
    anchor = prune_anchor(conn)
    for row in _rows(conn):
        count += 1
        if count == 1 and anchor is not None and row.seq == anchor[0] + 1:
            prev = anchor[1]  # entries before it were removed after their retention period, on record
        if row.prev_hash != prev:
            return ChainReport(count, False, row.seq, "previous-hash link broken (an entry was removed or reordered)")
        recomputed = hashlib.sha256(
            _canonical(_aware(row.at), row.actor, row.action, row.subject, row.data, prev)).hexdigest()
        if recomputed != row.hash:
            return ChainReport(count, False, row.seq, "entry content does not match its hash (edited)")
        prev = row.hash
    return ChainReport(count, True)


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(audit_log)).scalar() or 0)
