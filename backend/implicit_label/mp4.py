"""The record in MP4/MOV/M4A: QuickTime metadata key `AIGC` in `moov/udta/meta` (`hdlr mdta` + `keys` +
`ilst`), as GB 45438 puts it. Written by an ffmpeg stream-copy remux with `-movflags use_metadata_tags` (no
re-encode; mutagen only writes iTunes-style atoms). Read by the small box walker below, plus any iTunes
freeform `----:…:AIGC` atom (mutagen), so a second record in the other form is counted, not missed."""

from __future__ import annotations

import os
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mutagen.mp4 import MP4, MP4StreamInfoError

from backend.implicit_label.record import MisplacedRecord, encode

MAX_MOOV = 64 << 20  # bytes of `moov` read into memory
REMUX_TIMEOUT_S = 300


def write(path: Path, record: dict[str, str], src: Path | None = None) -> None:
    """`src`: remux from there into `path` (one pass, no separate copy); None: `path` onto itself, where a
    file whose `moov` is its last box gets the record appended in `moov` without touching `mdat` (see
    `append_in_last_moov`); any other layout is stream-copied by ffmpeg."""
    if src is None and append_in_last_moov(path, record):
        return
    remux_with_tag(src or path, path, record, "mov" if path.suffix.lower() == ".mov" else "mp4",
                   ["-movflags", "use_metadata_tags"])


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mdta_meta(value: str) -> bytes:
    """`meta` (full box) with `hdlr mdta`, `keys` (one key `AIGC`) and `ilst` (item 1: UTF-8 `data`), the layout
    ffmpeg's `-movflags use_metadata_tags` writes."""
    hdlr = _box(b"hdlr", b"\0" * 8 + b"mdta" + b"\0" * 12 + b"\0")
    keys = _box(b"keys", b"\0" * 4 + struct.pack(">I", 1) + _box(b"mdta", b"AIGC"))
    data = _box(b"data", struct.pack(">II", 1, 0) + value.encode())  # type 1: UTF-8; locale 0
    ilst = _box(b"ilst", _box(struct.pack(">I", 1), data))
    return _box(b"meta", b"\0" * 4 + hdlr + keys + ilst)


def append_in_last_moov(path: Path, record: dict[str, str]) -> bool:
    """Written here, not by a library: when `moov` is the file's last box and holds no AIGC record yet (no
    `moof`: not fragmented), rewrite only `moov` in place with an `mdta` `meta` for the record added to its
    `udta`. `mdat` does not move, so no chunk offset changes, and the edit costs the size of `moov`, not of the
    file. False: another layout (ffmpeg remuxes it). Tested against ffprobe and mutagen."""
    size = path.stat().st_size
    last: tuple[bytes, int, int] | None = None  # (type, start, header size)
    with path.open("rb") as fh:
        pos = 0
        while pos + 8 <= size:
            fh.seek(pos)
            length, kind = struct.unpack(">I4s", fh.read(8))
            head = 8
            if length == 1:
                length, head = struct.unpack(">Q", fh.read(8))[0], 16
            elif length == 0:
                length = size - pos
            if length < head or pos + length > size or kind == b"moof":
                return False
            last = (kind, pos, head)
            pos += length
        if pos != size or last is None or last[0] != b"moov" or size - last[1] > MAX_MOOV:
            return False
        fh.seek(last[1] + last[2])
        moov = fh.read(size - last[1] - last[2])
    if b"AIGC" in moov:
        return False  # replacing a record needs the other tags merged: ffmpeg's remux does that
    children: list[tuple[bytes, bytes]] = []
    pos = 0
    while pos + 8 <= len(moov):
        length, kind = struct.unpack(">I4s", moov[pos:pos + 8])
        if length < 8 or pos + length > len(moov):
            return False  # 64-bit or open-ended child boxes: leave them to ffmpeg
        children.append((kind, moov[pos:pos + length]))
        pos += length
    if pos != len(moov):
        return False
    meta = mdta_meta(encode(record))
    if any(kind == b"udta" for kind, _ in children):
        out = [_box(b"udta", raw[8:] + meta) if kind == b"udta" else raw for kind, raw in children]
        if sum(kind == b"udta" for kind, _ in children) > 1:
            return False
    else:
        out = [raw for _, raw in children] + [_box(b"udta", meta)]
    new_moov = _box(b"moov", b"".join(out))
    with path.open("r+b") as fh:
        fh.seek(last[1])
        fh.write(new_moov)
        fh.truncate()
    return True


