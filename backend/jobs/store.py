"""Job rows and cached results in the database, the system of record for queued verification.

Every state change is a conditional UPDATE, so two workers that both believe they own a job (one
was only slow, not dead) can never record two results or move a finished job back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from backend.domain_errors import Conflict
from backend.store.db import Database, new_id, utcnow
from backend.store.schema import jobs, verify_results
from backend.vocabulary import JobKind, JobStatus

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
# Failures that depend only on the bytes: the same upload again is refused at once.
MEDIA_ERRORS = frozenset({"bad_media", "no_frames", "no_samples", "unsupported_codec", "image_too_large",
                          "frame_too_large", "empty_file", "unsupported_media_type"})


_PG_QUEUE_LOCK = 0x61766A71  # serialises quota checks with inserts (SQLite: BEGIN IMMEDIATE does)


@dataclass(frozen=True)
class Quota:
    """Limits on the active backlog (queued and running jobs, and their files under data_dir/jobs)."""

    per_client: int
    total: int
    disk_per_client: int
    disk_total: int


class QueueFull(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Job:
    id: str
    sha256: str
    mime: str
    size: int
    media_path: str | None
    status: JobStatus
    progress: float
    stage: str | None
    attempts: int
    worker: str | None
    error_code: str | None
    error_message: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    kind: JobKind = JobKind.VERIFY
    client: str | None = None
    params: dict[str, Any] | None = None  # an ingest's request
    result: dict[str, Any] | None = None  # an ingest's answer


def _job(row: Any) -> Job:
    return Job(row.id, row.sha256, row.mime, row.size, row.media_path, JobStatus(row.status),
               float(row.progress or 0.0), row.stage, row.attempts, row.worker, row.error_code, row.error_message,
               row.created_at, row.started_at, row.finished_at, JobKind(row.kind or JobKind.VERIFY), row.client,
               row.params, row.result)


def iso(value: dt.datetime | None) -> str | None:
    """SQLite hands datetimes back naive; everything stored is UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat().replace("+00:00", "Z")


