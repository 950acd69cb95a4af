"""Start-up sweep of what a killed process leaves behind in the data directory.

A `kill -9` during signing can leave a signed file in `media/` without its registry row (the file moves
into the store inside the registry transaction, so a crash between the move and the commit keeps the
file) and scratch folders in `tmp/`. Only entries older than `age_seconds` are touched, because in a
shared deployment other live workers use the same directories. Orphan media are moved to `orphans/`,
never deleted: an operator may want them. The same holds for a reporter's file in `evidence/` that no
report names (killed between the move and the report's commit): it goes to `orphans/evidence/`.
`jobs/` (queued verification uploads) is not looked at.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from backend import evidence, registry
from backend.store.db import Database

log = logging.getLogger(__name__)

MAX_ENTRIES = 10_000  # per directory and start-up, so a huge store never delays start-up for long


@dataclass(frozen=True)
class SweepResult:
    scratch_removed: int
    orphans_moved: int
    evidence_moved: int = 0


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


def _move_aside(candidates: list[Path], orphans_dir: Path) -> int:
    moved = 0
    for path in candidates:
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


def _stale_files(directory: Path, cutoff: float) -> list[Path]:
    return [p for p in _bounded(directory) if p.is_file() and not p.is_symlink() and _older(p, cutoff)]


def sweep_orphan_media(db: Database, media_dir: Path, orphans_dir: Path, cutoff: float) -> int:
    # Stored files are named `<content_id>.<extension>` (SigningService.sign).
    candidates = _stale_files(media_dir, cutoff)
    if not candidates:
        return 0
    known = _registered(db, sorted({p.stem for p in candidates}))
    return _move_aside([p for p in candidates if p.stem not in known], orphans_dir)


def sweep_orphan_evidence(db: Database, evidence_dir: Path, orphans_dir: Path, cutoff: float) -> int:
    # Only the store's own names (evidence.NAME); its posters/ folder and anything else stay.
    candidates = [p for p in _stale_files(evidence_dir, cutoff) if evidence.NAME.match(p.name)]
    if not candidates:
        return 0
    with db.read() as conn:
        known = evidence.named(conn, sorted(p.name for p in candidates))
    return _move_aside([p for p in candidates if p.name not in known], orphans_dir)


def sweep_data_dir(db: Database, data_dir: Path, age_seconds: float) -> SweepResult:
    cutoff = time.time() - age_seconds
    result = SweepResult(
        scratch_removed=sweep_scratch(data_dir / "tmp", cutoff),
        orphans_moved=sweep_orphan_media(db, data_dir / "media", data_dir / "orphans", cutoff),
        evidence_moved=sweep_orphan_evidence(db, evidence.directory(data_dir), data_dir / "orphans" / evidence.DIR,
                                             cutoff),
    )
    if result.scratch_removed or result.orphans_moved or result.evidence_moved:
        log.warning("start-up sweep: removed %d stale scratch folder(s) from tmp/, moved %d media file(s) "
                    "without a registry row to orphans/ and %d reporter file(s) no report names to "
                    "orphans/evidence/", result.scratch_removed, result.orphans_moved, result.evidence_moved)
    return result
