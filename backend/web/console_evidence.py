"""A reporter's attached file (backend/evidence.py) in the console: a thumbnail for pictures and videos
and the raw file as a download. The file is hostile input: only signed-in staff get either; the raw file
always comes as an attachment, never sniffed, under a sandboxing CSP, so no browser runs what it holds."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from backend import reported_media
from backend.errors import ApiError
from backend.evidence import Evidence, directory
from backend.web import posters
from backend.web.console import _signed_in

RAW_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'none'; sandbox", "Cross-Origin-Resource-Policy": "same-origin"}


async def _attached(request: Request) -> tuple[Evidence, Path]:
    if await _signed_in(request) is None:
        raise ApiError(401, "unauthorized", "sign in to the console first")
    services = request.app.state.services
    case_id = request.path_params["case_id"][:64]
    report_id = request.path_params["report_id"][:64]

    def load() -> tuple[Evidence, Path] | None:
        with services.db.read() as conn:
            return reported_media.report_file(conn, case_id, report_id, services.settings.data_dir)

    found: tuple[Evidence, Path] | None = await services.db.run(load)
    if found is None:
        raise ApiError(404, "not_found", "this report has no stored file")
    return found


async def raw_file(request: Request) -> Response:
    found, path = await _attached(request)
    return FileResponse(path, media_type="application/octet-stream", headers={
        **RAW_HEADERS, "Content-Disposition": f'attachment; filename="{found.name}"'})


async def preview(request: Request) -> Response:
    """A JPEG made by the service from the file (cached by hash beside the evidence), never the file itself."""
    found, path = await _attached(request)
    services = request.app.state.services
    try:
        body = await anyio.to_thread.run_sync(posters.cached, directory(services.settings.data_dir) / "posters",
                                              found.sha256, path, found.mime)
    except posters.PosterUnavailable as exc:
        raise ApiError(422, "no_thumbnail", str(exc)) from exc
    return Response(body, media_type="image/jpeg", headers={**RAW_HEADERS, "Cache-Control": "private, no-store"})


def routes() -> list[Route]:
    base = "/console/cases/{case_id}/reports/{report_id}"
    return [Route(f"{base}/file", raw_file, methods=["GET"]),
            Route(f"{base}/preview.jpg", preview, methods=["GET"])]
