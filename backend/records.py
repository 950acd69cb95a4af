"""Records kept as the law requires (Art. 17; Cybersecurity Law Art. 21): retention enforced by the
database itself, pruning only beyond retention, and the regulator export bundle.

The guards are database triggers, so they hold for every client of the database, not only this
service: audit entries, reports and case actions cannot be updated or replaced, and cannot be deleted
while younger than the retention period. (A database superuser can still switch triggers off; the hash
chain is what makes such an edit evident.)
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, select, text

from backend import audit, audit_bundle, checkpoints, registry, transparency
from backend.signing.keys import SigningIdentity
from backend.store.db import utcnow
from backend.store.schema import audit_log, case_actions, reports

# table -> the column holding its row's time, and the unique columns a SQLite REPLACE could collide on.
# The migrations (backend/store/migrations) make these triggers; install_guards below makes the newest
# revision's set again, with the configured retention, when `avlabel db upgrade` finds them different.
GUARDED = {"audit_log": "at", "reports": "created_at", "case_actions": "created_at"}
REPLACE_KEYS = {"audit_log": ("seq", "hash"), "reports": ("id",), "case_actions": ("id",)}
_SQLITE_DAYS = re.compile(r"'-(\d+) days'")

# %% because the driver treats the text as a parameterised statement.
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION avlabel_keep_records() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE born timestamptz;
BEGIN
  IF TG_OP = 'UPDATE' OR TG_OP = 'TRUNCATE' THEN
    RAISE EXCEPTION 'avlabel: %% records are append-only (%% refused)', TG_TABLE_NAME, TG_OP;
  END IF;
  born := (to_jsonb(OLD) ->> TG_ARGV[0])::timestamptz;
  IF born > now() - make_interval(days => TG_ARGV[1]::int) THEN
    RAISE EXCEPTION 'avlabel: %% records are kept for %% days; this one is from %%',
      TG_TABLE_NAME, TG_ARGV[1], born;
  END IF;
  RETURN OLD;
END $$;
"""


def _trigger_names(dialect: str) -> list[str]:
    suffixes = ("_update", "_delete", "_insert") if dialect == "sqlite" else ("", "_truncate")
    return [f"avlabel_keep_{table}{suffix}" for table in GUARDED for suffix in suffixes]


def guard_retention(conn: Connection) -> int | None:
    """The retention period (days) the database's guards enforce; None if one is missing or they differ."""
    found: set[int | None] = set()
    if conn.dialect.name == "sqlite":
        triggers = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        sql: dict[str, str] = dict(triggers.all())
        if not set(_trigger_names("sqlite")) <= set(sql):
            return None
        for table in GUARDED:
            match = _SQLITE_DAYS.search(sql[f"avlabel_keep_{table}_delete"])
            found.add(int(match.group(1)) if match else None)
    else:
        names = _trigger_names("postgresql")
        found_args = conn.execute(text("SELECT tgname, tgargs FROM pg_trigger WHERE tgname = ANY(:names)"),
                                  {"names": names})
        rows: dict[str, bytes] = dict(found_args.all())
        for name in names:
            args = bytes(rows[name]).split(b"\0") if name in rows else []
            found.add(int(args[1]) if len(args) > 1 and args[1].isdigit() else None)
    return found.pop() if len(found) == 1 else None


def install_guards(conn: Connection, retention_days: int) -> None:
    """Makes the newest revision's guard triggers again with this retention (it may only grow)."""
    days = int(retention_days)
    if conn.dialect.name == "sqlite":
        for table, column in GUARDED.items():
            for suffix in ("_update", "_delete", "_insert"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS avlabel_keep_{table}{suffix}")
            conn.exec_driver_sql(
                f"CREATE TRIGGER avlabel_keep_{table}_update BEFORE UPDATE ON {table} BEGIN "
                f"SELECT RAISE(ABORT, 'avlabel: {table} records are append-only'); END")
            conn.exec_driver_sql(
                f"CREATE TRIGGER avlabel_keep_{table}_delete BEFORE DELETE ON {table} "
                f"WHEN julianday(OLD.{column}) > julianday('now', '-{days} days') BEGIN "
                f"SELECT RAISE(ABORT, 'avlabel: {table} records are kept for {days} days'); END")
            # A REPLACE deletes the old row without firing the delete trigger (recursive_triggers is off).
            clash = " OR ".join(f"{key} = NEW.{key}" for key in REPLACE_KEYS[table])
            conn.exec_driver_sql(
                f"CREATE TRIGGER avlabel_keep_{table}_insert BEFORE INSERT ON {table} "
                f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) BEGIN "
                f"SELECT RAISE(ABORT, 'avlabel: {table} records are append-only (replace refused)'); END")
        return
    # PostgreSQL: an upsert's DO UPDATE fires the UPDATE trigger, which refuses it.
    conn.exec_driver_sql(_PG_FUNCTION)
    for table, column in GUARDED.items():
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS avlabel_keep_{table} ON {table}")
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS avlabel_keep_{table}_truncate ON {table}")
        conn.exec_driver_sql(
            f"CREATE TRIGGER avlabel_keep_{table} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION avlabel_keep_records('{column}', '{days}')")
        conn.exec_driver_sql(
            f"CREATE TRIGGER avlabel_keep_{table}_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION avlabel_keep_records('{column}', '{days}')")


