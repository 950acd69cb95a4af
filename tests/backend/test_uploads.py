"""Uploads streamed once, through the running server: while a slow client trickles a large multipart upload,
its bytes are already in the one destination file under the data directory's scratch area (never a second
copy: the scratch area holds at most the bytes received so far), other requests are answered, and the
hash in the answer is the SHA-256 taken while receiving. A queued upload is moved, not copied, into jobs/.

TMPDIR points into the scratch area, so a parser that spooled to a temporary file first would be seen."""

from __future__ import annotations

import hashlib
import json
import os
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import media_factory
from tests.conftest import Server, make_server

MIB = 1024 * 1024
PIECE = 256 * 1024


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("uploads")
    (data_dir / "tmp").mkdir()
    # No job worker: a queued upload stays in jobs/ for the test to look at.
    server = make_server(data_dir, False, AVLABEL_JOB_WORKERS="0", TMPDIR=str(data_dir / "tmp"))
    server.start()
    yield server
    server.stop()


def _files(root: Path) -> list[Path]:
    # os.walk skips folders that vanish while it looks: the server removes scratch folders as it goes.
    return [Path(d) / name for d, _, names in os.walk(root) for name in names]


def _scratch(srv: Server) -> list[Path]:
    """Files in the per-request scratch folders (tmp/<folder>/…; a library may keep its own file in tmp/)."""
    return [p for p in _files(srv.data_dir / "tmp") if p.parent != srv.data_dir / "tmp"]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _scratch_bytes(srv: Server) -> int:
    return sum(_size(p) for p in _scratch(srv))


def _wait_for(predicate: object, what: str, seconds: float = 120) -> None:
    """Waits for the server to get somewhere (bounded, so a broken build fails instead of hanging)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _answered(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def _response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(65536)
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(
        b"content-length:")))
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_trickled_upload_is_written_once_while_other_requests_are_served(srv: Server, tmp_path: Path) -> None:
    media = media_factory.wav(tmp_path / "long.wav", seconds=300).read_bytes()  # 9.6 MB: queued as a job
    boundary = "trickle"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"long.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    request = (f"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}"
               f"\r\nContent-Length: {len(head) + len(media) + len(tail)}\r\n\r\n").encode()
    held_back = 1000  # the last bytes of the file and the closing boundary wait until the checks are done
    peak_over = 0
    with socket.create_connection(("127.0.0.1", srv.port), timeout=120) as sock:
        sock.sendall(request + head)
        sent = 0
        while sent < len(media) - held_back:
            piece = media[sent:min(sent + PIECE, len(media) - held_back)]
            sock.sendall(piece)
            sent += len(piece)
            # Never more in the scratch area than what has arrived: one copy, no spooled duplicate.
            peak_over = max(peak_over, _scratch_bytes(srv) - sent)
            time.sleep(0.005)  # a slow client

        uploads = lambda: [p for p in _scratch(srv) if p.name == "upload"]  # noqa: E731
        # The bytes are in the destination file while the upload is still open (parsed as they arrive;
        # at most one 1 MiB batch behind).
        _wait_for(lambda: uploads() and uploads()[0].stat().st_size >= sent - 2 * MIB, "the streamed file")
        (upload,) = uploads()
        assert upload.read_bytes() == media[:upload.stat().st_size]
        assert _scratch(srv) == [upload]
        assert _scratch_bytes(srv) <= sent

        # Meanwhile the server answers others, before this upload is answered.
        with srv.client() as http:
            assert http.get("/healthz").status_code == 200
            assert http.post("/v1/verify", json={"sha256": "0" * 64}).status_code == 404
        assert not _answered(sock)

        sock.sendall(media[sent:] + tail)
        peak = 0
        while not _answered(sock):  # received in full: checked, then moved into jobs/
            peak = max(peak, _scratch_bytes(srv))
        status, body = _response(sock)
    assert peak_over <= 0, peak_over
    assert peak <= len(media), peak
    assert status == 202, body
    assert body["sha256"] == hashlib.sha256(media).hexdigest()
    # Moved into jobs/, not copied: the scratch area is empty and jobs/ holds the one file.
    assert _scratch(srv) == []
    (queued,) = _files(srv.data_dir / "jobs")
    assert queued.stat().st_size == len(media)
    with srv.client() as http:
        job = http.get(str(body["status_url"])).json()
    assert job["sha256"] == body["sha256"] and job["size"] == len(media)


@pytest.mark.parametrize("shape, code", [
    (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n" + b"x" * 5000,
     "malformed_multipart"),  # no closing boundary
    (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc\r\n"
     b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b\"\r\n\r\nabc\r\n--b--\r\n",
     "malformed_multipart"),  # two files
    (b"--b\r\nContent-Disposition: form-data; name=\"other\"; filename=\"a\"\r\n\r\nabc\r\n--b--\r\n",
     "unexpected_file"),
    (b"--b\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n" + b"t" * (65 * 1024) + b"\r\n--b--\r\n",
     "malformed_multipart"),  # a text field over 64 KiB
    (b"--b\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--b--\r\n", "malformed_multipart"),  # no name
    (b"garbage without any boundary", "malformed_multipart"),
], ids=["unterminated", "two-files", "other-file-part", "long-field", "no-name", "garbage"])
def test_malformed_multipart_is_400_and_leaves_nothing(srv: Server, shape: bytes, code: str) -> None:
    with srv.client() as http:
        resp = http.post("/v1/verify", content=shape, headers={"content-type": "multipart/form-data; boundary=b"})
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["code"] == code
        missing = http.post("/v1/verify", content=b"x", headers={"content-type": "multipart/form-data"})
        assert missing.status_code == 400 and missing.json()["error"]["code"] == "malformed_multipart"
    assert _scratch(srv) == []
