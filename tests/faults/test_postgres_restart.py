"""PostgreSQL restarted under a running service: requests fail clearly (503 JSON) while it is down and
succeed after, without restarting the service; nothing recorded before is lost."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests import media_factory
from tests.conftest import Server
from tests.faults.conftest import HANG_SECONDS, Hammer, server_on
from tests.faults.stores import PrivatePostgres


def _sign(http: httpx.Client, key: str, path: Path) -> httpx.Response:
    return http.post("/v1/sign", headers={"Authorization": f"Bearer {key}"},
                     files={"file": (path.name, path.read_bytes())}, data={"generator": "fault-gen 1.0"})


def _assert_clear_503(resp: httpx.Response) -> None:
    assert resp.status_code == 503, (resp.status_code, resp.text)
    assert resp.json()["error"]["code"] == "database_unavailable", resp.text


def test_postgres_restart_gives_503_then_recovers(private_pg: PrivatePostgres, tmp_path: Path) -> None:
    srv = server_on(tmp_path / "srv", private_pg.create_database(), AVLABEL_LABEL_CACHE_SECONDS="1",
                    AVLABEL_VERIFY_RATE_PER_MINUTE="1000000")
    srv.start()
    key = srv.keys["publisher"]
    png = media_factory.png(tmp_path / "a.png", size=(320, 240), seed=40)
    try:
        with srv.client() as http:
            first = _sign(http, key, png)
            assert first.status_code == 200
            kept = first.headers["X-Content-Id"]
        pid = srv.proc.pid if srv.proc else 0

        def lookup(http: httpx.Client, n: int) -> tuple[httpx.Response, str]:
            if n % 2:
                return http.get(f"/v1/labels/{kept}"), "label"
            return http.post("/v1/verify", json={"content_id": kept}), "verify"

        # A request with no answer within the client's generous timeout counts as hung (status 0).
        with Hammer(srv.url, lookup, threads=2, pause=0.01, timeout=HANG_SECONDS) as hammer:
            time.sleep(1.5)
            down_at = time.monotonic()
            private_pg.stop()
            time.sleep(2)  # past the 1 s label cache: every lookup now needs the database
            with srv.client() as http:
                _assert_clear_503(http.get(f"/v1/labels/{kept}"))
                _assert_clear_503(http.post("/v1/verify", json={"content_id": kept}))
                _assert_clear_503(_sign(http, key, png))
                ready = http.get("/readyz")
                assert ready.status_code == 503 and ready.json()["database"] is False
            private_pg.start()
            recovered_at = wait_until_ready(srv)
            time.sleep(2)  # lookups keep flowing after the recovery
            end = time.monotonic()
        outcomes = hammer.between(0, end)
        statuses = Hammer.statuses(outcomes)
        print("statuses:", statuses)
        # Only two answers ever (no hang either: that would be status 0): served, or a clear
        # "database unavailable" while it was down.
        assert set(statuses) <= {200, 503}, statuses
        for o in outcomes:
            if o.status == 503:
                assert b'"database_unavailable"' in o.body and down_at <= o.at < recovered_at, o
        late = hammer.between(recovered_at, end)
        assert late and all(o.status == 200 for o in late), Hammer.statuses(late)

        # Same process, nothing lost, writes work again.
        assert srv.proc is not None and srv.proc.poll() is None and srv.proc.pid == pid
        with srv.client() as http:
            assert http.get("/readyz").status_code == 200
            label = http.get(f"/v1/labels/{kept}")
            assert label.status_code == 200 and label.json()["state"] == "signed_synthetic"
            again = _sign(http, key, media_factory.png(tmp_path / "b.png", size=(320, 240), seed=41))
            assert again.status_code == 200, again.text
            assert http.get(f"/v1/labels/{again.headers['X-Content-Id']}").status_code == 200
    finally:
        srv.stop()
        if not _is_up(private_pg):
            private_pg.start()  # later tests share the private cluster


def wait_until_ready(srv: Server) -> float:
    """When the service first says it is ready again (its database answers), however long that takes here."""
    deadline = time.monotonic() + HANG_SECONDS
    with srv.client() as http:
        while time.monotonic() < deadline:
            if http.get("/readyz").status_code == 200:
                return time.monotonic()
            time.sleep(0.1)
    raise AssertionError("the service did not become ready after PostgreSQL came back")


def _is_up(pg: PrivatePostgres) -> bool:
    import psycopg

    try:
        with psycopg.connect(pg.url(), connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False
