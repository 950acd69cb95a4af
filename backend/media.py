"""Uploaded media: type sniffed from the bytes, size and decompression-bomb limits, temp files.

The declared Content-Type and file name are never trusted.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import magic
from PIL import Image, UnidentifiedImageError

from backend.domain_errors import BadMedia, MediaTooLarge, UnsupportedMediaType

# libmagic's answer → the MIME type c2pa and the rest of avlabel use.
CANONICAL = {
    "image/jpeg": "image/jpeg",
    "image/png": "image/png",
    "image/webp": "image/webp",
    "image/avif": "image/avif",
    "image/heic": "image/heic",
    "image/heif": "image/heif",
    "image/gif": "image/gif",
    "image/tiff": "image/tiff",
    "video/mp4": "video/mp4",
    "video/quicktime": "video/quicktime",
    "video/x-msvideo": "video/x-msvideo",
    "audio/mp4": "audio/mp4",
    "audio/x-m4a": "audio/mp4",
    "audio/x-wav": "audio/wav",
    "audio/wav": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mpeg": "audio/mpeg",
    "audio/flac": "audio/flac",
    "audio/x-flac": "audio/flac",
}
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/avif": "avif",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/gif": "gif",
    "image/tiff": "tif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/x-msvideo": "avi",
    "audio/mp4": "m4a",
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/flac": "flac",
}
# Pillow reads and writes these, so they can carry a burned-in label and XMP.
RASTER = {"image/jpeg", "image/png", "image/webp", "image/avif", "image/heic", "image/heif", "image/gif", "image/tiff"}


def register_codecs() -> None:
    """Teach Pillow HEIC/HEIF (idempotent); called when services open, not at import."""
    import pillow_heif

    pillow_heif.register_heif_opener()


@dataclass(frozen=True)
class Media:
    path: Path
    mime: str
    size: int
    sha256: str

    @property
    def kind(self) -> str:
        return self.mime.split("/", 1)[0]

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.mime, "bin")


_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"ID3", "audio/mpeg"),
    (b"fLaC", "audio/flac"),
)


def _by_signature(head: bytes) -> str | None:
    """Damaged files libmagic gives up on still announce their format; say "bad media", not "unknown"."""
    for prefix, mime in _SIGNATURES:
        if head.startswith(prefix):
            return mime
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE"):
        return "image/webp" if head[8:12] == b"WEBP" else "audio/wav"
    return None


def sniff(path: Path) -> str:
    """The canonical MIME type of a file, judged by its bytes; 415 when avlabel cannot handle it."""
    with path.open("rb") as fh:
        head = fh.read(8192)
    if not head:
        raise BadMedia("empty_file", "the uploaded file is empty")
    raw = magic.from_buffer(head, mime=True)
    if raw == "application/octet-stream" and len(head) == 8192:
        raw = magic.from_file(str(path), mime=True)
    mime = CANONICAL.get(raw) or _by_signature(head)
    if mime is None:
        raise UnsupportedMediaType("unsupported_media_type", f"unsupported or unrecognised media type ({raw})")
    return mime


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def check_image(path: Path, max_pixels: int) -> tuple[int, int]:
    """Read only the header: refuse bombs before any pixel is decoded."""
    try:
        with Image.open(path) as im:
            width, height = im.size
    except Image.DecompressionBombError as exc:
        raise MediaTooLarge("image_too_large", str(exc)) from exc
    # Pillow's AVIF and the HEIF plugins raise RuntimeError on damaged files.
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, RuntimeError) as exc:
        raise BadMedia("bad_media", f"the image cannot be read: {exc}") from exc
    if width <= 0 or height <= 0:
        raise BadMedia("bad_media", "the image has no pixels")
    if width * height > max_pixels:
        raise MediaTooLarge(
            "image_too_large", f"image of {width}x{height} pixels exceeds the limit of {max_pixels} pixels"
        )
    return width, height


def inspect(path: Path, max_pixels: int, sha256: str | None = None) -> Media:
    """`sha256`: the hash taken while the bytes were received (uploads), so the file is not read again."""
    mime = sniff(path)
    if mime in RASTER:
        check_image(path, max_pixels)
    return Media(path=path, mime=mime, size=path.stat().st_size, sha256=sha256 or digest(path))


@contextmanager
def scratch_dir(base: Path) -> Iterator[Path]:
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as d:
        yield Path(d)


def save_stream_to(path: Path, chunks: Iterator[bytes], limit: int) -> int:
    total = 0
    with path.open("wb") as fh:
        for chunk in chunks:
            total += len(chunk)
            if total > limit:
                raise MediaTooLarge("payload_too_large", f"file exceeds the limit of {limit} bytes")
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    return total
