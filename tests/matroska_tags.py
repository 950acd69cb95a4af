"""A tiny EBML writer for tests: Tags elements spliced onto an ffmpeg-made Matroska/WebM file (a second `AIGC`
SimpleTag, a targeted one, nested ones), without mkvpropedit and without avlabel's reader."""

from __future__ import annotations

import subprocess
from pathlib import Path

SEGMENT, CLUSTER, TAGS, TAG, TARGETS, TRACK_UID, SIMPLE_TAG, TAG_NAME, TAG_STRING = (
    0x18538067, 0x1F43B675, 0x1254C367, 0x7373, 0x63C0, 0x63C5, 0x67C8, 0x45A3, 0x4487)


def size_vint(value: int, length: int | None = None) -> bytes:
    length = length or next(n for n in range(1, 9) if value < (1 << (7 * n)) - 1)
    return ((1 << (7 * length)) | value).to_bytes(length, "big")


def element(element_id: int, payload: bytes) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + size_vint(len(payload)) + payload


def simple_tag(name: str, value: str, *nested: bytes) -> bytes:
    return element(SIMPLE_TAG, element(TAG_NAME, name.encode()) + element(TAG_STRING, value.encode())
                   + b"".join(nested))


def tag(*simple_tags: bytes, track_uid: int | None = None) -> bytes:
    targets = element(TARGETS, element(TRACK_UID, track_uid.to_bytes(8, "big")) if track_uid else b"")
    return element(TAG, targets + b"".join(simple_tags))


def append_tags(path: Path, *tags: bytes) -> Path:
    """A Tags element with `tags` added as the Segment's last child (the Segment's size grows to match)."""
    data = bytearray(path.read_bytes())
    at = data.index(SEGMENT.to_bytes(4, "big"))
    size_at = at + 4
    length = 9 - data[size_at].bit_length()
    old = int.from_bytes(data[size_at:size_at + length], "big") & ((1 << (7 * length)) - 1)
    extra = element(TAGS, b"".join(tags))
    if old != (1 << (7 * length)) - 1:  # a known size (unknown: a live stream, nothing to update)
        assert size_at + length + old == len(data), "the Segment is not the file's last element"
        data[size_at:size_at + length] = size_vint(old + len(extra), length)
    path.write_bytes(bytes(data) + extra)
    return path


def ffprobe_opens(path: Path) -> bool:
    done = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", str(path)],
                          capture_output=True, timeout=60)
    return done.returncode == 0 and b"codec_name" in done.stdout
