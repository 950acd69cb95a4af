"""POST /v1/check: a GB 45438-2025 conformance report of an uploaded file (public, like /v1/verify)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.errors import ApiError
from backend.implicit_label.conformance import check as conformance
from backend.limits import rate_limit
from backend.media import scratch_dir
from backend.services import Services
from backend.uploads import read_form


async def check(request: Request) -> Response:
    services: Services = request.app.state.services
    await rate_limit(request, "check", services.settings.verify_rate_per_minute, 60)
    with scratch_dir(services.settings.data_dir / "tmp") as work:
        upload, _ = await read_form(request, work)
        if upload is None:
            raise ApiError(400, "missing_file", "the multipart body needs a `file` part")
        media = await services.db.run(services.media.inspect, upload.path, upload.sha256)
        report = await services.db.run(conformance, media, services.reader, services.data, services.identity)
    return JSONResponse(report)


def routes() -> list[Route]:
    return [Route("/v1/check", check, methods=["POST"])]
