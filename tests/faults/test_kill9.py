"""The service killed with SIGKILL while signings (and reports) are in flight: everything it acknowledged
is there after a restart, and nothing is half-written (every registry row has its complete file, the audit
chain verifies)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend import audit
from backend.settings import Settings
from backend.store.db import Database
from backend.store.schema import audit_log, contents
from tests import media_factory
from tests.conftest import Server
from tests.faults.conftest import Hammer, server_on
from tests.faults.stores import PrivatePostgres


def _database(srv: Server) -> Database:
    settings = Settings(data_dir=srv.data_dir, database_url=srv.env.get("DATABASE_URL", ""))
    return Database(settings.sqlalchemy_url)


def _kill_during(srv: Server, hammer: Hammer, acked: Any, want: int, seconds: float = 30) -> None:
    """Kill -9 once `want` requests were acknowledged and more are in flight."""
    deadline = time.monotonic() + seconds
    with hammer:
        while len(acked()) < want and time.monotonic() < deadline:
            time.sleep(0.05)
        srv.kill()
    assert len(acked()) >= want, f"only {len(acked())} acknowledged before the kill"


def _check_store(srv: Server) -> tuple[set[str], list[str]]:
    """Every registry row has its file with the recorded SHA-256; the audit chain verifies and covers each row."""
    db = _database(srv)
    try:
        with db.read() as conn:
            rows = conn.execute(select(contents)).all()
            signed_subjects = set(conn.execute(
                select(audit_log.c.subject).where(audit_log.c.action == "content.signed")).scalars())
            chain = audit.verify_chain(conn)
    finally:
        db.close()
    assert chain.ok, chain
    registered = {r.content_id for r in rows}
    for row in rows:
        path = Path(row.stored_path)
        assert path.is_file(), f"registry row {row.content_id} has no file"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row.sha256, f"{row.content_id}: file is not whole"
    assert registered <= signed_subjects, "a registry row without its audit entry"
    media = srv.data_dir / "media"
    orphans = [p.name for p in media.iterdir() if p.stem not in registered] if media.exists() else []
    return registered, orphans


@pytest.mark.parametrize("store", ["embedded", "postgres"])
def test_acknowledged_signings_survive_kill_9(store: str, private_pg: PrivatePostgres, tmp_path: Path) -> None:
    db_url = private_pg.create_database() if store == "postgres" else ""
    # Sweep age 0: at restart every leftover of the killed process is stale.
    srv = server_on(tmp_path / "srv", db_url, AVLABEL_SWEEP_AGE_SECONDS="0")
    srv.start()
    key = srv.keys["publisher"]
    blobs = [media_factory.jpeg_bytes((480, 360), seed=s) for s in range(4)]

    def sign(http: httpx.Client, n: int) -> tuple[httpx.Response, str]:
        resp = http.post("/v1/sign", headers={"Authorization": f"Bearer {key}"},
                         files={"file": ("x.jpg", blobs[n % len(blobs)])}, data={"generator": "kill-gen 1.0"})
        return resp, "sign"

    hammer = Hammer(srv.url, sign, threads=3, timeout=30)

    def acked() -> list[tuple[str, str, bytes]]:
        return [(o.headers["x-content-id"], o.headers["x-content-sha256"], o.body)
                for o in list(hammer.outcomes) if o.status == 200]

    try:
        _kill_during(srv, hammer, acked, want=6)
        done = acked()
        # What the client received is what the service said it stored.
        for _cid, sha, body in done:
            assert hashlib.sha256(body).hexdigest() == sha
        failures = [o for o in hammer.outcomes if o.status not in (200, 0)]
        assert not failures, [(o.status, o.body[:200]) for o in failures]

        # Media moved into the store by a transaction the kill cut short, at most one per request in flight.
        _, left_behind = _check_store(srv)
        assert len(left_behind) <= 3, left_behind
        scratch = [p.name for p in (srv.data_dir / "tmp").glob("*")]
        srv.start()
        registered, orphans = _check_store(srv)
        swept = sorted(p.name for p in (srv.data_dir / "orphans").glob("*"))
        print(f"{store}: {len(done)} acknowledged, {len(registered)} registered, orphan files {left_behind}, "
              f"scratch left {scratch}")
        assert {cid for cid, _, _ in done} <= registered, "an acknowledged signing was lost"
        # The start-up sweep moved them aside (kept for the operator) and removed the dead requests' scratch.
        assert orphans == [], orphans
        assert swept == sorted(left_behind), swept
        tmp = srv.data_dir / "tmp"
        assert not tmp.exists() or not [p for p in tmp.iterdir() if p.is_dir()], list(tmp.iterdir())
        with srv.client() as http:
            for cid, sha, _body in done:
                label = http.get(f"/v1/labels/{cid}")
                assert label.status_code == 200 and label.json()["state"] == "signed_synthetic"
                stored = http.get(f"/media/{cid}.jpg")
                assert stored.status_code == 200 and hashlib.sha256(stored.content).hexdigest() == sha
            verdict = http.post("/v1/verify", files={"file": ("s.jpg", done[0][2])}).json()
            assert verdict["verdict"] == "signed_synthetic" and verdict["content_id"] == done[0][0]
            # The restarted service signs again and the chain keeps verifying.
            resp, _ = sign(http, 0)
            assert resp.status_code == 200, resp.text
        _check_store(srv)
    finally:
        srv.stop()


def _reports_api(srv: Server) -> bool:
    resp = httpx.post(srv.url + "/v1/reports", json={}, timeout=10)
    return resp.status_code not in (404, 405)


def test_acknowledged_reports_survive_kill_9(private_pg: PrivatePostgres, tmp_path: Path) -> None:
    srv = server_on(tmp_path / "srv", private_pg.create_database(), AVLABEL_REPORT_RATE_PER_HOUR="1000000")
    srv.start()
    try:
        if not _reports_api(srv):
            pytest.skip("POST /v1/reports is not on this build yet (reports/cases issue); runs once it is merged")
        with srv.client() as http:
            png = media_factory.png(tmp_path / "r.png", size=(320, 240), seed=50)
            signed = http.post("/v1/sign", headers={"Authorization": f"Bearer {srv.keys['publisher']}"},
                               files={"file": (png.name, png.read_bytes())}, data={"generator": "kill-gen 1.0"})
            assert signed.status_code == 200
            content_id = signed.headers["X-Content-Id"]

        def report(http: httpx.Client, n: int) -> tuple[httpx.Response, str]:
            body = {"category": "unlabelled_ai", "description": f"report {n} in flight", "content_id": content_id,
                    "media_url": f"https://cdn.example/{n}.png", "playback_time": 1.5,
                    "good_faith": True}
            return http.post("/v1/reports", json=body), f"report {n} in flight"

        hammer = Hammer(srv.url, report, threads=3, timeout=30)

        def acked() -> list[tuple[str, str, str]]:
            import json

            return [(j["id"], j["secret"], o.tag) for o in list(hammer.outcomes) if o.status == 201
                    for j in [json.loads(o.body)]]

        _kill_during(srv, hammer, acked, want=10)
        done = acked()
        failures = [o for o in hammer.outcomes if o.status not in (201, 0)]
        assert not failures, [(o.status, o.body[:200]) for o in failures]
        srv.start()
        with srv.client() as http:
            for report_id, secret, description in done:
                got = http.get(f"/v1/reports/{report_id}", headers={"Authorization": f"Bearer {secret}"})
                assert got.status_code == 200, (report_id, got.text)
                assert got.json().get("description") in (None, description)
        db = _database(srv)
        try:
            with db.read() as conn:
                chain = audit.verify_chain(conn)
        finally:
            db.close()
        assert chain.ok, chain
    finally:
        srv.stop()
