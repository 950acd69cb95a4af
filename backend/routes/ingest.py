"""POST /v1/ingest: a platform's upload path (publisher API key): check, tier, label, propagate, register.
Large media is queued (202 + job, `GET /v1/jobs/{id}` by the same account)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.accounts import check_may_publish
from backend.auth import current_account
from backend.errors import ApiError
from backend.ingest import IngestRequest, IngestService
from backend.media import scratch_dir
from backend.services import Services
from backend.uploads import flag, read_form


def service(services: Services) -> IngestService:
    return IngestService(services.signing, services.verify)


async def ingest(request: Request) -> Response:
    services: Services = request.app.state.services
    account = await current_account(request)
    check_may_publish(account)
    ingester = service(services)
    with scratch_dir(services.settings.data_dir / "tmp") as work:
        upload, fields = await read_form(request, work)
        if upload is None:
            raise ApiError(400, "missing_file", "the multipart body needs a `file` part")
        req = IngestRequest(
            uploader=fields.get("uploader", "").strip(),
            declared_ai=bool(flag(fields, "declared_ai")),
            title=fields.get("title") or None,
            hosting_urls=[u.strip() for u in fields.get("hosting_urls", "").split(",") if u.strip()],
        )
        ingester.validate(req)
        media = await services.db.run(services.media.inspect, upload.path, upload.sha256)
        if services.jobs.should_queue(media):
            # Large video and audio: stored durably, ingested by a worker (same code path); 202 + job.
            accepted = await services.db.run(services.jobs.submit_ingest, media, req, account)
            return JSONResponse(accepted, status_code=202, headers={"Location": accepted["status_url"]})
        result = await services.db.run(ingester.ingest, media, req, account, work)
    label = await services.labels.get(result.content_id)
    body = {**result.answer(media.extension), "label": json.loads(label) if label is not None else None}
    return JSONResponse(body, status_code=201, headers={"Location": f"/v1/labels/{result.content_id}",
                                                         "X-Content-Id": result.content_id})


def routes() -> list[Route]:
    return [Route("/v1/ingest", ingest, methods=["POST"])]
