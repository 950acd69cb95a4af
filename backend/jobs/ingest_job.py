"""Queued ingest (large video and audio on `POST /v1/ingest`): what the job keeps of the request, and the
analysis child's side, which runs the same `IngestService.ingest` the inline path runs.

The content id is chosen when the job is accepted and kept in its params, and the job is marked done in the
ingest's own registry transaction (`JobStore.complete_ingest`): a worker killed at any point leaves either
nothing registered (the next delivery starts over) or the registration and the finished job together.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from backend import registry
from backend.accounts import Account, check_may_publish, get_account
from backend.domain_errors import Forbidden
from backend.ingest import IngestRequest, IngestResult, IngestService
from backend.jobs.store import Job, JobStore
from backend.media import Media, scratch_dir
from backend.services import Services


def ingest_params(req: IngestRequest, platform: Account) -> dict[str, Any]:
    return {"account_id": platform.id, "content_id": registry.new_content_id(), "uploader": req.uploader,
            "declared_ai": req.declared_ai, "title": req.title, "hosting_urls": list(req.hosting_urls)}


def owner(platform: Account) -> str:
    """The job's `client`: the quota holder and the only reader of an ingest job's result."""
    return f"account:{platform.id}"


def run_ingest(services: Services, job_id: str, media: Media) -> dict[str, Any]:
    """In the analysis child: the ingest, recorded with its job in one transaction; its answer (no label)."""
    store = JobStore(services.db)
    job: Job | None = store.get(job_id)
    if job is None or job.params is None:
        raise Forbidden("job_not_found", f"job {job_id} has no ingest request")
    params = job.params
    with services.db.read() as conn:
        platform = get_account(conn, str(params["account_id"]))
    if platform is None:
        raise Forbidden("account_not_found", "the account that queued this ingest no longer exists")
    check_may_publish(platform)  # suspended since it queued the job: nothing is published
    req = IngestRequest(uploader=str(params["uploader"]), declared_ai=bool(params["declared_ai"]),
                        title=params.get("title"), hosting_urls=[str(u) for u in params.get("hosting_urls") or []])

    def done(conn: Connection, result: IngestResult) -> None:
        store.complete_ingest(conn, job_id, result.answer(media.extension))

    ingester = IngestService(services.signing, services.verify)
    with scratch_dir(services.settings.data_dir / "tmp") as work:
        result = ingester.ingest(media, req, platform, work, str(params["content_id"]), done)
    return result.answer(media.extension)