def _claimable(now: dt.datetime) -> Any:
    # A running job is up for grabs only once its owner stopped renewing the lease.
    return or_(jobs.c.status == JobStatus.QUEUED,
               and_(jobs.c.status == JobStatus.RUNNING, or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now)))


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- the request side -------------------------------------------------------------------------

    def create(self, sha256: str, mime: str, size: int, media_path: str, job_id: str | None = None,
               client: str | None = None, quota: Quota | None = None, kind: JobKind = JobKind.VERIFY,
               params: dict[str, Any] | None = None) -> Job:
        """Insert a queued job; with `quota`, checked in the same transaction (QueueFull when over)."""
        now = utcnow()
        values = {"id": job_id or new_id("j"), "sha256": sha256, "mime": mime, "size": size,
                  "media_path": media_path, "client": client, "status": JobStatus.QUEUED, "progress": 0.0,
                  "stage": "queued", "attempts": 0, "created_at": now, "updated_at": now, "kind": kind,
                  "params": params}
        with self.db.tx() as conn:
            if quota is not None:
                if not self.db.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_QUEUE_LOCK})
                self._check_quota(conn, client, size, quota)
            conn.execute(insert(jobs).values(**values))
            row = conn.execute(select(jobs).where(jobs.c.id == values["id"])).one()
        return _job(row)

    def check_quota(self, client: str | None, size: int, quota: Quota) -> None:
        """A look before the upload is moved and fsynced; `create` checks again under the lock."""
        with self.db.read() as conn:
            self._check_quota(conn, client, size, quota)

    @staticmethod
    def _check_quota(conn: Connection, client: str | None, size: int, quota: Quota) -> None:
        active = jobs.c.status.in_(ACTIVE)
        count, disk = conn.execute(select(func.count(), func.coalesce(func.sum(jobs.c.size), 0))
                                   .where(active)).one()
        if count + 1 > quota.total or disk + size > quota.disk_total:
            raise QueueFull("job_queue_full", "the verification queue is full; try again later")
        if client is None:
            return
        mine, my_disk = conn.execute(select(func.count(), func.coalesce(func.sum(jobs.c.size), 0))
                                     .where(active, jobs.c.client == client)).one()
        if mine + 1 > quota.per_client:
            raise QueueFull("job_quota_exceeded",
                            f"you have {mine} verifications queued or running (at most {quota.per_client}); "
                            "wait for one to finish")
        if my_disk + size > quota.disk_per_client:
            raise QueueFull("job_quota_exceeded",
                            f"your queued media would take more than {quota.disk_per_client} bytes; "
                            "wait for a verification to finish")

    def get(self, job_id: str) -> Job | None:
        with self.db.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return _job(row) if row else None

    def active_for(self, sha256: str) -> Job | None:
        with self.db.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.sha256 == sha256, jobs.c.status.in_(ACTIVE),
                                                  jobs.c.kind == JobKind.VERIFY)
                               .order_by(jobs.c.created_at).limit(1)).first()
        return _job(row) if row else None

    def last_media_failure(self, sha256: str) -> Job | None:
        with self.db.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.sha256 == sha256, jobs.c.status == JobStatus.FAILED,
                                                  jobs.c.error_code.in_(sorted(MEDIA_ERRORS)),
                                                  jobs.c.kind == JobKind.VERIFY)
                               .order_by(jobs.c.created_at.desc()).limit(1)).first()
        return _job(row) if row else None

    def result(self, sha256: str, version: str | None = None) -> tuple[dict[str, Any], dt.datetime] | None:
        """The cached analysis of these bytes; with `version`, only one made by the same analysis."""
        with self.db.read() as conn:
            row = conn.execute(select(verify_results).where(verify_results.c.sha256 == sha256)).first()
        if row is None:
            return None
        answer = dict(row.result)
        if version is not None and answer.get("analysis_version") != version:
            return None
        return answer, row.created_at

    def set_queue_ref(self, job_id: str, ref: str) -> None:
        with self.db.tx() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(queue_ref=ref))

    # --- the worker side --------------------------------------------------------------------------

    def claim(self, job_id: str, worker: str, lease_seconds: float) -> Job | None:
        """Take one job (a stream delivery named it); None if it is finished or another worker holds it."""
        now = utcnow()
        with self.db.tx() as conn:
            return self._claim(conn, job_id, worker, lease_seconds, now)

    def claim_next(self, worker: str, lease_seconds: float) -> Job | None:
        """The database as the queue: the oldest claimable job, taken with a conditional UPDATE."""
        now = utcnow()
        # Look before taking the write lock: an idle worker polls, and SQLite has one writer at a time.
        with self.db.read() as conn:
            candidates = conn.execute(select(jobs.c.id).where(_claimable(now))
                                      .order_by(jobs.c.created_at).limit(5)).scalars().all()
        for job_id in candidates:
            job = self.claim(job_id, worker, lease_seconds)
            if job is not None:
                return job
        return None

    def _claim(self, conn: Connection, job_id: str, worker: str, lease_seconds: float,
               now: dt.datetime) -> Job | None:
        taken = conn.execute(
            update(jobs).where(jobs.c.id == job_id, _claimable(now)).values(
                status=JobStatus.RUNNING, worker=worker, attempts=jobs.c.attempts + 1, stage="claimed",
                lease_until=now + dt.timedelta(seconds=lease_seconds), started_at=now, updated_at=now)
        ).rowcount
        if taken != 1:
            return None
        return _job(conn.execute(select(jobs).where(jobs.c.id == job_id)).one())

    def heartbeat(self, job_id: str, worker: str, lease_seconds: float) -> bool:
        """Renew the lease; False when the job is no longer ours (finished, or taken over)."""
        now = utcnow()
        with self.db.tx() as conn:
            return conn.execute(
                update(jobs).where(jobs.c.id == job_id, jobs.c.worker == worker, jobs.c.status == JobStatus.RUNNING)
                .values(lease_until=now + dt.timedelta(seconds=lease_seconds), updated_at=now)
            ).rowcount == 1

    def report_progress(self, job_id: str, progress: float, stage: str) -> None:
        with self.db.tx() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status == JobStatus.RUNNING)
                         .values(progress=max(0.0, min(1.0, progress)), stage=stage[:60], updated_at=utcnow()))

    def complete(self, job_id: str, sha256: str, answer: dict[str, Any], elapsed_ms: float | None) -> bool:
        """Record the result exactly once: a second completion (of this or any job) is a no-op."""
        now = utcnow()
        with self.db.tx() as conn:
            finished = conn.execute(
                update(jobs).where(jobs.c.id == job_id, jobs.c.status.in_(ACTIVE)).values(
                    status=JobStatus.DONE, progress=1.0, stage="done", lease_until=None, finished_at=now,
                    updated_at=now)
            ).rowcount
            if finished != 1:
                return False
            row = conn.execute(select(verify_results.c.result).where(verify_results.c.sha256 == sha256)).first()
            if row is None:
                dialect = sqlite if self.db.is_sqlite else postgresql
                conn.execute(dialect.insert(verify_results).values(
                    sha256=sha256, result=answer, created_at=now, elapsed_ms=elapsed_ms
                ).on_conflict_do_nothing(index_elements=["sha256"]))
            elif dict(row.result).get("analysis_version") != answer.get("analysis_version"):
                # Made by an older analysis: the new one replaces it.
                conn.execute(update(verify_results).where(verify_results.c.sha256 == sha256)
                             .values(result=answer, created_at=now, elapsed_ms=elapsed_ms))
        return True

    @staticmethod
    def complete_ingest(conn: Connection, job_id: str, answer: dict[str, Any]) -> None:
        """In the ingest's own registry transaction: the job is done with its answer, or (another worker ended
        it meanwhile) Conflict, and the registration rolls back with it: an ingest is registered once."""
        now = utcnow()
        finished = conn.execute(
            update(jobs).where(jobs.c.id == job_id, jobs.c.status.in_(ACTIVE)).values(
                status=JobStatus.DONE, progress=1.0, stage="done", lease_until=None, finished_at=now,
                updated_at=now, result=answer)
        ).rowcount
        if finished != 1:
            raise Conflict("job_finished", f"job {job_id} was ended by another worker; this ingest is not recorded")

    def fail(self, job_id: str, code: str, message: str) -> bool:
        now = utcnow()
        with self.db.tx() as conn:
            return conn.execute(
                update(jobs).where(jobs.c.id == job_id, jobs.c.status.in_(ACTIVE)).values(
                    status=JobStatus.FAILED, stage="failed", error_code=code[:60], error_message=message[:1000],
                    lease_until=None, finished_at=now, updated_at=now)
            ).rowcount == 1

    def release(self, job_id: str, worker: str) -> None:
        """Hand a job back (shutdown): queued again, and this delivery does not count as an attempt."""
        with self.db.tx() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.worker == worker,
                                            jobs.c.status == JobStatus.RUNNING)
                         .values(status=JobStatus.QUEUED, stage="queued", worker=None, lease_until=None, progress=0.0,
                                 attempts=jobs.c.attempts - 1, queue_ref=None, updated_at=utcnow()))

    def undispatched(self, older_than_seconds: float, lease_grace_seconds: float) -> list[str]:
        """Jobs Redis does not know about: never added (Redis was down), or whose owner and stream entry are gone."""
        now = utcnow()
        cutoff = now - dt.timedelta(seconds=older_than_seconds)
        lost = now - dt.timedelta(seconds=lease_grace_seconds)
        with self.db.tx() as conn:
            conn.execute(update(jobs).where(jobs.c.status == JobStatus.RUNNING, jobs.c.lease_until < lost)
                         .values(status=JobStatus.QUEUED, stage="queued", worker=None, lease_until=None, queue_ref=None,
                                 updated_at=now))
            return list(conn.execute(select(jobs.c.id).where(jobs.c.status == JobStatus.QUEUED,
                                                             jobs.c.queue_ref.is_(None), jobs.c.updated_at < cutoff)
                                     .order_by(jobs.c.created_at).limit(100)).scalars())

    def queued_refs(self, older_than_seconds: float, limit: int = 100) -> list[tuple[str, str]]:
        """Queued jobs dispatched a while ago, with their stream entry ids (to find entries Redis lost)."""
        cutoff = utcnow() - dt.timedelta(seconds=older_than_seconds)
        with self.db.read() as conn:
            rows = conn.execute(select(jobs.c.id, jobs.c.queue_ref).where(
                jobs.c.status == JobStatus.QUEUED, jobs.c.queue_ref.is_not(None), jobs.c.updated_at < cutoff)
                .order_by(jobs.c.created_at).limit(limit)).all()
        return [(row.id, row.queue_ref) for row in rows]
