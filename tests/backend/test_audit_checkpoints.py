"""Signed checkpoints make the audit log one a database writer cannot rewrite unseen (issue 13, item 4):
a re-chained log, deleted newest entries and a forged prune marker all pass the bare hash chain but not
`avlabel audit verify`; an export bundle verifies offline with only the public certificate."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import io
import json
import shutil
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select, update

from backend import audit
from backend.signing.keys import make_ca
from backend.store.db import Database
from backend.store.schema import audit_log
from tests.backend.casework import auth
from tests.conftest import Server, make_server


@pytest.fixture(scope="module")
def anchored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("anchored"), False, AVLABEL_AUDIT_CHECKPOINT_EVERY="5")
    srv.start()
    with srv.client() as http:
        for n in range(12):  # real activity: accounts made by the admin, each an audit entry
            assert http.post("/v1/accounts", headers=auth(srv, "admin"),
                             json={"name": f"Studio {n}", "role": "publisher"}).status_code == 201
    yield srv
    srv.stop()


def copy_of(srv: Server, tmp_path: Path, name: str) -> Server:
    """The stopped server's data, copied, so each tampering starts from the same genuine log."""
    target = tmp_path / name
    shutil.copytree(srv.data_dir, target)
    return Server(target, {**srv.env, "AVLABEL_DATA_DIR": str(target)})


