"""Thumbnails for the verification page: a scaled JPEG of an image, or a poster frame of a video decoded
with PyAV. Made once per stored file and cached under `<data>/posters/<sha256>.jpg`; bounded in pixels
(`MAX_SIDE`), in bytes (`MAX_BYTES`) and in decoding work (`MAX_PACKETS`). A file that cannot be decoded
is a `PosterUnavailable`, which the route answers as a 422 JSON error, never a 5xx."""

from __future__ import annotations

import io
import os
import re
import secrets
from pathlib import Path

import av
from PIL import Image

MAX_SIDE = 480
MAX_BYTES = 120_000
MAX_PACKETS = 300  # demuxed packets read while looking for the first decodable frame
MAX_SOURCE_PIXELS = 50_000_000
SHA = re.compile(r"^[0-9a-f]{64}$")


class PosterUnavailable(Exception):
    """The stored file gives no picture (damaged, no video stream, not a visual medium)."""


def _encode(picture: Image.Image) -> bytes:
    picture = picture.convert("RGB")
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    for quality in (82, 65, 45, 30):
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=quality, optimize=True)
        if out.tell() <= MAX_BYTES:
            return out.getvalue()
    raise PosterUnavailable("the thumbnail stays over its size bound")


def _image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_SOURCE_PIXELS:
                raise PosterUnavailable("the image is too large to preview")
            img.draft("RGB", (MAX_SIDE * 2, MAX_SIDE * 2))
            img.load()
            return img.copy()
    except PosterUnavailable:
        raise
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise PosterUnavailable(f"the image cannot be decoded: {type(exc).__name__}") from exc


def _video_frame(path: Path) -> Image.Image:
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            streams = container.streams.video
            if not streams:
                raise PosterUnavailable("the file has no video stream")
            stream = streams[0]
            stream.thread_type = "NONE"
            for count, packet in enumerate(container.demux(stream)):
                if count >= MAX_PACKETS:
                    break
                for frame in packet.decode():
                    if frame.width * frame.height > MAX_SOURCE_PIXELS:
                        raise PosterUnavailable("the video frame is too large to preview")
                    rgb = frame.to_ndarray(format="rgb24")
                    return Image.fromarray(rgb)
    except PosterUnavailable:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise PosterUnavailable(f"the video cannot be decoded: {type(exc).__name__}") from exc
    raise PosterUnavailable("no frame decoded")


def make(source: Path, mime: str) -> bytes:
    """The JPEG thumbnail of `source`; blocking."""
    if mime.startswith("image/"):
        return _encode(_image(source))
    if mime.startswith("video/"):
        return _encode(_video_frame(source))
    raise PosterUnavailable("only images and videos have a thumbnail")


def cached(cache_dir: Path, sha256: str, source: Path, mime: str) -> bytes:
    """The thumbnail from the cache, made and stored on first use (atomic rename, so concurrent makers
    never expose a half-written file)."""
    if not SHA.match(sha256):
        raise PosterUnavailable("no usable hash for this content")
    target = cache_dir / f"{sha256}.jpg"
    try:
        return target.read_bytes()
    except FileNotFoundError:
        pass
    body = make(source, mime)
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    scratch = cache_dir / f".{sha256}.{secrets.token_hex(4)}.tmp"
    scratch.write_bytes(body)
    os.replace(scratch, target)
    return body
