"""Append-only, hash-chained audit log (Art. 14/17 records).

Each entry's hash covers its content and the previous entry's hash, so editing or deleting any row
breaks the chain from that row on. Appends happen inside the caller's transaction, with the writer
serialised (PostgreSQL advisory lock, SQLite BEGIN IMMEDIATE) so the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from sqlalchemy import Connection, func, select, text

from backend import checkpoints
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
    result = conn.execute(
        audit_log.insert().values(
            at=at, actor=actor, action=action, subject=subject, data=data, prev_hash=prev, hash=digest
        )
    )
    inserted = result.inserted_primary_key
    if inserted is not None:
        checkpoints.after_append(conn, int(inserted[0]))
    return digest


@dataclass
class ChainReport:
    entries: int
    ok: bool
    first_broken_seq: int | None = None
    reason: str = ""
    # Against the signed checkpoints (when a trust list was given):
    # edited, link_broken, truncated, rechained, forged_prune_marker, entries_removed, forged_checkpoint
    problem: str | None = None
    checkpoint_seq: int | None = None  # the latest genuine checkpoint the chain was checked against
    unanchored: int = 0  # entries after it, not covered by a signature yet

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "first_broken_seq": self.first_broken_seq,
                "reason": self.reason or None, "problem": self.problem, "checkpoint_seq": self.checkpoint_seq,
                "unanchored_entries": self.unanchored}


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


def verify_chain(conn: Connection, trust: Sequence[x509.Certificate] | None = None,
                 saved: Sequence[dict[str, Any]] = ()) -> ChainReport:
    """Walk the chain; with `trust` (the signer's certificates) also check it against the signed
    checkpoints, which catches what a writer who recomputes the hashes can hide: rewritten and
    re-chained entries, deleted newest entries, and prune markers the service never wrote."""
    prev = GENESIS
    count = 0
    anchor = prune_anchor(conn)
    # Checkpoints an auditor kept (`saved`) count like the database's own: deleting both shows.
    marks: list[dict[str, Any]] = []
    if trust is not None:
        marks = sorted([*checkpoints.all_checkpoints(conn), *saved], key=lambda m: int(m["seq"]))
    wanted = {c["seq"] for c in marks}
    seen: dict[int, str] = {}
    markers: list[int] = []
    first_seq = last_seq = None
    for row in _rows(conn):
        count += 1
        if count == 1:
            first_seq = row.seq
            if anchor is not None and row.seq == anchor[0] + 1:
                prev = anchor[1]  # entries before it were removed after their retention period, on record
        if row.prev_hash != prev:
            return ChainReport(count, False, row.seq, "previous-hash link broken (an entry was removed or reordered)",
                               "link_broken")
        recomputed = hashlib.sha256(
            _canonical(_aware(row.at), row.actor, row.action, row.subject, row.data, prev)).hexdigest()
        if recomputed != row.hash:
            return ChainReport(count, False, row.seq, "entry content does not match its hash (edited)", "edited")
        if row.seq in wanted:
            seen[row.seq] = row.hash
        if row.action == "audit.pruned":
            markers.append(row.seq)
        prev = row.hash
        last_seq = row.seq
    report = ChainReport(count, True)
    if trust is None:
        return report
    return _against_checkpoints(conn, report, marks, trust, seen, markers, first_seq, last_seq)


def _against_checkpoints(conn: Connection, report: ChainReport, marks: list[dict[str, Any]],
                         trust: Sequence[x509.Certificate], seen: dict[int, str], markers: list[int],
                         first_seq: int | None, last_seq: int | None) -> ChainReport:
    def fail(problem: str, seq: int | None, reason: str) -> ChainReport:
        return ChainReport(report.entries, False, seq, reason, problem, report.checkpoint_seq, report.unanchored)

    good = []
    for mark in marks:
        if not checkpoints.genuine(mark, trust):
            return fail("forged_checkpoint", mark["seq"],
                        f"checkpoint at seq {mark['seq']} is not signed by the service's key")
        good.append(mark)
    if not good:
        report.unanchored = report.entries
        return report
    latest = good[-1]
    report.checkpoint_seq = latest["seq"]
    if last_seq is None or last_seq < latest["seq"]:
        return fail("truncated", last_seq, f"the log ends at seq {last_seq} but a checkpoint signed at "
                    f"{latest['at']} covers up to seq {latest['seq']}: the newest entries were deleted")
    for mark in good:
        if first_seq is not None and mark["seq"] >= first_seq and seen.get(mark["seq"]) != mark["head_hash"]:
            return fail("rechained", mark["seq"], f"the entries up to seq {mark['seq']} differ from what the "
                        f"checkpoint signed at {mark['at']} covers: they were rewritten and re-chained")
    pruned_at = {m["seq"] for m in good if m["reason"] == "prune"}
    for seq in markers:
        if seq not in pruned_at:
            return fail("forged_prune_marker", seq, f"the prune marker at seq {seq} has no signed prune checkpoint: "
                        "the service did not write it")
    kept = int(conn.execute(select(func.count()).select_from(audit_log)
                            .where(audit_log.c.seq <= latest["seq"])).scalar() or 0)
    if kept != latest["entry_count"]:
        return fail("entries_removed", latest["seq"], f"{latest['entry_count']} entries up to seq {latest['seq']} were "
                    f"signed, {kept} are left")
    report.unanchored = int(conn.execute(
        select(func.count()).select_from(audit_log).where(audit_log.c.seq > latest["seq"])).scalar() or 0)
    return report


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(audit_log)).scalar() or 0)
