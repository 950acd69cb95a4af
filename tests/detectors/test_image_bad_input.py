"""Awkward images and videos through POST /v1/verify: each answers a score or a clear
`detection.errors` entry from the image/video detector (or a 4xx), never a 5xx."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import av
import numpy as np
import pytest
from PIL import Image

from tests.conftest import Server

IMAGE_DETECTOR = "onnx-image-synthetic"
VIDEO_DETECTOR = "onnx-video-synthetic"


def _photo(w: int = 400, h: int = 300, seed: int = 5) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, w)[None, :, None] * np.ones((h, 1, 3))
    return Image.fromarray(np.clip(base + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8))


def _save(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def _animated_gif() -> bytes:
    frames = [_photo(seed=s).convert("P") for s in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def _grey16() -> bytes:
    arr = (np.asarray(_photo().convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    img = Image.fromarray(arr)
    assert img.mode.startswith("I;16")
    return _save(img, "PNG")


IMAGES: dict[str, Callable[[], bytes]] = {
    "tiny.png": lambda: _save(_photo(8, 6), "PNG"),
    "huge.png": lambda: _png_header_only(60_000, 60_000),
    "grey.jpg": lambda: _save(_photo().convert("L"), "JPEG"),
    "palette.png": lambda: _save(_photo().convert("P"), "PNG"),
    "grey16.png": _grey16,
    "cmyk.jpg": lambda: _save(_photo().convert("CMYK"), "JPEG"),
    "animated.gif": _animated_gif,
    "truncated.jpg": lambda: _save(_photo(), "JPEG")[:1500],
    "flat.png": lambda: _save(Image.new("RGB", (300, 300), (40, 40, 40)), "PNG"),
}


def _verify(srv: Server, name: str, data: bytes) -> tuple[int, dict[str, object]]:
    with srv.client() as http:
        resp = http.post("/v1/verify", files={"file": (name, data)})
    assert resp.status_code < 500, resp.text
    return resp.status_code, resp.json()


def _answered(detection: dict[str, object], detector: str) -> bool:
    """The detector scored the media, or said why it could not."""
    signals = [s for s in detection["signals"] if s["detector"] == detector]  # type: ignore[attr-defined, index]
    errors = [e for e in detection["errors"] if e["detector"] == detector]  # type: ignore[attr-defined, index]
    if signals:
        return 0.0 <= signals[0]["score"] <= 1.0  # type: ignore[no-any-return]
    return bool(errors) and all(e["code"] in ("bad_media", "detector_failed") and e["message"] for e in errors)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_awkward_images_get_a_score_or_a_detection_error(embedded_server: Server, name: str) -> None:
    status, body = _verify(embedded_server, name, IMAGES[name]())
    if status != 200:
        assert 400 <= status < 500 and "error" in body
        return
    detection = body["detection"]
    assert isinstance(detection, dict)
    assert _answered(detection, IMAGE_DETECTOR), detection


def _mp4(frames: int | None, audio: bool) -> bytes:
    """`frames` None: no video stream at all; 0: a video stream with no frame in it."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=10) if frames is not None else None
        if video is not None:
            video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        sound = container.add_stream("aac", rate=16000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        container.start_encoding()
        for i in range(frames or 0):
            frame = av.VideoFrame.from_ndarray(np.asarray(_photo(320, 240, seed=i)), format="rgb24")
            container.mux(video.encode(frame))  # type: ignore[union-attr]
        if video is not None:
            container.mux(video.encode())
        if sound is not None:
            tone = (np.sin(np.arange(16000) * 0.05) * 8000).astype(np.int16)
            for start in range(0, tone.size, 1024):
                chunk = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="s16", layout="mono")
                chunk.sample_rate, chunk.pts = 16000, start
                container.mux(sound.encode(chunk))
            container.mux(sound.encode())
    return buf.getvalue()


@pytest.mark.parametrize(("frames", "audio"), [(20, False), (None, True), (0, False)])
def test_video_without_audio_or_frames_gets_a_score_or_a_detection_error(
        embedded_server: Server, frames: int | None, audio: bool) -> None:
    status, body = _verify(embedded_server, "clip.mp4", _mp4(frames, audio))
    if status != 200:
        assert 400 <= status < 500 and "error" in body
        return
    detection = body["detection"]
    assert isinstance(detection, dict)
    assert _answered(detection, VIDEO_DETECTOR), detection
    if frames:  # pictures without a soundtrack are still scored
        assert any(s["detector"] == VIDEO_DETECTOR for s in detection["signals"])  # type: ignore[attr-defined, index]
