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

READERS = ("moderator", "admin", "auditor")
ACTORS = ("moderator", "admin")
STATUSES = ("pending", "open", "acknowledged", "decided", "all")


async def queue(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, *READERS)
    status = request.query_params.get("status", "pending")
    if status not in STATUSES:
        raise ApiError(400, "invalid_status", f"status must be one of {', '.join(STATUSES)}")
    limit = query_int(request, "limit", 100, 1, 500)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    settings = services.settings

    def load() -> list[dict[str, Any]]:
        with services.db.read() as conn:
            return cases.queue(conn, settings.case_ack_hours, settings.case_decide_hours, status, limit, offset)

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
            return cases.detail(conn, case_id, settings.case_ack_hours, settings.case_decide_hours)

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


_ERR = {"$ref": "#/components/responses/Error"}
_ID = [{"name": "case_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}]
_OBJ = {"application/json": {"schema": {"type": "object"}}}
OPENAPI = {
    "/v1/cases": {"get": {
        "summary": "The moderation queue: most severe, then oldest first, with service levels and overdue flags",
        "security": [{"bearer": []}],
        "parameters": [
            {"name": "status", "in": "query", "required": False, "schema": {"type": "string", "enum": list(STATUSES)}},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
            {"name": "offset", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}}],
        "responses": {"200": {"description": "queue", "content": _OBJ}, "400": _ERR, "401": _ERR, "403": _ERR}}},
    "/v1/cases/{case_id}": {"get": {
        "summary": "A case: its reports, actions, content and publisher", "security": [{"bearer": []}],
        "parameters": _ID,
        "responses": {"200": {"description": "case", "content": _OBJ}, "401": _ERR, "403": _ERR, "404": _ERR}}},
    "/v1/cases/{case_id}/actions": {"post": {
        "summary": "Act on a case, with a statement of reasons", "security": [{"bearer": []}],
        "parameters": _ID,
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["action"], "properties": {
                "action": {"type": "string", "enum": list(cases.ACTIONS)},
                "reasons": {"type": "string", "minLength": cases.MIN_REASONS, "maxLength": cases.MAX_REASONS},
                "refutation": {"type": "object", "properties": {
                    "zh": {"type": "string", "maxLength": 500}, "en": {"type": "string", "maxLength": 500},
                    "url": {"type": "string", "maxLength": 2000}}}}}}}},
        "responses": {"201": {"description": "done; the event sent to the publisher", "content": _OBJ},
                      "400": _ERR, "401": _ERR, "403": _ERR, "404": _ERR, "409": _ERR}}},
}
