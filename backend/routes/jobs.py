"""GET /v1/jobs/{id}: status, progress and result of a queued verification.

The job id (80 random bits) is the capability: whoever uploaded the media holds it.
"""

from __future__ import annotations

import re

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.errors import ApiError
from backend.services import Services

JOB_ID = re.compile(r"^j_[0-9a-f]{20}$")


async def job_status(request: Request) -> Response:
    services: Services = request.app.state.services
    job_id = request.path_params["job_id"]
    doc = await services.db.run(services.jobs.status, job_id) if JOB_ID.match(job_id) else None
    if doc is None:
        raise ApiError(404, "job_not_found", "no such job")
    return JSONResponse(doc, headers={"Cache-Control": "no-store"})


async def setup(services: Services) -> None:
    services.jobs.start_workers(services.settings.job_workers)


async def teardown(services: Services) -> None:
    await anyio.to_thread.run_sync(services.jobs.close)


def routes() -> list[Route]:
    return [Route("/v1/jobs/{job_id}", job_status, methods=["GET"])]
