"""GET /v1/jobs/{id}: status, progress and result of a queued verification.

The job id (80 random bits) is the capability: whoever uploaded the media holds it.
"""

from __future__ import annotations

import re
from typing import Any

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


_JOB: dict[str, Any] = {
    "type": "object",
    "required": ["job_id", "status", "progress", "status_url"],
    "properties": {
        "job_id": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
        "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "stage": {"type": ["string", "null"],
                  "description": "queued, claimed, probe, provenance, provenance_read, detectors (or a detector's "
                                 "own stage), verdict, done, failed"},
        "status_url": {"type": "string"},
        "sha256": {"type": "string"},
        "mime": {"type": "string"},
        "size": {"type": "integer"},
        "attempts": {"type": "integer", "description": "deliveries to a worker so far"},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "started_at": {"type": ["string", "null"], "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "result": {"type": ["object", "null"], "description": "when done: the same answer as a synchronous "
                                                              "POST /v1/verify, plus analysis_version and analysed_at"},
        "error": {"type": ["object", "null"], "properties": {"code": {"type": "string"},
                                                             "message": {"type": "string"}}},
    },
}

ACCEPTED: dict[str, Any] = {
    "type": "object",
    "required": ["job_id", "status", "status_url"],
    "properties": {
        "job_id": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "running"]},
        "status_url": {"type": "string"},
        "sha256": {"type": "string"},
        "progress": {"type": "number"},
    },
}

OPENAPI = {
    "/v1/jobs/{job_id}": {
        "get": {
            "summary": "Status, progress and result of a queued verification",
            "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "the job", "content": {"application/json": {"schema": _JOB}}},
                "404": {"$ref": "#/components/responses/Error"},
            },
        }
    }
}
