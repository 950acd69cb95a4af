"""Upgrading a deployment: a database made by avlabel 0.1.0 (before migrations), with data in every table,
is refused by every command until `avlabel db upgrade`, then served by the real server with every row intact,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from backend import audit
from backend.settings import Settings
from backend.store.db import Database
from tests.backend.casework import sign_png
from tests.conftest import REDIS_URL, ROOT, Server, base_env, fresh_pg_database
from tests.store import previous_release as v0

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
PUBLISHER_URL = "https://news.example/2026/12/clip.mp4"
JOB_ID = "j_" + "0" * 19 + "1"


def stamp(minutes: int) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A data directory (and for PostgreSQL a database) as avlabel 0.1.0 left it: no server running yet."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if request.param == "sqlite":
        yield Server(data_dir, base_env(data_dir))
        return
    with fresh_pg_database("avlabel_upgrade_") as url:
        env = base_env(data_dir, DATABASE_URL=url, REDIS_URL=REDIS_URL,
                       AVLABEL_REDIS_PREFIX=f"avltest:{secrets.token_hex(4)}:")
        yield Server(data_dir, env)


def database(srv: Server) -> Database:
    return Database(Settings(data_dir=srv.data_dir, database_url=srv.env.get("DATABASE_URL", "")).sqlalchemy_url)


def seed(db: Database) -> dict[str, str]:
    """Rows in every table, written with 0.1.0's tables; returns the API keys and secrets they stand for."""
    t = v0.metadata.tables
    keys = {role: secrets.token_urlsafe(32) for role in ("publisher", "admin", "moderator", "auditor")}
    ids = {role: f"acc_{role}" for role in keys}
    with db.engine.begin() as conn:
        for role, account_id in ids.items():
            conn.execute(t["accounts"].insert().values(
                id=account_id, name=f"{role} 旧版 <b>", role=role, status="active",
                identity_verified=role == "publisher", identity_kind="org_code" if role == "publisher" else None,
                identity_digest="d" * 64 if role == "publisher" else None, identity_hint="42",
                complaint_contact="complaints@news.example" if role == "publisher" else None,
                webhook_url="https://hooks.example/avlabel" if role == "publisher" else None,
                webhook_secret="whsec_old" if role == "publisher" else None, created_at=stamp(600)))
            conn.execute(t["api_keys"].insert().values(
                id=f"key_{role}", account_id=account_id, key_digest=hashlib.sha256(keys[role].encode()).hexdigest(),
                prefix=keys[role][:8], created_at=stamp(600)))
        for cid, state, minutes in (("c_old_signed", None, 500), ("c_old_blocked", "blocked", 400)):
            conn.execute(t["contents"].insert().values(
                content_id=cid, sha256=hashlib.sha256(cid.encode()).hexdigest(), input_sha256="e" * 64,
                publisher_id=ids["publisher"], publisher_name="publisher 旧版 <b>", generator="old-gen 0.9",
                source_type="trainedAlgorithmicMedia", manifest_label="urn:c2pa:old", mime="image/png",
                title=f"title of {cid}", issuer="avlabel DEVELOPMENT", key_id="k" * 16, signature="valid",
                synthetic=True, label_state=state,
                label_note={"reason": "blocked on case_old"} if state else None,
                stored_path=None, created_at=stamp(minutes), updated_at=stamp(minutes)))
        conn.execute(t["content_urls"].insert().values(content_id="c_old_signed", url=PUBLISHER_URL,
                                                       created_at=stamp(500)))
        prev = audit.GENESIS
        for i in range(5):
            row = SimpleNamespace(at=stamp(300 - i), actor="cli", action="account.created", subject=f"acc_{i}",
                                  data={"n": i, "note": "标识 <script>"})
            digest = audit.entry_hash(row, prev)
            conn.execute(t["audit_log"].insert().values(**vars(row), prev_hash=prev, hash=digest))
            prev = digest
        conn.execute(t["cases"].insert().values(
            id="case_old", target_key="content:c_old_blocked", category="rumour", severity=2, status="decided",
            content_id="c_old_blocked", sha256=None, media_url=None, publisher_id=ids["publisher"], report_count=1,
            outcome="block", outcome_reasons="blocked per rules 4.2", created_at=stamp(200),
            acknowledged_at=stamp(190), decided_at=stamp(180), updated_at=stamp(180)))
        report_secret = secrets.token_urlsafe(24)
        conn.execute(t["reports"].insert().values(
            id="rep_old", case_id="case_old", secret_digest=hashlib.sha256(report_secret.encode()).hexdigest(),
            category="rumour", description="an old report 旧举报", content_id="c_old_blocked", media_url=None,
            sha256=None, playback_time=1.5, contact=None, client_digest="f" * 64, created_at=stamp(200)))
        conn.execute(t["case_actions"].insert().values(
            case_id="case_old", action="block", actor=ids["moderator"], reasons="blocked per rules 4.2",
            content_id="c_old_blocked", account_id=None, details={"note": "old"}, created_at=stamp(180)))
        sha = "a" * 64
        conn.execute(t["verify_results"].insert().values(
            sha256=sha, result={"verdict": "unsigned", "sha256": sha, "analysis_version": "old"},
            created_at=stamp(100), elapsed_ms=12.5))
        conn.execute(t["jobs"].insert().values(
            id=JOB_ID, sha256=sha, mime="image/png", size=1234, media_path=None, status="done", progress=1.0,
            stage="done", attempts=1, worker="w1", lease_until=None, queue_ref="1-0", error_code=None,
            error_message=None, created_at=stamp(100), started_at=stamp(100), finished_at=stamp(99),
            updated_at=stamp(99)))
        conn.execute(t["webhook_deliveries"].insert().values(
            account_id=ids["publisher"], event="case.block", url="https://hooks.example/avlabel", status_code=200,
            error=None, attempt=1, created_at=stamp(170)))
        conn.execute(t["webhook_outbox"].insert().values(
            account_id=ids["publisher"], event="case.block", payload={"case_id": "case_old"}, status="delivered",
            attempts=1, next_attempt_at=stamp(170), created_at=stamp(180), updated_at=stamp(170)))
        conn.execute(t["watermark_keys"].insert().values(key=123456789, content_id="c_old_signed",
                                                         alg="avlabel-ss-v1", created_at=stamp(500)))
        conn.execute(t["fingerprint_log"].insert().values(
            op="add", list_name="prohibited", ref="case_old", kind="pdq", hash="0f" * 32, note={"why": "old"},
            actor=ids["moderator"], created_at=stamp(180)))
    return {**keys, "report_secret": report_secret}


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every 0.1.0 table, in 0.1.0's columns, in key order."""
    out = {}
    with db.engine.connect() as conn:
        for table in v0.metadata.sorted_tables:
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
    return out


