"""Redis stopped and restarted under load: label lookups keep answering from the database, no 5xx, and
the running service (same process) uses Redis again once it is back."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests import media_factory
from tests.faults.conftest import HANG_SECONDS, Hammer, server_on
from tests.faults.stores import PrivatePostgres, PrivateRedis


def _sign(http: httpx.Client, key: str, tmp: Path, seed: int) -> str:
    path = media_factory.png(tmp / f"p{seed}.png", size=(320, 240), seed=seed)
    resp = http.post("/v1/sign", headers={"Authorization": f"Bearer {key}"},
                     files={"file": (path.name, path.read_bytes())},
                     data={"generator": "fault-gen 1.0", "hosting_urls": f"https://cdn.example/f/{seed}.png"})
    assert resp.status_code == 200, resp.text
    return resp.headers["X-Content-Id"]


def test_label_lookups_survive_a_redis_restart(private_pg: PrivatePostgres, private_redis: PrivateRedis,
                                               tmp_path: Path) -> None:
    # A 1 s label cache: lookups go back to Redis (and, on a miss, the database) all through the test.
    srv = server_on(tmp_path / "srv", private_pg.create_database(), private_redis.url,
                    AVLABEL_LABEL_CACHE_SECONDS="1", AVLABEL_VERIFY_RATE_PER_MINUTE="1000000")
    srv.start()
    try:
        with srv.client() as http:
            ids = [_sign(http, srv.keys["publisher"], tmp_path, seed) for seed in (1, 2, 3)]
            assert http.get(f"/v1/labels/{ids[0]}").status_code == 200
        pid = srv.proc.pid if srv.proc else 0
        redis_keys = private_redis.client()
        assert any(redis_keys.scan_iter(match="avlabel:label:*")), "the label cache should be in Redis"

        def lookup(http: httpx.Client, n: int) -> tuple[httpx.Response, str]:
            if n % 5 == 0:  # the rate-limited verify endpoint counts its hits in Redis
                return http.post("/v1/verify", json={"content_id": ids[n % 3]}), "verify"
            if n % 2:
                return http.get(f"/v1/labels/{ids[n % 3]}"), "label"
            return http.get("/v1/labels", params={"src": f"https://cdn.example/f/{n % 3 + 1}.png"}), "src"

        # A request with no answer within the client's generous timeout counts as hung (status 0).
        with Hammer(srv.url, lookup, threads=3, pause=0.005, timeout=HANG_SECONDS) as hammer:
            time.sleep(2)
            down_at = time.monotonic()
            private_redis.stop()
            # Enough lookups answered during the outage, however long a busy machine takes for them.
            deadline = time.monotonic() + HANG_SECONDS
            while len(hammer.between(down_at, time.monotonic())) < 30 and time.monotonic() < deadline:
                time.sleep(0.2)
            with srv.client() as http:
                ready = http.get("/readyz")
            assert ready.status_code == 200 and ready.json() == {"database": True, "redis": False}
            up_at = time.monotonic()
            private_redis.start()
            time.sleep(4)
            end = time.monotonic()
        before, during, after = hammer.between(0, down_at), hammer.between(down_at, up_at), hammer.between(up_at, end)
        counts = {name: Hammer.statuses(o) for name, o in (("before", before), ("down", during), ("after", after))}
        print("statuses by phase:", counts)
        fivexx = sum(n for c in counts.values() for status, n in c.items() if status >= 500 or status == 0)
        assert fivexx == 0, counts
        assert all(set(c) == {200} for c in counts.values()), counts
        assert len(during) >= 30, "lookups should keep flowing while Redis is down"
        labels = [o for o in during if o.tag == "label"]
        assert labels and all(b'"state":"signed_synthetic"' in o.body for o in labels)

        # Recovery without a restart: the same process writes its cache into the new Redis again.
        assert srv.proc is not None and srv.proc.poll() is None and srv.proc.pid == pid
        deadline = time.monotonic() + 15
        while not any(redis_keys.scan_iter(match="avlabel:label:*")) and time.monotonic() < deadline:
            with srv.client() as http:
                http.get(f"/v1/labels/{ids[0]}")
            time.sleep(0.3)
        assert any(redis_keys.scan_iter(match="avlabel:label:*")), "the service did not reconnect to Redis"
        assert any(redis_keys.scan_iter(match="avlabel:rl:*")), "rate limits are counted in Redis again"
        with srv.client() as http:
            assert http.get("/readyz").json() == {"database": True, "redis": True}
    finally:
        srv.stop()
