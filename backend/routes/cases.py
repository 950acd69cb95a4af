"""The moderators' queue and case actions: GET /v1/cases, GET /v1/cases/{id}, POST /v1/cases/{id}/actions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend import cases, moderation
from backend.auth import require_role
from backend.errors import ApiError
from backend.json_body import read_json_object
from backend.routes.params import MAX_OFFSET, query_int
from backend.streams import registration as stream_registration
from backend.vocabulary import CaseOrigin, CaseStatus, Role

READERS = (Role.MODERATOR, Role.ADMIN, Role.AUDITOR)
ACTORS = (Role.MODERATOR, Role.ADMIN)
STATUSES = ("pending", *CaseStatus, "all")  # "pending" is open or acknowledged


async def queue(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, *READERS)
    status = request.query_params.get("status", "pending")
    if status not in STATUSES:
        raise ApiError(400, "invalid_status", f"status must be one of {', '.join(STATUSES)}")
    limit = query_int(request, "limit", 100, 1, 500)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    origin_param = request.query_params.get("origin")
    if origin_param is not None and origin_param not in tuple(CaseOrigin):
        raise ApiError(400, "invalid_origin", f"origin must be one of {', '.join(CaseOrigin)}")
    origin = CaseOrigin(origin_param) if origin_param else None
    settings = services.settings

    def load() -> list[dict[str, Any]]:
        with services.db.read() as conn:
            return cases.queue(conn, settings.case_ack_hours, settings.case_decide_hours, status, limit, offset,
                               origin)

    items = await services.db.run(load)
    return JSONResponse({"cases": items, "service_levels": {
        "acknowledge_hours": settings.case_ack_hours, "decide_hours": settings.case_decide_hours}})


async def case_detail(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, *READERS)
    case_id = request.path_params["case_id"][:64]
    settings = services.settings

    def load() -> dict[str, Any]:
        with services.db.read() as conn:
            found = cases.detail(conn, case_id, settings.case_ack_hours, settings.case_decide_hours)
            # The stream monitor's evidence (segment, time, scores, match) for a case it opened or fed.
            found["stream_notes"] = stream_registration.notes_of_case(conn, case_id)
            return found

    return JSONResponse(await services.db.run(load))


async def case_action(request: Request) -> Response:
    services = request.app.state.services
    account = await require_role(request, *ACTORS)
    case_id = request.path_params["case_id"][:64]
    req = cases.parse_action(await read_json_object(request))
    event = await moderation.perform(services, case_id, req, account.id)
    return JSONResponse(event, status_code=201)


async def setup(services: Any) -> None:
    await moderation.start(services)


async def teardown(services: Any) -> None:
    await moderation.close(services)


def routes() -> list[Route]:
    return [
        Route("/v1/cases", queue, methods=["GET"]),
        Route("/v1/cases/{case_id}", case_detail, methods=["GET"]),
        Route("/v1/cases/{case_id}/actions", case_action, methods=["POST"]),
    ]
