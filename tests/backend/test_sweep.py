"""Start-up sweep of the data directory: what a killed process left behind (an unregistered media file,
scratch folders) is cleared at the next start once it is older than AVLABEL_SWEEP_AGE_SECONDS, while
registered media, queued job uploads and anything recent (another live worker's) stay put."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from tests import media_factory
from tests.conftest import make_server


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.server
def test_restart_moves_old_orphan_media_aside_and_removes_stale_scratch(tmp_path: Path) -> None:
    srv = make_server(tmp_path / "srv", False)  # default age: 600 s
    srv.start()
    try:
        with srv.client() as http:
            signed = http.post("/v1/sign", headers={"Authorization": f"Bearer {srv.keys['publisher']}"},
                               files={"file": ("a.jpg", media_factory.jpeg_bytes((320, 240), seed=7))},
                               data={"generator": "sweep-gen 1.0"})
            assert signed.status_code == 200, signed.text
            content_id = signed.headers["x-content-id"]
    finally:
        srv.stop()

    data = srv.data_dir
    registered = data / "media" / f"{content_id}.jpg"
    _age(registered, 3600)
    old_orphan = data / "media" / "c_deadbeefdeadbeef.jpg"
    old_orphan.write_bytes(b"signed bytes whose registry row never committed")
    _age(old_orphan, 3600)
    young_orphan = data / "media" / "c_0123456789abcdef.jpg"  # may be a live worker's, mid-transaction
    young_orphan.write_bytes(b"in flight")
    stale_scratch = data / "tmp" / "tmpstale"
    stale_scratch.mkdir(parents=True)
    (stale_scratch / "upload").write_bytes(b"x")
    _age(stale_scratch, 3600)
    live_scratch = data / "tmp" / "tmplive"
    live_scratch.mkdir()
    queued = data / "jobs" / "queued-upload.bin"
    queued.parent.mkdir(exist_ok=True)
    queued.write_bytes(b"waiting for a worker")
    _age(queued, 3600)

    srv.start()
    try:
        assert not old_orphan.exists()
        kept = data / "orphans" / old_orphan.name
        assert kept.read_bytes() == b"signed bytes whose registry row never committed"
        assert young_orphan.exists() and registered.exists() and queued.exists()
        assert not stale_scratch.exists() and live_scratch.is_dir()
        with srv.client() as http:
            got = http.get(f"/media/{content_id}.jpg")
            assert got.status_code == 200
            assert hashlib.sha256(got.content).hexdigest() == signed.headers["x-content-sha256"]
    finally:
        srv.stop()
