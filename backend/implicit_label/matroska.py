"""The record in MKV/WebM: a global `SimpleTag` named `AIGC` (Tags/Tag, no target), written by an ffmpeg
stream-copy remux (no re-encode) and read through PyAV (libavformat's Matroska demuxer, which merges
duplicate tag names: two records in one file are not detected here)."""

from __future__ import annotations

from pathlib import Path

import av

from backend.implicit_label.mp4 import remux_with_tag


def write(path: Path, record: dict[str, str]) -> None:
    remux_with_tag(path, record, "webm" if path.suffix.lower() == ".webm" else "matroska", [])


def read(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        value = {k.upper(): v for k, v in container.metadata.items()}.get("AIGC")
    return [] if value is None else [value]
