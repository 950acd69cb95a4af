"""Bad input gets a clear 4xx JSON error, the server keeps serving, and nothing recorded is lost."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import media_factory
from tests.backend.test_signing import sign
from tests.conftest import Api, Server, make_server


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def small_limit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("limits"), False, AVLABEL_MAX_UPLOAD_BYTES=str(2 * 1024 * 1024))
    srv.start()
    yield srv
    srv.stop()


def _post(srv: Server, path: str, blob: bytes, key: str | None = None) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {srv.keys[key]}"} if key else {}
    with srv.client() as http:
        resp = http.post(path, headers=headers, files={"file": ("x", blob)}, data={"generator": "g 1"})
    return resp.status_code, resp.json()


@pytest.mark.parametrize(
    "blob, status, code",
    [
        (b"", 400, "empty_file"),
        (b"hello, world, this is text", 415, "unsupported_media_type"),
        (media_factory.jpeg_bytes()[:400], 400, "bad_media"),
        (png_bomb(), 413, "image_too_large"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, 400, "bad_media"),
    ],
    ids=["empty", "text", "truncated-jpeg", "png-bomb", "broken-png"],
)
@pytest.mark.parametrize("path", ["/v1/verify", "/v1/sign"])
def test_bad_uploads_are_refused_clearly(api: Api, path: str, blob: bytes, status: int,
                                         code: str) -> None:
    got, body = _post(api, path, blob, "publisher" if path == "/v1/sign" else None)
    assert got == status, body
    assert body["error"]["code"] == code  # type: ignore[index]


def test_oversized_body_is_counted_while_streaming(small_limit_server: Server, tmp_path: Path) -> None:
    before, _, headers = sign(small_limit_server, media_factory.png(tmp_path / "keep.png", seed=30))
    assert before == 200

    def chunks() -> Iterator[bytes]:
        boundary = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n"
        yield boundary
        for _ in range(40):
            yield b"\0" * (128 * 1024)
        yield b"\r\n--b--\r\n"

    # No Content-Length: the body arrives chunked, so the limit must be counted as it streams.
    with small_limit_server.client() as http:
        resp = http.post("/v1/verify", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
        assert resp.status_code == 413
        assert resp.json()["error"]["code"] == "payload_too_large"
        # The server keeps serving and what it had recorded is still there.
        assert http.get("/healthz").status_code == 200
        label = http.get(f"/v1/labels/{headers['x-content-id']}")
        assert label.status_code == 200 and label.json()["state"] == "signed_synthetic"


def test_declared_oversized_body_is_refused_early(small_limit_server: Server) -> None:
    with small_limit_server.client() as http:
        resp = http.post("/v1/verify", content=b"x" * (3 * 1024 * 1024),
                         headers={"content-type": "multipart/form-data; boundary=b"})
    assert resp.status_code == 413


def test_malformed_multipart_and_wrong_content_type(api: Api) -> None:
    with api.client() as http:
        wrong = http.post("/v1/verify", content=b"abc", headers={"content-type": "text/plain"})
        assert wrong.status_code == 415 and wrong.json()["error"]["code"] == "unsupported_content_type"
        missing = http.post("/v1/verify", data={"other": "1"})
        assert missing.status_code in (400, 415)
        assert "error" in missing.json()
        unknown = http.get("/v1/nope")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