def remux_with_tag(src: Path, path: Path, record: dict[str, str], fmt: str, extra: list[str]) -> None:
    """Stream-copy `src` to `path` (may be the same file) with the container tag AIGC set (MP4 here, Matroska
    too)."""
    fd, tmp = tempfile.mkstemp(suffix=path.suffix or f".{fmt}", dir=path.parent)
    os.close(fd)
    try:
        # -map_metadata 0 keeps the other tags; -metadata AIGC= replaces any earlier AIGC (either form)
        subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(src), "-map", "0", "-c", "copy",
                        "-map_metadata", "0", *extra, "-metadata", f"AIGC={encode(record)}", "-f", fmt,
                        "-y", tmp], check=True, capture_output=True, timeout=REMUX_TIMEOUT_S)
        os.replace(tmp, path)
    except subprocess.CalledProcessError as exc:
        raise ValueError(f"ffmpeg could not remux the file: {exc.stderr.decode(errors='replace')[-200:]}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        head = 8
        if size == 1 and pos + 16 <= end:
            size, head = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            raise ValueError(f"box {kind!r} runs past its container")
        yield kind, pos + head, pos + size
        pos += size


def _moov(path: Path) -> tuple[bytes, list[str]]:
    """The `moov` box's payload, read without loading `mdat`, and where else an AIGC record was seen."""
    misplaced: list[str] = []
    moov = b""
    with path.open("rb") as fh:
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return moov, misplaced
            size, kind = struct.unpack(">I4s", head)
            body = 8
            if size == 1:
                size, body = struct.unpack(">Q", fh.read(8))[0], 16
            if kind == b"uuid" and 0 < size - body <= 1 << 20:
                if b"AIGC" in fh.read(size - body):
                    misplaced.append("a top-level `uuid` box")
                continue
            if kind == b"moov":
                if size - body > MAX_MOOV:
                    raise ValueError("moov is over the size avlabel reads")
                moov = fh.read(size - body) if size else fh.read(MAX_MOOV)
                continue
            if size < body:
                return moov, misplaced
            fh.seek(size - body, os.SEEK_CUR)


def _mdta_values(moov: bytes) -> list[str]:
    found: list[str] = []
    for kind, s, e in _boxes(moov, 0, len(moov)):
        if kind != b"udta":
            continue
        for mkind, ms, me in _boxes(moov, s, e):
            if mkind != b"meta":
                continue
            children = {k: (a, b) for k, a, b in _boxes(moov, ms + 4, me)}  # meta is a full box
            if b"keys" not in children or b"ilst" not in children:
                continue
            ks, ke = children[b"keys"]
            count = struct.unpack(">I", moov[ks + 4:ks + 8])[0]
            keys: dict[int, bytes] = {}
            pos = ks + 8
            for index in range(1, min(count, 10_000) + 1):
                size = struct.unpack(">I", moov[pos:pos + 4])[0]
                if size < 8 or pos + size > ke:
                    raise ValueError("a `keys` entry runs past its box")
                keys[index] = moov[pos + 8:pos + size]  # after size + namespace (`mdta`)
                pos += size
            ls, le = children[b"ilst"]
            for item, is_, ie in _boxes(moov, ls, le):
                if keys.get(struct.unpack(">I", item)[0]) != b"AIGC":
                    continue
                for dkind, ds, de in _boxes(moov, is_, ie):
                    if dkind == b"data":
                        found.append(moov[ds + 8:de].decode("utf-8", "replace"))  # after type + locale
    return found


def read(path: Path) -> list[str]:
    moov, misplaced = _moov(path)
    found = _mdta_values(moov)
    try:
        tags: dict[str, list[bytes]] = dict(MP4(path).tags or {})
    except MP4StreamInfoError:
        tags = {}
    for key, values in tags.items():
        if key.startswith("----:") and key.rsplit(":", 1)[-1] == "AIGC":
            found += [bytes(v).decode("utf-8", "replace") for v in values]
    if not found and (misplaced or b"mdtaAIGC" in moov):
        raise MisplacedRecord(", ".join(misplaced) or "`moov` outside `udta/meta` keys + ilst")
    return found
