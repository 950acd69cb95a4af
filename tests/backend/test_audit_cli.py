"""Records (Art. 17): `avlabel audit verify | export | prune` on a real PostgreSQL log written by a
running server, the database refusing early deletion, and the auditors' API."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import secrets
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.backend.casework import act, auth, report, sign_png
from tests.conftest import PG_ADMIN_URL, Server, make_server


@pytest.fixture(scope="module")
def records_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Its own PostgreSQL database, because these tests tamper with the log on purpose."""
    name = "avlabel_records_" + secrets.token_hex(4)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    srv = make_server(tmp_path_factory.mktemp("records"), True, PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
    srv.start()
    yield srv
    srv.stop()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def busy_log(srv: Server, tmp_path: Path, seed: int) -> dict[str, str]:
    """Real activity: a signing, two reports, a refutation, an account action."""
    cid = sign_png(srv, tmp_path, seed)
    with srv.client() as http:
        first = report(http, content_id=cid, category="rumour").json()
        report(http, content_id=cid, category="rumour", description="second report, same case")
        refutation = {"en": "Fabricated", "zh": "系伪造", "url": "https://example.org/fact"}
        assert act(http, srv, first["case_id"], "refute", refutation=refutation).status_code == 201
        assert act(http, srv, first["case_id"], "warn", reasons="warning for the rumour").status_code == 201
    return {"content_id": cid, "report_id": first["id"], "case_id": first["case_id"]}


def test_verify_passes_then_names_the_edited_entry(records_server: Server, tmp_path: Path) -> None:
    srv = records_server
    busy_log(srv, tmp_path, 90)
    ok = srv.cli("audit", "verify")
    entries = int(ok.stdout.split()[1])
    assert ok.stdout.startswith("ok ") and entries >= 10
    url = srv.env["DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        seq = conn.execute("SELECT seq FROM audit_log WHERE action = 'case.refute'").fetchone()[0]
        # The database itself refuses edits and early deletion…
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = %s", (seq,))
        with pytest.raises(psycopg.errors.RaiseException, match="kept for 180 days"):
            conn.execute("DELETE FROM audit_log WHERE seq = %s", (seq,))
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE reports SET description = 'changed'")
        # …so an attacker with superuser rights switches the triggers off; the chain still tells.
        conn.execute("SET session_replication_role = replica")
        conn.execute("""UPDATE audit_log SET data = jsonb_set(data::jsonb, '{reasons}', '"nothing to see"')::json
                        WHERE seq = %s""", (seq,))
    broken = srv.cli("audit", "verify", check=False)
    assert broken.returncode == 1
    assert f"seq {seq}" in broken.stderr and "edited" in broken.stderr
    with srv.client() as http:
        api = http.get("/v1/audit/verify", headers=auth(srv, "auditor")).json()
        assert api["ok"] is False and api["first_broken_seq"] == seq

    # Retention: prune removes only entries older than 180 days. Backdate everything up to the edited
    # entry (again bypassing the triggers), prune, and the rest of the chain verifies from its anchor.
    assert "removed 0 entries" in srv.cli("audit", "prune").stdout
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE audit_log SET at = at - interval '200 days' WHERE seq <= %s", (seq,))
        old = conn.execute("SELECT count(*) FROM audit_log WHERE seq <= %s", (seq,)).fetchone()[0]
    assert f"removed {old} entries" in srv.cli("audit", "prune").stdout
    after = srv.cli("audit", "verify")
    assert after.stdout.startswith("ok ")
    with psycopg.connect(url, autocommit=True) as conn:
        first = conn.execute("SELECT min(seq) FROM audit_log").fetchone()[0]
        assert first == seq + 1
        # Removing the oldest remaining entry without the prune record breaks the chain at once.
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM audit_log WHERE seq = %s", (first,))
    assert srv.cli("audit", "verify", check=False).returncode == 1


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_export_covers_exactly_the_range_with_a_manifest(records_server: Server, tmp_path: Path) -> None:
    srv = records_server
    before = busy_log(srv, tmp_path, 91)
    time.sleep(1.1)
    start = dt.datetime.now(dt.UTC)
    inside = busy_log(srv, tmp_path, 92)
    end = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    after = busy_log(srv, tmp_path, 93)
    out = tmp_path / "bundle"
    srv.cli("audit", "export", "--from", start.isoformat(), "--to", end.isoformat(), "-o", str(out))
    names = {p.name for p in out.iterdir()}
    for dataset in ("reports", "decisions", "refutations", "account_actions", "signings", "audit_log"):
        assert {f"{dataset}.jsonl", f"{dataset}.csv"} <= names
    reports = read_jsonl(out / "reports.jsonl")
    assert {r["content_id"] for r in reports} == {inside["content_id"]} and len(reports) == 2
    assert all(r["details"]["good_faith"] is True for r in reports)  # type: ignore[index]
    with (out / "reports.csv").open(newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 2
    assert [s["content_id"] for s in read_jsonl(out / "signings.jsonl")] == [inside["content_id"]]
    refutations = read_jsonl(out / "refutations.jsonl")
    assert [r["case_id"] for r in refutations] == [inside["case_id"]]
    assert refutations[0]["refutation"]["url"] == "https://example.org/fact"  # type: ignore[index]
    assert [a["action"] for a in read_jsonl(out / "account_actions.jsonl")] == ["account.warn"]
    stamps = [dt.datetime.fromisoformat(str(e["at"])) for e in read_jsonl(out / "audit_log.jsonl")]
    assert stamps and all(start <= t < end for t in stamps)
    subjects = {e["subject"] for e in read_jsonl(out / "audit_log.jsonl")}
    assert before["report_id"] not in subjects and after["report_id"] not in subjects
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == names - {"manifest.json", "SHA256SUMS", "SHA256SUMS.sig"}
    for name, info in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == info["sha256"]
    assert "manifest.json" in (out / "SHA256SUMS").read_text()
    assert srv.cli("audit", "export", "--from", "2026-13-01", "--to", "2026-12-01", "-o", str(tmp_path / "x"),
                   check=False).returncode != 0
    # The auditors' API gives the same bundle; a moderator or publisher may not have it.
    day = start.date().isoformat()
    with srv.client() as http:
        resp = http.get("/v1/audit/export", params={"from": day, "to": day}, headers=auth(srv, "auditor"))
        assert resp.status_code == 200
        with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
            assert "manifest.json" in zf.namelist()
            day_reports = [json.loads(x) for x in zf.read("reports.jsonl").decode().splitlines()]
        assert {before["report_id"], inside["report_id"], after["report_id"]} <= {r["id"] for r in day_reports}
        for role in ("moderator", "publisher"):
            assert http.get("/v1/audit/export", params={"from": day, "to": day},
                            headers=auth(srv, role)).status_code == 403
        assert http.get("/v1/audit/export", params={"from": day, "to": day}).status_code == 401
        assert http.get("/v1/audit/export", params={"from": "soon", "to": day},
                        headers=auth(srv, "auditor")).status_code == 400


def test_embedded_database_guards_records_too(embedded_server: Server) -> None:
    import sqlite3

    with embedded_server.client() as http:
        assert report(http, sha256="c" * 64, category="other").status_code == 201
    assert embedded_server.cli("audit", "verify").stdout.startswith("ok ")
    db = sqlite3.connect(embedded_server.data_dir / "avlabel.sqlite3")
    try:
        for statement in ("DELETE FROM audit_log", "UPDATE audit_log SET actor = 'mallory'",
                          "DELETE FROM reports", "UPDATE reports SET description = 'x'"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only|kept for 180 days"):
                db.execute(statement)
    finally:
        db.close()
