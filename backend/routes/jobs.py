"""GET /v1/jobs/{id}: status, progress and result of a queued verification or ingest.

A verify job's id (80 random bits) is the capability: whoever uploaded the media holds it. An ingest job
answers only the API key of the platform account that queued it (anyone else: 404, as for no job).
"""

from __future__ import annotations

import json
import re

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.accounts import Account, authenticate
from backend.auth import bearer_token
from backend.errors import ApiError
from backend.services import Services
from backend.vocabulary import JobKind

JOB_ID = re.compile(r"^j_[0-9a-f]{20}$")


async def job_status(request: Request) -> Response:
    services: Services = request.app.state.services
    job_id = request.path_params["job_id"]
    viewer = await _viewer(request)
    doc = await services.db.run(services.jobs.status, job_id, viewer) if JOB_ID.match(job_id) else None
    if doc is None:
        raise ApiError(404, "job_not_found", "no such job")
    result = doc.get("result")
    if doc["kind"] == JobKind.INGEST and isinstance(result, dict):
        label = await services.labels.get(str(result["content_id"]))  # today's, as the inline answer has it
        doc["result"] = {**result, "label": json.loads(label) if label is not None else None}
    return JSONResponse(doc, headers={"Cache-Control": "no-store"})


async def _viewer(request: Request) -> Account | None:
    """The API key's account, if any: an ingest job answers only the platform that queued it."""
    services: Services = request.app.state.services
    token = bearer_token(request)
    if token is None:
        return None

    def load() -> Account | None:
        with services.db.read() as conn:
            return authenticate(conn, token)

    return await services.db.run(load)


async def setup(services: Services) -> None:
    services.jobs.start_workers(services.settings.job_workers)


async def teardown(services: Services) -> None:
    await anyio.to_thread.run_sync(services.jobs.close)


def routes() -> list[Route]:
    return [Route("/v1/jobs/{job_id}", job_status, methods=["GET"])]