@contextlib.contextmanager
def writer(srv: Server) -> Iterator[Database]:
    """A database writer with no signing key who switches the append-only triggers off first."""
    path = srv.data_dir / "avlabel.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as lite:
        for (name,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            lite.execute(f"DROP TRIGGER {name}")
        lite.commit()
    db = Database(f"sqlite:///{path}")
    try:
        yield db
    finally:
        db.close()
    srv.cli("db", "upgrade")  # and puts the triggers back, covering the tracks


def rechain(db: Database, from_seq: int) -> None:
    """Recompute every hash from `from_seq` on, as a writer who edited that entry would."""
    with db.tx() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()
        prev = next(r.hash for r in reversed(rows) if r.seq < from_seq)
        for row in (r for r in rows if r.seq >= from_seq):
            digest = audit.entry_hash(SimpleNamespace(**{**row._mapping, "at": row.at.replace(tzinfo=dt.UTC)}), prev)
            conn.execute(update(audit_log).where(audit_log.c.seq == row.seq).values(prev_hash=prev, hash=digest))
            prev = digest


def plain_chain_ok(db: Database) -> bool:
    with db.read() as conn:
        return audit.verify_chain(conn).ok  # the hash chain alone, as before checkpoints


def test_checkpoints_are_published_and_verify_with_the_certificate(anchored: Server, tmp_path: Path) -> None:
    srv = anchored
    with srv.client() as http:
        assert http.get("/v1/audit/checkpoints", headers=auth(srv, "moderator")).status_code == 403
        body = http.get("/v1/audit/checkpoints", headers=auth(srv, "auditor")).json()
        status = http.get("/v1/audit/verify", headers=auth(srv, "auditor")).json()
    marks = body["checkpoints"]
    assert len(marks) >= 3 and all(m["reason"] == "interval" for m in marks)
    leaf = x509.load_pem_x509_certificates(body["certificate_pem"].encode())[0]
    for mark in marks:  # an auditor's own check: ECDSA P-256 over the exact signed bytes
        public = leaf.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(base64.b64decode(mark["signature"]), mark["payload"].encode(), ec.ECDSA(hashes.SHA256()))
        assert json.loads(mark["payload"])["head_hash"] == mark["head_hash"]
    assert status["ok"] and status["checkpoint_seq"] == marks[0]["seq"] and status["unanchored_entries"] < 5


def test_export_bundle_verifies_offline_with_only_the_certificate(anchored: Server, tmp_path: Path) -> None:
    srv = anchored
    with srv.client() as http:
        resp = http.get("/v1/audit/export", params={"from": "2000-01-01", "to": "2099-12-31"},
                        headers=auth(srv, "auditor"))
        chain_pem = http.get("/v1/audit/checkpoints", headers=auth(srv, "auditor")).json()["certificate_pem"]
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(resp.content)
    leaf = tmp_path / "signer.pem"
    leaf.write_text(chain_pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
    ok = json.loads(srv.cli("audit", "verify-export", str(bundle), "--cert", str(leaf)).stdout)
    assert ok["ok"] and ok["entries"] >= 12 and ok["covering_checkpoint_seq"] is not None
    # The CA certificate alone works too (checkpoints made before a signer rotation stay checkable).
    ca = srv.data_dir / "keys" / "dev-ca.cert.pem"
    assert srv.cli("audit", "verify-export", str(bundle), "--cert", str(ca)).returncode == 0

    # Someone edits an exported entry, re-chains the file and rewrites SHA256SUMS: without the key it shows.
    with zipfile.ZipFile(bundle) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    entries = [json.loads(line) for line in files["audit_log.jsonl"].decode().splitlines()]
    entries[3]["data"] = {"name": "someone else"}
    prev = entries[3]["prev_hash"]
    for entry in entries[3:]:
        at = dt.datetime.fromisoformat(entry["at"])
        entry["prev_hash"] = prev
        entry["hash"] = prev = hashlib.sha256(audit._canonical(at, entry["actor"], entry["action"],
                                                              entry["subject"], entry["data"], prev)).hexdigest()
    files["audit_log.jsonl"] = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n"
                                       for e in entries).encode()
    files["SHA256SUMS"] = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(
        files.items()) if name not in ("SHA256SUMS", "SHA256SUMS.sig")).encode()
    forged = io.BytesIO()
    with zipfile.ZipFile(forged, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    (tmp_path / "forged.zip").write_bytes(forged.getvalue())
    result = srv.cli("audit", "verify-export", str(tmp_path / "forged.zip"), "--cert", str(leaf), check=False)
    problems = json.loads(result.stdout)["problems"]
    assert result.returncode == 1
    assert any("SHA256SUMS is not signed" in p for p in problems)
    assert any("re-chained" in p or "no signed checkpoint covers" in p for p in problems)
    # A stranger's certificate does not vouch for the genuine bundle.
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(make_ca("someone", "elsewhere")[1].public_bytes(Encoding.PEM))
    assert srv.cli("audit", "verify-export", str(bundle), "--cert", str(stranger), check=False).returncode == 1


def test_tampering_the_database_is_caught_against_the_checkpoints(anchored: Server, tmp_path: Path) -> None:
    anchored.stop()
    try:
        assert anchored.cli("audit", "verify").stdout.startswith("ok ")

        # Re-chaining: an entry rewritten and every later hash recomputed passes the bare chain.
        srv = copy_of(anchored, tmp_path, "rechained")
        with writer(srv) as db:
            with db.tx() as conn:
                conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(actor="mallory"))
            rechain(db, 3)
            assert plain_chain_ok(db)
        caught = srv.cli("audit", "verify", check=False)
        assert caught.returncode == 1 and caught.stderr.startswith("rechained"), caught.stderr

        # Truncation: the newest entries deleted, the rest a perfect chain.
        srv = copy_of(anchored, tmp_path, "truncated")
        with writer(srv) as db:
            with db.tx() as conn:
                last = conn.execute(select(audit_log.c.seq).order_by(audit_log.c.seq.desc())).scalar()
                conn.execute(audit_log.delete().where(audit_log.c.seq > last - 4))
            assert plain_chain_ok(db)
        caught = srv.cli("audit", "verify", check=False)
        assert caught.returncode == 1 and caught.stderr.startswith("truncated"), caught.stderr

        # A forged "pruned" marker: young entries removed as if their retention had passed.
        srv = copy_of(anchored, tmp_path, "pruned")
        with writer(srv) as db:
            with db.tx() as conn:
                cut = conn.execute(select(audit_log).where(audit_log.c.seq == 6)).first()
                assert cut is not None
                conn.execute(audit_log.delete().where(audit_log.c.seq <= 6))
                audit.append(conn, "system", "audit.pruned", None, {
                    "up_to_seq": 6, "last_hash": cut.hash, "count": 6, "cutoff": "2026-01-01T00:00:00+00:00",
                    "retention_days": 180})
            assert plain_chain_ok(db)
        caught = srv.cli("audit", "verify", check=False)
        assert caught.returncode == 1 and caught.stderr.startswith("forged_prune_marker"), caught.stderr

        # Deleting the checkpoints too does not help against one an auditor kept.
        srv = copy_of(anchored, tmp_path, "both")
        kept = tmp_path / "kept.json"
        with contextlib.closing(sqlite3.connect(srv.data_dir / "avlabel.sqlite3")) as lite:
            lite.row_factory = sqlite3.Row
            row = dict(lite.execute("SELECT * FROM audit_checkpoints ORDER BY seq DESC LIMIT 1").fetchone())
        kept.write_text(json.dumps({**row, "at": str(row["at"])}))
        with writer(srv) as db:
            with db.tx() as conn:
                last = conn.execute(select(audit_log.c.seq).order_by(audit_log.c.seq.desc())).scalar()
                conn.execute(audit_log.delete().where(audit_log.c.seq > last - 4))
                conn.exec_driver_sql("DELETE FROM audit_checkpoints WHERE seq > ?", (last - 4 - 5,))
        assert srv.cli("audit", "verify").returncode == 0  # the database alone now looks consistent…
        caught = srv.cli("audit", "verify", "--checkpoint", str(kept), check=False)
        assert caught.returncode == 1 and caught.stderr.startswith("truncated")  # …but not to the auditor
    finally:
        anchored.start()
