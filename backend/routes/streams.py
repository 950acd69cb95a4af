"""Streams as content: POST /v1/streams, GET /v1/streams/{id}, PATCH /v1/streams/{id} (the declaration)."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.accounts import check_may_publish
from backend.auth import current_account
from backend.json_body import read_json_object
from backend.settings import Settings
from backend.store.db import utcnow
from backend.streams import registration
from backend.streams.queue import MonitorQueue
from backend.vocabulary import Role

log = logging.getLogger(__name__)
STAFF = (Role.ADMIN, Role.MODERATOR, Role.AUDITOR)


def _dispatch(settings: Settings, content_id: str) -> None:
    if not settings.redis_url:
        log.warning("stream %s registered without REDIS_URL: no monitor will watch it", content_id)
        return
    queue = MonitorQueue(settings)
    try:
        queue.dispatch(content_id)
    except (RedisError, OSError) as exc:  # the monitors' sweep dispatches it later
        log.warning("stream %s not dispatched to the monitors (%s)", content_id, type(exc).__name__)
    finally:
        queue.close()


async def create_stream(request: Request) -> Response:
    services = request.app.state.services
    account = await current_account(request)
    check_may_publish(account)
    req = registration.parse(await read_json_object(request))
    source_uri = services.data.source_uri(str(registration.DECLARED[req.declaration]["source_type"]))

    def save() -> dict[str, Any]:
        with services.db.tx() as conn:
            return registration.create(conn, req, account.id, account.name, source_uri, utcnow())

    view = await services.db.run(save)
    await services.db.run(_dispatch, services.settings, view["content_id"])
    return JSONResponse(view, status_code=201)


async def get_stream(request: Request) -> Response:
    services = request.app.state.services
    account = await current_account(request)
    content_id = request.path_params["content_id"][:64]

    def load() -> dict[str, Any]:
        with services.db.read() as conn:
            registration.owned(conn, content_id, None if account.role in STAFF else account.id)
            return registration.view(conn, content_id)

    return JSONResponse(await services.db.run(load))


async def change_declaration(request: Request) -> Response:
    services = request.app.state.services
    account = await current_account(request)
    check_may_publish(account)
    content_id = request.path_params["content_id"][:64]
    declaration = registration.parse_declaration((await read_json_object(request)).get("declaration"))
    source_uri = services.data.source_uri(str(registration.DECLARED[declaration]["source_type"]))

    def save() -> dict[str, Any]:
        with services.db.tx() as conn:
            return registration.declare(conn, content_id, account.id, declaration, source_uri, utcnow())

    view = await services.db.run(save)
    await services.labels.invalidate(content_id)  # players see it at their next refresh
    return JSONResponse(view)


def routes() -> list[Route]:
    return [
        Route("/v1/streams", create_stream, methods=["POST"]),
        Route("/v1/streams/{content_id}", get_stream, methods=["GET"]),
        Route("/v1/streams/{content_id}", change_declaration, methods=["PATCH"]),
    ]
