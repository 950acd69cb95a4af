"""The GB 45438-2025 Annex E implicit label (`AIGC` record): one module owns writing it into each format's
standard metadata place and reading it back as present / non_compliant / absent.

`write(path, mime, record)` replaces any existing record (exactly one per file); `read(path, mime)` never
raises on hostile input. The record's rules and its signature are in `record`.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import mutagen

from backend.implicit_label import audio, images, matroska, mp4
from backend.implicit_label.record import (
    KEYS,
    MisplacedRecord,
    Reading,
    RecordError,
    build_record,
    parse_records,
    sign_record,
    verify_signature,
)

__all__ = ["KEYS", "Reading", "RecordError", "build_record", "read", "sign_record", "supported", "verify_signature",
           "write", "write_checked"]

_WRITERS: dict[str, Callable[..., None]] = {
    "image/jpeg": images.write_jpeg, "image/png": images.write_png, "image/webp": images.write_webp,
    "video/mp4": mp4.write, "video/quicktime": mp4.write, "audio/mp4": mp4.write, "audio/x-m4a": mp4.write,
    "audio/mpeg": audio.write_id3, "audio/flac": audio.write_vorbis, "audio/ogg": audio.write_vorbis,
    "audio/wav": audio.write_wav, "audio/x-wav": audio.write_wav, "audio/vnd.wave": audio.write_wav,
    "video/x-matroska": matroska.write, "video/webm": matroska.write, "audio/webm": matroska.write,
    "audio/x-matroska": matroska.write,
}
_READERS = {
    "image/jpeg": images.read_jpeg, "image/png": images.read_png, "image/webp": images.read_any_xmp,
    "image/tiff": images.read_any_xmp, "image/avif": images.read_any_xmp, "image/heif": images.read_any_xmp,
    "image/gif": images.read_any_xmp,
    "video/mp4": mp4.read, "video/quicktime": mp4.read, "audio/mp4": mp4.read, "audio/x-m4a": mp4.read,
    "audio/mpeg": audio.read_id3, "audio/flac": audio.read_vorbis, "audio/ogg": audio.read_vorbis,
    "audio/wav": audio.read_wav, "audio/x-wav": audio.read_wav, "audio/vnd.wave": audio.read_wav,
    "video/x-matroska": matroska.read, "video/webm": matroska.read, "audio/webm": matroska.read,
    "audio/x-matroska": matroska.read,
}


def supported(mime: str) -> bool:
    return mime in _WRITERS


_REMUX_WRITERS: dict[str, Callable[[Path, dict[str, str], Path | None], None]] = {
    m: w for m, w in _WRITERS.items() if w in (mp4.write, matroska.write)}
_IMAGE_WRITERS = {"image/jpeg": images.write_jpeg, "image/png": images.write_png, "image/webp": images.write_webp}


def write(path: Path, mime: str, record: dict[str, str], source_uri: str | None = None,
          copy_from: Path | None = None) -> None:
    """Put `record` (checked against the annex) in the file's standard place, replacing any existing one.

    `source_uri`: for images, IPTC's DigitalSourceType written in the same XMP packet (one packet per file).
    `copy_from`: `path` becomes a copy of this file with the record; MP4/MOV and Matroska remux straight from it
    (one pass over the bytes), the other formats are copied, then edited in place."""
    from backend.implicit_label.record import check_for_write

    check_for_write(record)
    image_writer = _IMAGE_WRITERS.get(mime)
    writer = _WRITERS.get(mime)
    if writer is None:
        raise RecordError(f"no standard place for the AIGC record in {mime}")
    remuxer = _REMUX_WRITERS.get(mime)
    if copy_from is not None and remuxer is None:
        shutil.copyfile(copy_from, path)
    try:
        if remuxer is not None:
            remuxer(path, record, copy_from)
        elif image_writer is not None:
            image_writer(path, record, source_uri)
        else:
            writer(path, record)
    except (mutagen.MutagenError, struct.error, EOFError) as exc:  # a container that lies about its sizes
        raise RecordError(f"the file's metadata cannot be edited ({type(exc).__module__}.{type(exc).__name__})"
                          ) from exc


def write_checked(path: Path, mime: str, record: dict[str, str], source_uri: str | None = None,
                  copy_from: Path | None = None) -> None:
    """`write`, then read the file back: exactly one record, equal to `record`, or RecordError."""
    write(path, mime, record, source_uri, copy_from)
    reading = read(path, mime)
    if reading.status != "present" or reading.record != record:
        detail = "; ".join(reading.reasons) or reading.status
        raise RecordError(f"the AIGC record did not read back from the {mime} file ({detail[:200]})")


def read(path: Path, mime: str) -> Reading:
    reader = _READERS.get(mime)
    if reader is None:
        return Reading("absent", None, [f"avlabel does not read AIGC records in {mime}"])
    try:
        found = reader(path)
    except MisplacedRecord as exc:
        return Reading("non_compliant", None, [f"an AIGC record outside the format's standard place: {exc}"])
    except Exception as exc:  # noqa: BLE001 - hostile containers: a broken box is a finding, not a crash
        return Reading("non_compliant", None, [
            f"the file's metadata cannot be parsed ({type(exc).__module__}.{type(exc).__name__})"])
    return parse_records(found)
