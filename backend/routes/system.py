"""Health checks, hosted media and the OpenAPI document."""

from __future__ import annotations

import json
import re

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from backend import registry
from backend.domain_errors import DomainError
from backend.errors import ApiError

MEDIA_NAME = re.compile(rf"^({registry.CONTENT_ID_PATTERN})\.([a-z0-9]{{2,5}})$")


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    services = request.app.state.services

    def db_ok() -> bool:
        with services.db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True

    try:
        db = await services.db.run(db_ok)
    except DomainError:
        db = False
    redis = await services.cache.ping()
    status = 200 if db else 503
    return JSONResponse({"database": db, "redis": redis}, status_code=status)


# What /media/ answers instead of the file while a moderator's decision stops its transmission (Art. 12).
STOPPED = {
    "blocked": ("content_blocked", "a moderator blocked this media; it is no longer served"),
    "pending_label": ("content_paused", "transmission of this media is paused until it is labelled"),
}


async def media(request: Request) -> Response:
    """Signed media kept by the embedded store, so a publisher can host it here directly."""
    services = request.app.state.services
    match = MEDIA_NAME.match(request.path_params["name"])
    if not match:
        raise ApiError(404, "not_found", "no such media")
    path = (services.settings.data_dir / "media" / match.group(0)).resolve()
    if path.parent != (services.settings.data_dir / "media").resolve() or not path.is_file():
        raise ApiError(404, "not_found", "no such media")
    doc = await services.labels.get(match.group(1))  # the cached label document: state in one cache read
    if doc is None:
        raise ApiError(404, "not_found", "no such media")
    state = json.loads(doc).get("state")
    if state in STOPPED:
        code, message = STOPPED[state]
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=451, headers={
            "Cache-Control": "no-store", "Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"})
    # A short cache: a block must reach browsers and CDNs within a minute, not an hour.
    return FileResponse(path, headers={"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*",
                                       "X-Content-Type-Options": "nosniff"})


async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


def routes() -> list[Route]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/media/{name}", media, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    ]