def serve_once(srv: Server) -> subprocess.CompletedProcess[str]:
    """`avlabel serve` expected to refuse: it must exit on its own, with its reason."""
    cmd = [sys.executable, "-m", "backend.cli", "--data-dir", str(srv.data_dir), "serve", "--port", "9"]
    return subprocess.run(cmd, env=srv.env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_previous_release_database_is_refused_then_upgraded_without_loss(old_deployment: Server,
                                                                          tmp_path: Path) -> None:
    srv = old_deployment
    db = database(srv)
    v0.create(db)
    keys = seed(db)
    before = snapshot(db)
    assert all(before.values()), {name: len(rows) for name, rows in before.items()}

    # Refused, naming the command, by the server and by the CLI; nothing changed.
    refused = serve_once(srv)
    assert refused.returncode != 0
    assert "avlabel db upgrade" in refused.stderr and "no schema revision" in refused.stderr
    cli = srv.cli("accounts", "create", "--role", "publisher", "--name", "x", check=False)
    assert cli.returncode != 0 and "avlabel db upgrade" in cli.stderr
    current = srv.cli("db", "current", check=False)
    assert current.returncode == 1 and current.stdout.startswith("none")
    assert snapshot(db) == before

    upgraded = srv.cli("db", "upgrade")
    assert "upgraded from none to" in upgraded.stdout
    assert srv.cli("db", "current").stdout.strip().endswith("(head)")
    assert "already at revision" in srv.cli("db", "upgrade").stdout
    assert snapshot(db) == before

    srv.keys.update({role: keys[role] for role in ("publisher", "admin", "moderator", "auditor")})
    srv.start()
    try:
        with srv.client() as http:
            def get(path: str, role: str | None = None, **headers: str) -> Any:
                if role:
                    headers["Authorization"] = f"Bearer {keys[role]}"
                resp = http.get(path, headers=headers)
                assert resp.status_code == 200, (path, resp.text)
                return resp.json()

            for role in ("publisher", "admin", "moderator", "auditor"):
                assert get("/v1/accounts/me", role)["name"] == f"{role} 旧版 <b>"
            listed = {a["id"] for a in get("/v1/accounts", "admin")["accounts"]}
            assert {"acc_publisher", "acc_admin", "acc_moderator", "acc_auditor"} <= listed
            entry = get("/v1/contents/c_old_signed", "publisher")
            assert entry["generator"] == "old-gen 0.9" and entry["hosting_urls"] == [PUBLISHER_URL]
            assert entry["sha256"] == hashlib.sha256(b"c_old_signed").hexdigest()
            assert get(f"/v1/labels?src={PUBLISHER_URL}")["content_id"] == "c_old_signed"
            assert get("/v1/labels/c_old_blocked")["state"] == "blocked"
            case = get("/v1/cases/case_old", "moderator")
            assert [r["description"] for r in case["reports"]] == ["an old report 旧举报"]
            assert [a["action"] for a in case["actions"]] == ["block"]
            mine = get("/v1/reports/rep_old", Authorization=f"Bearer {keys['report_secret']}")
            assert mine["outcome"]["action"] == "block"
            job = get(f"/v1/jobs/{JOB_ID}")
            assert job["status"] == "done" and job["result"]["verdict"] == "unsigned"
            chain = get("/v1/audit/verify", "auditor")
            assert chain["ok"] is True and chain["entries"] == 5
            old_entries = get("/v1/audit/entries?limit=100", "auditor")["entries"]
            assert [e["hash"] for e in old_entries] == [r[-1] for r in before["audit_log"]]

        # The upgraded deployment keeps working: a new signing chains onto the old log.
        new_id = sign_png(srv, tmp_path, 7)
        with srv.client() as http:
            auditor = {"Authorization": f"Bearer {keys['auditor']}"}
            chain = http.get("/v1/audit/verify", headers=auditor).json()
            assert chain["ok"] is True and chain["entries"] > 5
            assert http.get(f"/v1/contents/{new_id}", headers={"Authorization": f"Bearer {keys['publisher']}"}
                            ).status_code == 200
    finally:
        srv.stop()
    after = snapshot(db)
    for name, rows in before.items():
        assert all(row in after[name] for row in rows), name
    db.close()
