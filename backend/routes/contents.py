"""The content registry as its publisher sees it: entries and the hosting URLs players will look up."""

from __future__ import annotations

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend import audit, registry, registry_urls
from backend.accounts import Account, check_may_publish
from backend.api_models import UrlsIn, parse_body
from backend.auth import current_account
from backend.errors import ApiError
from backend.json_body import read_json_object
from backend.routes.params import MAX_OFFSET, query_int
from backend.store.db import utcnow
from backend.verification.service import registry_entry
from backend.vocabulary import Role

STAFF = (Role.ADMIN, Role.MODERATOR, Role.AUDITOR)


def _owned(conn: Connection, content_id: str, account: Account) -> registry.Content:
    row = registry.by_id(conn, content_id)
    # A publisher sees only its own content; to others it does not exist.
    if row is None or (account.role not in STAFF and row.publisher_id != account.id):
        raise ApiError(404, "unknown_content", "no such content")
    return row


async def get_content(request: Request) -> Response:
    services = request.app.state.services
    account = await current_account(request)
    content_id = request.path_params["content_id"][:64]

    def load() -> dict[str, object]:
        with services.db.read() as conn:
            row = _owned(conn, content_id, account)
            return {**registry_entry(row), "hosting_urls": registry_urls.listed(conn, content_id)}

    return JSONResponse(await services.db.run(load))


async def list_contents(request: Request) -> Response:
    """A publisher's own registry entries (staff see everyone's), newest first."""
    services = request.app.state.services
    account = await current_account(request)
    limit = query_int(request, "limit", 100, 1, 500)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)

    def load() -> list[dict[str, object]]:
        with services.db.read() as conn:
            mine = None if account.role in STAFF else account.id
            return [registry_entry(r) for r in registry.listing(conn, mine, limit, offset)]

    return JSONResponse({"contents": await services.db.run(load)})


async def add_urls(request: Request) -> Response:
    services = request.app.state.services
    account = await current_account(request)
    content_id = request.path_params["content_id"][:64]
    urls = parse_body(UrlsIn, await read_json_object(request)).urls
    parsed = registry_urls.parse_all(urls)

    def save() -> None:
        with services.db.tx() as conn:
            row = _owned(conn, content_id, account)
            if account.role != Role.PUBLISHER or row.publisher_id != account.id:
                raise ApiError(403, "forbidden", "only the publishing account registers hosting URLs")
            check_may_publish(account)  # a suspended or closed account publishes nothing new
            registry.refuse_blocked(conn, row.hashes, "no hosting URLs can be registered for it")
            registry_urls.register(conn, content_id, account.id, parsed, utcnow())
            audit.append(conn, account.id, "content.urls_added", content_id, {"urls": [u.shown for u in parsed]})

    await services.db.run(save)
    return JSONResponse({"content_id": content_id, "added": len(urls)}, status_code=201)


def routes() -> list[Route]:
    return [
        Route("/v1/contents", list_contents, methods=["GET"]),
        Route("/v1/contents/{content_id}", get_content, methods=["GET"]),
        Route("/v1/contents/{content_id}/urls", add_urls, methods=["POST"]),
    ]
