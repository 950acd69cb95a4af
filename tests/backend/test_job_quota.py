"""Backlog quotas on queued verification, through the running server on both stores: one client cannot queue
more than its share (429 with a JSON error, nothing left in jobs/), other clients (another address, an API
key's account) still can, and the whole backlog has its own ceiling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import media_factory
from tests.conftest import Server, fresh_pg_database, make_server

# No job worker: accepted jobs stay queued, so the backlog only grows.
QUOTA_ENV = {"AVLABEL_ASYNC_VERIFY_BYTES": "1000", "AVLABEL_JOB_WORKERS": "0",
             "AVLABEL_JOB_QUEUE_PER_CLIENT": "2", "AVLABEL_JOB_QUEUE_MAX": "5"}


@pytest.fixture(params=["embedded", "shared"])
def srv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    if request.param == "embedded":
        server = make_server(tmp_path / "srv", False, **QUOTA_ENV)
        server.start()
        yield server
        server.stop()
        return
    with fresh_pg_database("avlabel_quota_") as url:
        server = make_server(tmp_path / "srv", True, url, **QUOTA_ENV)
        server.start()
        yield server
        server.stop()


def _client(srv: Server, address: str = "127.0.0.1", key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {srv.keys[key]}"} if key else {}
    return httpx.Client(base_url=srv.url, timeout=120, headers=headers,
                        transport=httpx.HTTPTransport(local_address=address))


def _upload(http: httpx.Client, blob: bytes) -> httpx.Response:
    return http.post("/v1/verify", files={"file": ("m.png", blob, "image/png")})


def test_one_client_cannot_fill_the_queue(srv: Server, tmp_path: Path) -> None:
    blobs = iter(media_factory.png(tmp_path / f"q{seed}.png", seed=seed).read_bytes() for seed in range(200, 220))
    with _client(srv) as first, _client(srv, "127.0.0.2") as second, _client(srv, key="publisher") as keyed:
        accepted = [_upload(first, next(blobs)) for _ in range(2)]
        assert [r.status_code for r in accepted] == [202, 202], [r.text for r in accepted]
        # The same bytes again join the job already queued: no new job, no quota used.
        assert _upload(first, media_factory.png(tmp_path / "q200.png", seed=200).read_bytes()).status_code == 202

        over = _upload(first, next(blobs))
        assert over.status_code == 429, over.text
        assert over.json()["error"]["code"] == "job_quota_exceeded"
        assert "at most 2" in over.json()["error"]["message"]
        assert over.headers["retry-after"]

        # Others still can: another address, and a client that identifies with its API key.
        assert _upload(second, next(blobs)).status_code == 202
        assert _upload(keyed, next(blobs)).status_code == 202
        assert _upload(keyed, next(blobs)).status_code == 202
        # Five jobs wait now: the whole backlog is full, for everyone.
        full = _upload(second, next(blobs))
        assert full.status_code == 429 and full.json()["error"]["code"] == "job_queue_full", full.text

        statuses = [first.get(str(r.json()["status_url"])).json()["status"] for r in accepted]
        assert statuses == ["queued", "queued"]
    # Refused uploads left nothing behind: jobs/ holds the five accepted files.
    assert len(list((srv.data_dir / "jobs").iterdir())) == 5
