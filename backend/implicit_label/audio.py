"""The record in audio: ID3 `TXXX:AIGC` (MP3), Vorbis comment `AIGC` (FLAC, Ogg) through mutagen, and in WAV
a `LIST`/`INFO` sub-chunk with id `AIGC` (written here: mutagen's WAVE only edits an `id3 ` chunk)."""

from __future__ import annotations

import struct
from pathlib import Path

import mutagen
from mutagen.id3 import ID3, TXXX, ID3NoHeaderError

from backend.implicit_label.record import MisplacedRecord, encode

INFO_ID = b"AIGC"


def write_id3(path: Path, record: dict[str, str]) -> None:
    try:
        tags = ID3(path)
    except ID3NoHeaderError:
        tags = ID3()
    tags.delall("TXXX:AIGC")
    tags.add(TXXX(encoding=3, desc="AIGC", text=[encode(record)]))
    tags.save(path)


def read_id3(path: Path) -> list[str]:
    try:
        tags = ID3(path)
    except ID3NoHeaderError:
        return []
    found: list[str] = []
    for frame in tags.getall("TXXX"):
        if frame.desc == "AIGC":
            found += [str(t) for t in frame.text]
    return found


def write_vorbis(path: Path, record: dict[str, str]) -> None:
    audio = mutagen.File(path)
    if audio is None:
        raise ValueError("not a FLAC/Ogg file mutagen can edit")
    if audio.tags is None:
        audio.add_tags()
    audio.tags["AIGC"] = [encode(record)]  # replaces every earlier AIGC comment
    audio.save()


def read_vorbis(path: Path) -> list[str]:
    audio = mutagen.File(path)
    if audio is None or audio.tags is None:
        return []
    return [str(v) for v in audio.tags.get("AIGC", [])]


def _riff_chunks(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(id, start, end incl. pad byte) of the chunks in data[start:end]."""
    pos, out = start, []
    while pos + 8 <= end:
        cid = data[pos:pos + 4]
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        stop = pos + 8 + size + (size & 1)
        if pos + 8 + size > end:
            raise ValueError(f"RIFF chunk {cid!r} runs past its container")
        out.append((cid, pos, min(stop, end)))
        pos = stop
    return out


def write_wav(path: Path, record: dict[str, str]) -> None:
    data = path.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF WAVE file")
    items: list[bytes] = []
    body: list[bytes] = []
    for cid, s, e in _riff_chunks(data, 12, len(data)):
        if cid == b"LIST" and data[s + 8:s + 12] == b"INFO":
            # keep the other INFO items; drop every earlier AIGC item (one record per file)
            items += [data[a:b] for sid, a, b in _riff_chunks(data, s + 12, e) if sid != INFO_ID]
        else:
            body.append(data[s:e])
    value = encode(record).encode() + b"\x00"
    item = INFO_ID + struct.pack("<I", len(value)) + value + (b"\x00" if len(value) & 1 else b"")
    info = b"INFO" + b"".join(items) + item
    body.append(b"LIST" + struct.pack("<I", len(info)) + info)
    payload = b"WAVE" + b"".join(body)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(payload)) + payload)


def read_wav(path: Path) -> list[str]:
    data = path.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF WAVE file")
    found: list[str] = []
    top_level = False
    for cid, s, e in _riff_chunks(data, 12, len(data)):
        if cid == b"LIST" and data[s + 8:s + 12] == b"INFO":
            for sid, a, _end in _riff_chunks(data, s + 12, e):
                if sid == INFO_ID:
                    size = struct.unpack("<I", data[a + 4:a + 8])[0]
                    found.append(data[a + 8:a + 8 + size].rstrip(b"\x00").decode("utf-8", "replace"))
        elif cid == INFO_ID:
            top_level = True
    if not found and top_level:
        raise MisplacedRecord("a top-level RIFF `AIGC` chunk, not inside LIST/INFO")
    return found