def prune(conn: Connection, retention_days: int, identity: SigningIdentity | None = None) -> int:
    """Removes audit entries older than the retention period (a prefix of the chain), and records the
    cut, with the last removed entry's hash, as a new chained entry, signed by a `prune` checkpoint
    (without one, `audit verify` reports the marker as forged)."""
    cutoff = utcnow() - dt.timedelta(days=retention_days)
    last = conn.execute(select(audit_log.c.seq, audit_log.c.hash).where(audit_log.c.at < cutoff)
                        .order_by(audit_log.c.seq.desc()).limit(1)).first()
    if last is None:
        return 0
    removed = conn.execute(audit_log.delete().where(audit_log.c.seq <= last.seq)).rowcount
    audit.append(conn, "system", "audit.pruned", None, {
        "up_to_seq": last.seq, "last_hash": last.hash, "count": removed, "cutoff": cutoff.isoformat(),
        "retention_days": retention_days})
    if identity is not None:
        checkpoints.write(conn, identity, "prune")
    return int(removed)


def plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    return value


def _write(out: Path, name: str, rows: Iterable[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
    """One data set as JSON Lines and CSV; nested values are JSON text in the CSV."""
    items = [{c: plain(r.get(c)) for c in columns} for r in rows]
    jsonl = out / f"{name}.jsonl"
    with jsonl.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
    with (out / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for item in items:
            writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                             for k, v in item.items()})
    return {"rows": len(items)}


def _between(query: Select[Any], column: Any, start: dt.datetime, end: dt.datetime) -> Select[Any]:
    return query.where(column >= start, column < end)


APPEAL_COLS = ["id", "kind", "decision_id", "original_case_id", "case_id", "original_actor", "original_action",
               "grounds", "status", "outcome", "new_action", "outcome_reasons", "decided_by", "decided_at",
               "created_at"]


def export(conn: Connection, start: dt.datetime, end: dt.datetime, out: Path,
           identity: SigningIdentity | None = None) -> dict[str, Any]:
    """Writes the regulator bundle for [start, end) into `out` and returns its manifest. With the
    signing identity the bundle also carries the signed checkpoints, the entries up to the one covering
    the range, the certificate and a signature over SHA256SUMS (audit_bundle.py), for offline checks."""
    out.mkdir(parents=True, exist_ok=True)
    report_cols = ["id", "case_id", "category", "description", "content_id", "media_url", "sha256",
                   "playback_time", "contact", "details", "created_at"]
    report_rows = conn.execute(_between(select(*(reports.c[c] for c in report_cols)), reports.c.created_at,
                                        start, end).order_by(reports.c.created_at)).mappings()
    action_cols = ["id", "case_id", "action", "actor", "reasons", "content_id", "account_id", "details",
                   "created_at"]
    actions = [dict(r) for r in conn.execute(_between(select(case_actions), case_actions.c.created_at, start, end)
                                             .order_by(case_actions.c.id)).mappings()]
    entries = [dict(r) for r in conn.execute(_between(select(audit_log), audit_log.c.at, start, end)
                                             .order_by(audit_log.c.seq)).mappings()]
    signing_cols = ["content_id", "sha256", "input_sha256", "publisher_id", "publisher_name", "generator",
                    "source_type", "manifest_label", "mime", "issuer", "key_id", "created_at"]
    signings = registry.signed_between(conn, start, end, signing_cols)
    refutations = [{**a, "refutation": (a["details"] or {}).get("refutation"),
                    "content_ids": (a["details"] or {}).get("content_ids")}
                   for a in actions if a["action"] == "refute"]
    account_actions = [e for e in entries if str(e["action"]).startswith(("account.", "api_key."))]
    audit_cols = ["seq", "at", "actor", "action", "subject", "data", "prev_hash", "hash"]
    files = {
        "reports": _write(out, "reports", (dict(r) for r in report_rows), report_cols),
        "decisions": _write(out, "decisions", actions, action_cols),
        "refutations": _write(out, "refutations", refutations, [*action_cols, "refutation", "content_ids"]),
        "account_actions": _write(out, "account_actions", account_actions, audit_cols),
        "signings": _write(out, "signings", signings, signing_cols),
        "audit_log": _write(out, "audit_log", entries, audit_cols),
        "appeals": _write(out, "appeals", transparency.appeal_records(conn, start, end), APPEAL_COLS),
    }
    # Beside the bundle's own sets: the DSA Transparency Database statements (no personal data).
    dsa = transparency.dsa_statements(conn, start, end)
    (out / "dsa_statements.json").write_text(json.dumps({"statements": dsa}, ensure_ascii=False, indent=1),
                                             encoding="utf-8")
    files["dsa_statements"] = {"rows": len(dsa)}
    chain = audit.verify_chain(conn, checkpoints.trust_of(identity) if identity else None)
    manifest: dict[str, Any] = {
        "generated_at": utcnow().isoformat(), "from": start.isoformat(), "to_exclusive": end.isoformat(),
        "audit_chain": {"ok": chain.ok, "entries": chain.entries, "first_broken_seq": chain.first_broken_seq,
                        "reason": chain.reason, "problem": chain.problem, "checkpoint_seq": chain.checkpoint_seq},
        "datasets": files, "files": {},
    }
    if identity is not None:
        manifest["audit_anchor"] = audit_bundle.anchor(conn, out, entries, identity)
    sums = []
    for path in sorted(out.iterdir()):
        if path.name in ("manifest.json", "SHA256SUMS"):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        manifest["files"][path.name] = {"sha256": digest, "bytes": path.stat().st_size}
        sums.append(f"{digest}  {path.name}\n")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    manifest_digest = hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()
    (out / "SHA256SUMS").write_text("".join(sums) + f"{manifest_digest}  manifest.json\n", encoding="utf-8")
    if identity is not None:
        audit_bundle.sign_sums(out, identity)
    return manifest


def parse_bound(value: str, end: bool) -> dt.datetime:
    """A date means the whole day (`--to 2026-11-30` includes that day); a date-time is exact."""
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return start + dt.timedelta(days=1) if end else start
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
