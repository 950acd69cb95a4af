"""Health checks, hosted media and the OpenAPI document."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from backend.errors import ApiError

MEDIA_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]{2,39})\.([a-z0-9]{2,5})$")


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
    except ApiError:
        db = False
    redis = await services.cache.ping()
    status = 200 if db else 503
    return JSONResponse({"database": db, "redis": redis}, status_code=status)


async def media(request: Request) -> Response:
    """Signed media kept by the embedded store, so a publisher can host it here directly."""
    services = request.app.state.services
    match = MEDIA_NAME.match(request.path_params["name"])
    if not match:
        raise ApiError(404, "not_found", "no such media")
    path = (services.settings.data_dir / "media" / match.group(0)).resolve()
    if path.parent != (services.settings.data_dir / "media").resolve() or not path.is_file():
        raise ApiError(404, "not_found", "no such media")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"})


async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


def routes() -> list[Route]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/media/{name}", media, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    ]
