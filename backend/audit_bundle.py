"""The export bundle's anchor, and its offline check with nothing but the service's public certificate.

`anchor` adds to a regulator bundle: every signed checkpoint (audit_checkpoints.jsonl), the audit
entries after the exported range up to the first checkpoint at or after its end
(audit_log_to_checkpoint.jsonl), the signing certificate chain (signing_certificate.pem); `sign_sums`
signs SHA256SUMS (SHA256SUMS.sig, base64). `verify_bundle` re-derives every entry hash from the
entries' content, follows the links to a checkpoint, and checks the checkpoint and SHA256SUMS
signatures against the given certificate(s): a rewritten, re-chained, removed or invented entry, a
forged prune marker or an edited file shows.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy import Connection, select

from backend import audit, checkpoints
from backend.signing.keys import SigningIdentity
from backend.store.schema import audit_log

CHECKPOINTS_FILE = "audit_checkpoints.jsonl"
PATH_FILE = "audit_log_to_checkpoint.jsonl"
CERT_FILE = "signing_certificate.pem"
SUMS_SIG = "SHA256SUMS.sig"
_COLS = ["seq", "at", "actor", "action", "subject", "data", "prev_hash", "hash"]


def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    return value


def _jsonl(path: Path, items: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")


def anchor(conn: Connection, out: Path, entries: list[dict[str, Any]], identity: SigningIdentity) -> dict[str, Any]:
    marks = checkpoints.all_checkpoints(conn)
    _jsonl(out / CHECKPOINTS_FILE, marks)
    last = max((int(e["seq"]) for e in entries), default=None)
    covering = next((m for m in marks if last is not None and m["seq"] >= last), None)
    path: list[dict[str, Any]] = []
    if last is not None and covering is not None:
        rows = conn.execute(select(audit_log).where(audit_log.c.seq > last, audit_log.c.seq <= covering["seq"])
                            .order_by(audit_log.c.seq)).mappings()
        path = [{c: _iso(r[c]) for c in _COLS} for r in rows]
    _jsonl(out / PATH_FILE, path)
    (out / CERT_FILE).write_bytes(identity.chain_pem)
    return {"checkpoints": len(marks), "covering_checkpoint_seq": covering["seq"] if covering else None,
            "entries_to_checkpoint": len(path), "certificate": CERT_FILE, "sums_signature": SUMS_SIG}


def sign_sums(out: Path, identity: SigningIdentity) -> None:
    sig = identity.sign((out / "SHA256SUMS").read_bytes())
    (out / SUMS_SIG).write_text(base64.b64encode(sig).decode() + "\n", encoding="ascii")


@dataclass
class BundleReport:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    entries: int = 0
    checkpoints: int = 0
    covering_checkpoint_seq: int | None = None

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)


def _files(bundle: Path) -> dict[str, bytes]:
    if bundle.is_dir():
        return {p.name: p.read_bytes() for p in bundle.iterdir() if p.is_file()}
    with zipfile.ZipFile(io.BytesIO(bundle.read_bytes())) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist() if "/" not in i.filename and not i.is_dir()}


def _lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def verify_bundle(bundle: Path, trust: Sequence[x509.Certificate]) -> BundleReport:
    report = BundleReport()
    files = _files(bundle)
    sums = files.get("SHA256SUMS")
    if sums is None or SUMS_SIG not in files or CERT_FILE not in files:
        report.fail("the bundle has no SHA256SUMS, SHA256SUMS.sig or signing certificate: it is not anchored")
        return report
    signer = checkpoints.trusted_cert(files[CERT_FILE].decode("ascii", "replace"), trust)
    if signer is None:
        report.fail("the bundle's signing certificate is not the given certificate nor issued by it")
    elif not checkpoints.signature_ok(signer, sums, files[SUMS_SIG].decode("ascii", "replace").strip()):
        report.fail("SHA256SUMS is not signed by the service's key (the file list was altered)")
    for line in sums.decode("utf-8", "replace").splitlines():
        digest, _, name = line.partition("  ")
        if name not in files or hashlib.sha256(files[name]).hexdigest() != digest:
            report.fail(f"{name} does not match its SHA-256 in SHA256SUMS")
    marks = _lines(files.get(CHECKPOINTS_FILE, b""))
    report.checkpoints = len(marks)
    good = []
    for mark in marks:
        if checkpoints.genuine(mark, trust):
            good.append(mark)
        else:
            report.fail(f"checkpoint at seq {mark.get('seq')} is not signed by the service's key")
    entries = sorted(_lines(files.get("audit_log.jsonl", b"")) + _lines(files.get(PATH_FILE, b"")),
                     key=lambda e: int(e["seq"]))
    report.entries = len(entries)
    if entries:
        _check_entries(entries, good, report)
    return report


def _check_entries(entries: list[dict[str, Any]], good: list[dict[str, Any]], report: BundleReport) -> None:
    by_seq: dict[int, str] = {}
    prev = None
    for entry in entries:
        seq = int(entry["seq"])
        if prev is not None and (seq != prev[0] + 1 or entry["prev_hash"] != prev[1]):
            report.fail(f"entry seq {seq} does not follow seq {prev[0]} (an entry was removed or inserted)")
            return
        at = dt.datetime.fromisoformat(str(entry["at"]))
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        recomputed = hashlib.sha256(audit._canonical(at, entry["actor"], entry["action"], entry["subject"],
                                                     entry["data"], entry["prev_hash"])).hexdigest()
        if recomputed != entry["hash"]:
            report.fail(f"entry seq {seq} does not match its hash (edited)")
            return
        by_seq[seq] = entry["hash"]
        prev = (seq, entry["hash"])
    first, last = int(entries[0]["seq"]), int(entries[-1]["seq"])
    for mark in good:
        if first <= mark["seq"] <= last and by_seq.get(mark["seq"]) != mark["head_hash"]:
            report.fail(f"entries up to seq {mark['seq']} differ from the signed checkpoint (rewritten and re-chained)")
            return
    covering = next((m for m in good if m["seq"] == last and m["head_hash"] == by_seq[last]), None)
    if covering is None:
        report.fail(f"no signed checkpoint covers the last entry (seq {last}): entries may be missing or invented")
        return
    report.covering_checkpoint_seq = covering["seq"]
    pruned_at = {m["seq"] for m in good if m["reason"] == "prune"}
    for entry in entries:
        if entry["action"] == "audit.pruned" and int(entry["seq"]) not in pruned_at:
            report.fail(f"the prune marker at seq {entry['seq']} has no signed prune checkpoint (forged)")
