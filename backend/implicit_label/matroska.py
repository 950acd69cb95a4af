"""The record in MKV/WebM: a global `SimpleTag` named `AIGC` (Tags/Tag, no target), written by an ffmpeg
stream-copy remux (no re-encode). Read by the bounded EBML walker in `ebml` (libavformat merges duplicate tag
names, so a second record would go unseen through PyAV); PyAV only when that walk stopped short of the end and
found nothing (a budget or a truncation), so a record libavformat sees is never missed."""

from __future__ import annotations

from pathlib import Path

import av

from backend.implicit_label.ebml import find_aigc
from backend.implicit_label.mp4 import remux_with_tag
from backend.implicit_label.record import MisplacedRecord


def write(path: Path, record: dict[str, str], src: Path | None = None) -> None:
    """`src`: remux from there into `path` (one pass, no separate copy); None: `path` onto itself."""
    # `-metadata:s AIGC=` drops any track-level AIGC tag, which would be a second record
    remux_with_tag(src or path, path, record, "webm" if path.suffix.lower() == ".webm" else "matroska",
                   ["-metadata:s", "AIGC="])


def read(path: Path) -> list[str]:
    with path.open("rb") as fh:
        found = find_aigc(fh, path.stat().st_size)
    if found.targeted_values and not found.global_values:
        raise MisplacedRecord("a Tag with a target (track, edition, chapter or attachment), not a global Tag")
    values = found.global_values + found.targeted_values
    if values or found.complete:
        return values
    with av.open(str(path)) as container:
        value = {k.upper(): v for k, v in container.metadata.items()}.get("AIGC")
    return [] if value is None else [value]
