"""Rate limits stay on while Redis is down: the server counts in-process instead of switching off."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.backend.casework import report
from tests.faults.conftest import server_on
from tests.faults.stores import PrivateRedis


def test_report_limit_holds_while_redis_is_stopped(private_redis: PrivateRedis, tmp_path: Path) -> None:
    srv = server_on(tmp_path / "srv", redis_url=private_redis.url, AVLABEL_REPORT_RATE_PER_HOUR="3")
    srv.start()
    try:
        with srv.client() as http:
            assert report(http, sha256=secrets.token_hex(32)).status_code == 201  # counted in Redis
            private_redis.stop()
            statuses = [report(http, sha256=secrets.token_hex(32)).status_code for _ in range(5)]
            # Before: every report passed while Redis was down (the counter answered 0). Now the process
            # counts on its own, with a fresh budget of 3, and refuses the rest.
            assert statuses == [201, 201, 201, 429, 429]
            assert http.get("/readyz").json()["redis"] is False
    finally:
        srv.stop()
