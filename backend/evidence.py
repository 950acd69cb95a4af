"""A reporter's uploaded file, kept privately as the case's evidence.

Files live in `<data>/evidence/<name>` (0700 directory, 0600 files), outside `media/`, so `/media/` never
serves them and the start-up sweep (store/sweep.py) never moves them. What the service knows of a file
(name, sniffed type, size, SHA-256) is recorded in the report's `details.evidence`; only signed-in staff
see the file, through the console. The file is moved in inside the report's transaction and removed
again if that transaction fails, so a stored report never lacks its file and no file outlives a refused
report. A process killed after the move and before the commit leaves a file no report names: the
start-up sweep moves it to `orphans/evidence/` (`named` says which files reports name).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from backend.media import Media
from backend.private_files import private_dir
from backend.store.schema import reports

DIR = "evidence"
NAME = re.compile(r"^ev_[0-9a-f]{24}\.[a-z0-9]{1,5}$")


@dataclass(frozen=True)
class Evidence:
    """One received file: its store name, sniffed type, size and SHA-256."""

    name: str
    mime: str
    size: int
    sha256: str

    @classmethod
    def of(cls, media: Media) -> Evidence:
        return cls(f"ev_{secrets.token_hex(12)}.{media.extension}", media.mime, media.size, media.sha256)

    def details(self) -> dict[str, Any]:
        return {"file": self.name, "mime": self.mime, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_details(cls, raw: Any) -> Evidence | None:
        """The evidence a report's `details` names; None for none or a malformed record."""
        if not isinstance(raw, dict) or not isinstance(raw.get("file"), str) or not NAME.match(raw["file"]):
            return None
        size = raw.get("size")
        return cls(raw["file"], str(raw.get("mime") or "application/octet-stream"),
                   size if isinstance(size, int) else 0, str(raw.get("sha256") or ""))


def directory(data_dir: Path) -> Path:
    return data_dir / DIR


def path_of(data_dir: Path, name: str) -> Path | None:
    """The stored file of this name, if it is one (the name is checked, never a path from outside)."""
    if not NAME.match(name):
        return None
    path = directory(data_dir) / name
    return path if path.is_file() else None


@contextmanager
def kept(data_dir: Path, upload: Path, evidence: Evidence) -> Iterator[Path]:
    """Moves the received file into the evidence store for the duration of the caller's transaction: if the
    block raises (the transaction did not commit), the file is removed again."""
    store = directory(data_dir)
    private_dir(store)
    os.chmod(upload, 0o600)
    with upload.open("rb+") as fh:  # durable before the report that names it commits
        os.fsync(fh.fileno())
    target = store / evidence.name
    os.rename(upload, target)  # same file system as <data>/tmp: atomic
    try:
        yield target
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def named(conn: Connection, names: list[str]) -> set[str]:
    """Which of these evidence files some report names in its `details.evidence`."""
    ref = reports.c.details[("evidence", "file")].as_string()
    found: set[str] = set()
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        found.update(str(v) for v in conn.execute(select(ref).where(ref.in_(chunk))).scalars())
    return found
