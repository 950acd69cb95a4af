"""Bomb fixtures, made at test time: a PNG declaring 100000 x 100000 pixels, MP4 boxes nested 100,000 deep,
RIFF/WAV chunks declaring 4 GB, truncated ID3 tags, and a highly compressed image right at the pixel limit.
Each ends in a 4xx or a clear verdict, never a 5xx, within bounds of time and server memory."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import pytest
from PIL import Image

from tests.conftest import make_server
from tests.hostile.conftest import Guard


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    # Rows of zeros compress ~1000:1; the decoder would need 30 GB for the pixels.
    idat = zlib.compress(b"\0" * (3 * width + 1) * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def nested_mp4(depth: int = 100_000) -> bytes:
    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body

    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    inner = box(b"free", b"")
    headers = []
    size = len(inner)
    for _ in range(depth):  # trak inside trak inside trak …, each size covering the rest
        size += 8
        headers.append(struct.pack(">I", size) + b"trak")
    nested = b"".join(reversed(headers)) + inner
    return ftyp + struct.pack(">I", len(nested) + 8) + b"moov" + nested


def _riff_chunk(kind: bytes, body: bytes, declared: int | None = None) -> bytes:
    return kind + struct.pack("<I", len(body) if declared is None else declared) + body


_FMT = _riff_chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16))


def riff_data_bomb() -> bytes:
    """RIFF and data chunk sizes declaring ~4 GB, 64 bytes present."""
    return b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + _FMT + _riff_chunk(b"data", b"\0" * 64, 0xFFFFFFF0)


def riff_list_bomb() -> bytes:
    """A LIST chunk declaring ~4 GB in front of the data chunk."""
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + _FMT + _riff_chunk(b"LIST", b"INFO", 0xFFFFFFF0)
            + _riff_chunk(b"data", b"\0" * 64))


def _syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def id3_truncated_tag() -> bytes:
    """An ID3v2.3 tag declaring 256 MB, with one frame that also claims 256 MB, cut after 10 bytes."""
    return b"ID3\x03\x00\x00" + _syncsafe(0x0FFFFFFF) + b"TIT2" + struct.pack(">I", 0x0FFFFFFF) + b"\0\0\x03hello"


def id3_truncated_frame() -> bytes:
    """A well-formed ID3v2.4 header whose frame runs past the end of the file, then MPEG frame sync bytes."""
    return b"ID3\x04\x00\x00" + _syncsafe(1000) + b"TIT2" + _syncsafe(500) + b"\0\0\x03abc" + b"\xff\xfb\x90\x00" * 8


BOMBS: dict[str, Callable[[], bytes]] = {
    "png-100000x100000": png_bomb,
    "mp4-nested-100000-deep": nested_mp4,
    "riff-wav-data-4gb": riff_data_bomb,
    "riff-wav-list-4gb": riff_list_bomb,
    "id3-truncated-tag": id3_truncated_tag,
    "id3-truncated-frame": id3_truncated_frame,
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_bomb_verify(guard: Guard, name: str) -> None:
    answer = guard.verify(BOMBS[name](), name)
    if name.startswith("png"):
        assert answer.status == 413 and answer.body["error"]["code"] == "image_too_large"  # type: ignore[index]
    else:
        assert answer.status in (200, 400, 413, 415), answer.body


@pytest.mark.parametrize("name", list(BOMBS))
def test_bomb_sign(guard: Guard, name: str) -> None:
    answer = guard.sign(BOMBS[name](), name)
    if name.startswith(("png", "mp4", "riff")):
        assert 400 <= answer.status < 500, answer.body
    if answer.status == 200:
        # Signed anyway (an ID3 tag with frame syncs is a valid if empty MP3): it must then verify as ours.
        back = guard.verify(answer.raw, "signed")
        assert back.body["verdict"] == "signed_synthetic", back.body


def test_compressed_image_at_the_pixel_limit_stays_under_1gb(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A 200 kB PNG of 79 million black pixels, just inside the default 80 MP limit: a decompression bomb
    the limit lets through. Signing it decodes and re-encodes every pixel; the server must stay under 1 GB.
    (A large legitimate image takes seconds to re-encode, so this case alone has a looser CPU bound.)"""
    path = tmp_path_factory.mktemp("limit") / "limit.png"
    Image.new("RGB", (8900, 8900)).save(path, format="PNG")
    # A server of its own: the session's hostile server has by now kept heap from hundreds of fuzz cases
    # (1,028 MB seen once in a full run, 830 MB alone); this measures what the request itself needs.
    own = make_server(tmp_path_factory.mktemp("limit-server"), False)
    own.start()
    slow_guard = Guard(own, request_cpu_seconds=120)
    try:
        verified = slow_guard.verify(path.read_bytes(), "limit.png")
        assert verified.status == 200 and verified.body["verdict"] == "unsigned"
        signed = slow_guard.sign(path.read_bytes(), "limit.png")
        assert signed.status == 200, signed.body
        assert signed.peak_rss < 1024**3
    finally:
        slow_guard.close()
        own.stop()
