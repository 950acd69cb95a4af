"""The record in MP4/MOV/M4A: a freeform `----` atom `com.apple.iTunes` / `AIGC` under `moov/udta/meta/ilst`
(mutagen's MP4; ffprobe reads it back as format tag `AIGC`). Not yet the QuickTime `mdta`/`keys` form."""

from __future__ import annotations

from pathlib import Path

from mutagen.mp4 import MP4, MP4FreeForm

from backend.implicit_label.record import encode

KEY = "----:com.apple.iTunes:AIGC"


def write(path: Path, record: dict[str, str]) -> None:
    media = MP4(path)
    if media.tags is None:
        media.add_tags()
    assert media.tags is not None
    for key in [k for k in media.tags if k.lower().endswith(":aigc")]:
        del media.tags[key]  # one record per file, whatever its mean
    media.tags[KEY] = [MP4FreeForm(encode(record).encode())]
    media.save()


def read(path: Path) -> list[str]:
    media = MP4(path)
    if media.tags is None:
        return []
    found: list[str] = []
    for key, values in media.tags.items():
        if key.startswith("----:") and key.rsplit(":", 1)[-1] == "AIGC":
            found += [bytes(v).decode("utf-8", "replace") for v in values]
    return found
