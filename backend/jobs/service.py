"""Queued verification and ingest as the web process sees them: decide, store durably, dispatch, report status."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from typing import Any

from redis.exceptions import RedisError

from backend.accounts import Account
from backend.domain_errors import BadMedia, RateLimited
from backend.ingest import IngestRequest, IngestService
from backend.jobs import ingest_job
from backend.jobs.analysis import analysis_version
from backend.jobs.queues import StreamProducer
from backend.jobs.store import Job, JobStore, QueueFull, Quota, iso
from backend.jobs.worker import WorkerPool
from backend.media import Media
from backend.services import Services
from backend.store.db import new_id
from backend.verification.service import claimed_content_id
from backend.vocabulary import JobKind, JobStatus

log = logging.getLogger(__name__)


def _fsync(path: os.PathLike[str] | str, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JobService:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.store = JobStore(services.db)
        self.dir = self.settings.data_dir / "jobs"
        self.producer = StreamProducer(self.settings) if self.settings.redis_url else None
        self.wake = threading.Event()  # lets in-process table workers start at once
        self.pool: WorkerPool | None = None

    def start_workers(self, count: int) -> None:
        if count > 0:
            self.pool = WorkerPool(self.services, count, self.wake)
            self.pool.start()

    def close(self) -> None:
        if self.pool is not None:
            # A server shutting down must not wait out a long analysis: end it and hand the job back.
            self.pool.stop(abort=True, timeout=30)
        if self.producer is not None:
            self.producer.close()

    def should_queue(self, media: Media) -> bool:
        threshold = self.settings.async_verify_bytes
        if media.kind in ("video", "audio"):
            threshold = min(threshold, self.settings.async_verify_av_bytes)
        return media.size >= threshold

    def quota(self) -> Quota:
        s = self.settings
        return Quota(per_client=s.job_queue_per_client, total=s.job_queue_max,
                     disk_per_client=s.job_disk_per_client_bytes, disk_total=s.job_disk_bytes)

    def submit_ingest(self, media: Media, req: IngestRequest, platform: Account) -> dict[str, Any]:
        """Blocking. A queued ingest (202): every upload is its own registration, so no cache and no sharing
        of another job; the platform's backlog quota applies."""
        client = ingest_job.owner(platform)
        params = ingest_job.ingest_params(req, platform)
        IngestService(self.services.signing, self.services.verify).precheck(media, req, platform,
                                                                              params["content_id"])
        try:
            self.store.check_quota(client, media.size, self.quota())
        except QueueFull as exc:
            raise RateLimited(exc.code, exc.message, 60) from exc
        job = self._store(media, client, JobKind.INGEST, params)
        return self._accepted(job)

    def _store(self, media: Media, client: str | None, kind: JobKind = JobKind.VERIFY,
               params: dict[str, Any] | None = None) -> Job:
        """The upload moved under data_dir/jobs and its job row committed, then dispatched."""
        self.dir.mkdir(parents=True, exist_ok=True)
        job_id = new_id("j")
        dest = self.dir / f"{job_id}.{media.extension}"
        # Accepted means durable: the upload is on disk (fsynced) before the job row commits.
        shutil.move(str(media.path), dest)
        _fsync(dest)
        _fsync(self.dir, directory=True)
        try:
            job = self.store.create(media.sha256, media.mime, media.size, str(dest), job_id=job_id,
                                    client=client, quota=self.quota(), kind=kind, params=params)
        except QueueFull as exc:
            dest.unlink(missing_ok=True)
            raise RateLimited(exc.code, exc.message, 60) from exc
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        self._dispatch(job.id)
        return job

    def submit(self, media: Media, client: str | None = None) -> tuple[int, dict[str, Any]]:
        """Blocking. 200 with the cached answer, or 202 with the (new or already running) job; 429 when
        `client` (or everyone together) has too many jobs or bytes waiting."""
        cached = self.store.result(media.sha256, analysis_version(self.services))
        if cached is not None:
            return 200, self._answer(*cached)
        active = self.store.active_for(media.sha256)
        if active is not None:
            return 202, self._accepted(active)
        failed = self.store.last_media_failure(media.sha256)
        if failed is not None:
            raise BadMedia(failed.error_code or "bad_media",
                           f"{failed.error_message} (these bytes were analysed before, in job {failed.id})")
        try:
            self.store.check_quota(client, media.size, self.quota())
        except QueueFull as exc:
            raise RateLimited(exc.code, exc.message, 60) from exc
        return 202, self._accepted(self._store(media, client))

    def _dispatch(self, job_id: str) -> None:
        if self.producer is not None:
            try:
                self.store.set_queue_ref(job_id, self.producer.dispatch(job_id))
            except (RedisError, OSError) as exc:
                log.warning("could not add job %s to the stream (%s); a worker's sweep will", job_id, exc)
        self.wake.set()

    def cached_answer(self, sha256: str) -> dict[str, Any] | None:
        # Only an analysis made with today's detectors and moderated lists: one from before a prohibition
        # must not answer for the bytes now on the list.
        cached = self.store.result(sha256, analysis_version(self.services))
        return self._answer(*cached) if cached else None

    def _answer(self, answer: dict[str, Any], analysed_at: Any) -> dict[str, Any]:
        """A stored analysis with today's registry entry (a moderator may have acted since)."""
        answer = dict(answer)
        registry = self.services.verify.registry_by_sha(str(answer.get("sha256")))
        answer["registry"] = registry
        answer["content_id"] = claimed_content_id(str(answer.get("verdict")), registry, answer.get("manifest"))
        answer["cached"] = True
        answer["analysed_at"] = iso(analysed_at)
        return self.services.verify.with_moderation(answer, registry)

    @staticmethod
    def _accepted(job: Job) -> dict[str, Any]:
        return {"job_id": job.id, "status": job.status, "status_url": f"/v1/jobs/{job.id}",
                "sha256": job.sha256, "progress": job.progress}

    def status(self, job_id: str, viewer: Account | None = None) -> dict[str, Any] | None:
        """None: no such job, or an ingest job `viewer` did not queue (only its platform may read it; verify
        jobs are read by whoever holds the id)."""
        job = self.store.get(job_id)
        if job is None or (job.kind == JobKind.INGEST and (viewer is None or job.client != ingest_job.owner(viewer))):
            return None
        doc: dict[str, Any] = {
            "job_id": job.id, "kind": job.kind, "status": job.status, "progress": round(job.progress, 3),
            "stage": job.stage,
            "status_url": f"/v1/jobs/{job.id}", "sha256": job.sha256, "mime": job.mime, "size": job.size,
            "attempts": job.attempts, "created_at": iso(job.created_at), "started_at": iso(job.started_at),
            "finished_at": iso(job.finished_at), "result": None, "error": None,
        }
        if job.status == JobStatus.DONE and job.kind == JobKind.INGEST:
            doc["result"] = job.result  # the route adds the label document
        elif job.status == JobStatus.DONE:
            cached = self.store.result(job.sha256)
            doc["result"] = self._answer(*cached) if cached else None
            if doc["result"] is not None:
                doc["result"].pop("cached")
        elif job.status == JobStatus.FAILED:
            doc["error"] = {"code": job.error_code, "message": job.error_message}
        return doc
