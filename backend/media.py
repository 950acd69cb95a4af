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
    # libmagic names every Matroska file video/* (audio-only ones too; `check_container` tells them apart)
    "video/x-matroska": "video/x-matroska",
    "video/webm": "video/webm",
    "audio/webm": "audio/webm",
    "audio/x-matroska": "audio/x-matroska",
    "audio/ogg": "audio/ogg",  # Vorbis, Opus, FLAC or Speex in Ogg (Theora is video/ogg: not taken)
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
    "video/x-matroska": "mkv",
    "video/webm": "webm",
    "audio/webm": "webm",
    "audio/x-matroska": "mka",
    "audio/ogg": "ogg",
}
# Pillow reads and writes these, so they can carry a burned-in label and XMP.
RASTER = {"image/jpeg", "image/png", "image/webp", "image/avif", "image/heic", "image/heif", "image/gif", "image/tiff"}
MATROSKA = {"video/x-matroska", "video/webm", "audio/webm", "audio/x-matroska"}
OGG = {"audio/ogg"}
# c2pa-python (checked on 0.38: `c2pa.Builder.get_supported_mime_types()`) has no Matroska or Ogg asset handler,
# so no C2PA manifest can be embedded in these; they carry the AIGC record and are registered by hash.
NO_C2PA = MATROSKA | OGG
NO_C2PA_REASON = ("C2PA manifests cannot be embedded in Matroska/WebM or Ogg files (the c2pa SDK has no asset "
                  "handler for them); the file carries the GB 45438 AIGC record and is registered by its hash")
# mutagen's Ogg classes that carry Vorbis comments (where the AIGC record goes)
_OGG_AUDIO = ("OggVorbis", "OggOpus", "OggFLAC", "OggSpeex")


def c2pa_embeds(mime: str) -> bool:
    """Whether a C2PA manifest can be embedded in (and read from) files of this type."""
    return mime not in NO_C2PA


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
    (b"\x1a\x45\xdf\xa3", "video/x-matroska"),  # EBML
    (b"OggS", "audio/ogg"),
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


def check_container(path: Path, mime: str) -> str:
    """Matroska and Ogg: open the container (a damaged one is 400 `bad_media`, not a 5xx later) and tell an
    audio-only Matroska/WebM (libmagic says video/*) from a video one. Returns the refined type."""
    if mime in MATROSKA:
        import av

        try:
            with av.open(str(path)) as container:
                kinds = {stream.type for stream in container.streams}
        except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
            raise BadMedia("bad_media", f"the Matroska/WebM file cannot be read: {str(exc)[:200]}") from exc
        if not kinds & {"video", "audio"}:
            raise BadMedia("bad_media", "the Matroska/WebM file has no audio or video stream")
        webm = mime.endswith("webm")
        if "video" in kinds:
            return "video/webm" if webm else "video/x-matroska"
        return "audio/webm" if webm else "audio/x-matroska"
    if mime in OGG:
        import mutagen

        try:
            audio = mutagen.File(path)
        except (mutagen.MutagenError, OSError, ValueError, EOFError) as exc:
            raise BadMedia("bad_media", f"the Ogg file cannot be read: {str(exc)[:200]}") from exc
        if audio is None:
            raise BadMedia("bad_media", "the Ogg file holds no stream avlabel can read")
        if type(audio).__name__ not in _OGG_AUDIO:
            raise UnsupportedMediaType("unsupported_media_type", f"Ogg with {type(audio).__name__[3:]} is not "
                                       "supported: avlabel takes Vorbis, Opus, FLAC or Speex audio in Ogg")
    return mime


def check_riff(path: Path) -> None:
    """Every top-level chunk of a WAV must end inside the file: a chunk that declares more bytes than follow
    (a 4 GB `data` or `LIST` over a few bytes) is a lying header, and what a decoder salvages from it is not
    the file the uploader sent."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            head = fh.read(8)
            declared = int.from_bytes(head[4:8], "little")
            if pos + 8 + declared > size:
                raise BadMedia("bad_media", f"the WAV's {head[:4].decode('latin-1')!r} chunk declares "
                               f"{declared} bytes but only {size - pos - 8} follow (a truncated or "
                               "streamed WAV); save it as a complete file")
            pos += 8 + declared + (declared & 1)


def inspect(path: Path, max_pixels: int, sha256: str | None = None) -> Media:
    """`sha256`: the hash taken while the bytes were received (uploads), so the file is not read again."""
    mime = sniff(path)
    if mime in RASTER:
        check_image(path, max_pixels)
    elif mime in NO_C2PA:
        mime = check_container(path, mime)
    elif mime == "audio/wav":
        check_riff(path)
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
