"""Start-up sweep of what a killed process leaves behind in the data directory.

A `kill -9` during signing can leave a signed file in `media/` without its registry row (the file moves
into the store inside the registry transaction, so a crash between the move and the commit keeps the
file) and scratch folders in `tmp/`. Only entries older than `age_seconds` are touched, because in a
shared deployment other live workers use the same directories. Orphan media are moved to `orphans/`,
never deleted: an operator may want them. `jobs/` (queued verification uploads) is not looked at.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from backend import registry
from backend.store.db import Database

log = logging.getLogger(__name__)

MAX_ENTRIES = 10_000  # per directory and start-up, so a huge store never delays start-up for long


@dataclass(frozen=True)
class SweepResult:
    scratch_removed: int
    orphans_moved: int


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime <= cutoff
    except FileNotFoundError:  # removed meanwhile by its owner
        return False


def _bounded(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    found: list[Path] = []
    for entry in directory.iterdir():
        if len(found) >= MAX_ENTRIES:
            break
        found.append(entry)
    return found


def sweep_scratch(tmp_dir: Path, cutoff: float) -> int:
    removed = 0
    for entry in _bounded(tmp_dir):
        if entry.is_dir() and not entry.is_symlink() and _older(entry, cutoff):
            shutil.rmtree(entry, ignore_errors=True)
            removed += not entry.exists()
    return removed


def _registered(db: Database, content_ids: list[str]) -> set[str]:
    with db.read() as conn:
        return registry.registered_ids(conn, content_ids)


def sweep_orphan_media(db: Database, media_dir: Path, orphans_dir: Path, cutoff: float) -> int:
    # Stored files are named `<content_id>.<extension>` (SigningService.sign).
    candidates = [p for p in _bounded(media_dir) if p.is_file() and not p.is_symlink() and _older(p, cutoff)]
    if not candidates:
        return 0
    known = _registered(db, sorted({p.stem for p in candidates}))
    moved = 0
    for path in candidates:
        if path.stem in known:
            continue
        orphans_dir.mkdir(parents=True, exist_ok=True)
        target = orphans_dir / path.name
        if target.exists():  # never overwrite an earlier orphan of the same name
            target = orphans_dir / f"{path.stem}.{time.time_ns()}{path.suffix}"
        try:
            path.rename(target)  # same file system: atomic, keeps the bytes as they were
        except FileNotFoundError:
            continue
        moved += 1
    return moved


def sweep_data_dir(db: Database, data_dir: Path, age_seconds: float) -> SweepResult:
    cutoff = time.time() - age_seconds
    result = SweepResult(
        scratch_removed=sweep_scratch(data_dir / "tmp", cutoff),
        orphans_moved=sweep_orphan_media(db, data_dir / "media", data_dir / "orphans", cutoff),
    )
    if result.scratch_removed or result.orphans_moved:
        log.warning("start-up sweep: removed %d stale scratch folder(s) from tmp/, moved %d media file(s) "
                    "without a registry row to orphans/", result.scratch_removed, result.orphans_moved)
    return result
