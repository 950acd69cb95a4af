"""The monitor's side of the `streams` table and the `stream_notes` it writes.

A monitor worker holds a stream by a lease (a conditional UPDATE, like the jobs table's): the Redis work
item only says which stream to look at, the row decides who watches it. Progress (`next_sequence`, the
first media sequence not yet checked) is written after each segment, so a worker that takes over a dead
worker's stream resumes from the last checked segment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, or_, select

from backend import audit, cases, registry
from backend.reports import SEVERITY
from backend.store.db import Database, utcnow
from backend.store.schema import stream_notes, streams
from backend.streams.registration import STOPPED, WATCHING
from backend.vocabulary import ReportCategory

ACTOR = "monitor"
MAX_MESSAGE = 1000


@dataclass(frozen=True)
class Watched:
    content_id: str
    playlist_url: str
    protocol: str
    live: bool
    next_sequence: int
    checked_segments: int
    case_id: str | None


def _watched(row: Any) -> Watched:
    return Watched(row.content_id, row.playlist_url, row.protocol, bool(row.live), int(row.next_sequence),
                   int(row.checked_segments), row.case_id)


class MonitorStore:
    def __init__(self, db: Database, lease_seconds: float) -> None:
        self.db = db
        self.lease = dt.timedelta(seconds=lease_seconds)

    def claim(self, content_id: str, worker: str) -> Watched | None:
        """The stream, now held by `worker`; None when it is not watched any more or a live worker holds it."""
        now = utcnow()
        with self.db.tx() as conn:
            taken = conn.execute(streams.update().where(
                streams.c.content_id == content_id, streams.c.status == WATCHING,
                or_(streams.c.owner.is_(None), streams.c.owner == worker, streams.c.lease_until < now))
                .values(owner=worker, lease_until=now + self.lease)).rowcount
            if not taken:
                return None
            return _watched(conn.execute(select(streams).where(streams.c.content_id == content_id)).one())

    def renew(self, content_id: str, worker: str) -> bool:
        now = utcnow()
        with self.db.tx() as conn:
            return bool(conn.execute(streams.update().where(
                streams.c.content_id == content_id, streams.c.owner == worker, streams.c.status == WATCHING)
                .values(lease_until=now + self.lease)).rowcount)

    def release(self, content_id: str, worker: str) -> None:
        with self.db.tx() as conn:
            conn.execute(streams.update().where(streams.c.content_id == content_id, streams.c.owner == worker)
                         .values(owner=None, lease_until=None))

    def progress(self, content_id: str, worker: str, next_sequence: int, segment_url: str,
                 c2pa: dict[str, Any] | None) -> bool:
        """One more segment checked; False when the lease was lost (another worker has the stream)."""
        now = utcnow()
        values: dict[str, Any] = {"next_sequence": next_sequence, "last_segment_url": segment_url[:2000],
                                  "last_checked_at": now, "updated_at": now, "lease_until": now + self.lease,
                                  "checked_segments": streams.c.checked_segments + 1}
        if c2pa is not None:
            values["c2pa"] = c2pa
        with self.db.tx() as conn:
            return bool(conn.execute(streams.update().where(
                streams.c.content_id == content_id, streams.c.owner == worker, streams.c.status == WATCHING)
                .values(**values)).rowcount)

    def finish(self, content_id: str, status: str) -> None:
        now = utcnow()
        with self.db.tx() as conn:
            conn.execute(streams.update().where(streams.c.content_id == content_id)
                         .values(status=status, owner=None, lease_until=None, updated_at=now))

    def label_state(self, content_id: str) -> str | None:
        with self.db.read() as conn:
            row = registry.by_id(conn, content_id)
            return row.label_state if row else None

    def watching(self) -> list[str]:
        with self.db.read() as conn:
            return [str(c) for c in conn.execute(select(streams.c.content_id).where(streams.c.status == WATCHING))
                    .scalars()]

    def note(self, content_id: str, kind: str, message: str, segment_url: str | None = None,
             media_time: float | None = None, details: dict[str, Any] | None = None,
             category: str = ReportCategory.OTHER) -> str:
        """A case note (in the stream's monitor case, opened at its first note) and its audit entry."""
        with self.db.tx() as conn:
            case_id = self.case_for(conn, content_id, category, segment_url)
            add_note(conn, content_id, case_id, kind, message, segment_url, media_time, details or {})
            return case_id

    def case_for(self, conn: Connection, content_id: str, category: str, media_url: str | None) -> str:
        row = conn.execute(select(streams.c.case_id, streams.c.playlist_url).where(
            streams.c.content_id == content_id)).one()
        content = registry.by_id(conn, content_id)
        assert content is not None  # noqa: S101 - a stream row is made with its registry entry
        case_id = cases.open_for_content(conn, content, category, SEVERITY[ReportCategory(category)], ACTOR,
                                         f"stream:{content_id}", media_url or row.playlist_url)
        if row.case_id != case_id:
            conn.execute(streams.update().where(streams.c.content_id == content_id).values(case_id=case_id))
        return case_id


def add_note(conn: Connection, content_id: str, case_id: str | None, kind: str, message: str,
             segment_url: str | None, media_time: float | None, details: dict[str, Any]) -> None:
    conn.execute(stream_notes.insert().values(
        content_id=content_id, case_id=case_id, kind=kind, segment_url=(segment_url or "")[:2000] or None,
        media_time=media_time, message=message[:MAX_MESSAGE], details=details, created_at=utcnow()))
    audit.append(conn, ACTOR, f"stream.{kind}", content_id, {
        "case_id": case_id, "segment_url": segment_url, "media_time": media_time, "message": message[:MAX_MESSAGE],
        **details})


def stopped_by(conn: Connection, content_id: str) -> None:
    """The stream's transmission was stopped (a block): the monitor has nothing left to watch."""
    conn.execute(streams.update().where(streams.c.content_id == content_id)
                 .values(status=STOPPED, owner=None, lease_until=None, updated_at=utcnow()))
