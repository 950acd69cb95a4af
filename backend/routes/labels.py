"""GET /v1/labels/{content_id} and GET /v1/labels?src=…: the label document the player plugin reads."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend import registry, registry_urls
from backend.errors import ApiError


def _respond(request: Request, body: bytes, max_age: int) -> Response:
    etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age}",
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "ETag",
        "Vary": "Origin",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


async def label_by_id(request: Request) -> Response:
    services = request.app.state.services
    content_id = request.path_params["content_id"]
    if len(content_id) > registry.LOOKUP_ID_MAX:
        raise ApiError(400, "invalid_content_id", "content id too long")
    body = await services.labels.get(content_id)
    if body is None:
        raise ApiError(404, "unknown_content", "no label for this content id")
    return _respond(request, body, services.settings.label_cache_seconds)


MAX_SOURCES = 8


async def label_by_src(request: Request) -> Response:
    """`?src=` once, or up to 8 times for one element's candidate URLs (an image's `currentSrc`, its `src`
    and `srcset` entries): the first that resolves wins."""
    services = request.app.state.services
    sources = request.query_params.getlist("src")
    if not sources or len(sources) > MAX_SOURCES or any(not s or len(s) > 2000 for s in sources):
        raise ApiError(400, "invalid_src", f"give the media URL as ?src= (up to {MAX_SOURCES} times, most "
                       "specific first), each at most 2000 characters")
    own = registry_urls.own_origins(services.settings.public_url, str(request.base_url))
    content_id = None
    for src in dict.fromkeys(sources):
        content_id = await services.labels.resolve_src(src, own)
        if content_id:
            break
    body = await services.labels.get(content_id) if content_id else None
    return _respond(request, body or services.labels.unknown(), services.settings.label_cache_seconds)


def routes() -> list[Route]:
    return [
        Route("/v1/labels", label_by_src, methods=["GET"]),
        Route("/v1/labels/{content_id}", label_by_id, methods=["GET"]),
    ]
