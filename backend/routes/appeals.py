"""Appeals: POST /v1/appeals (a publisher, by API key or notice token), GET /v1/decisions/{id} (the
statement of reasons), GET /v1/appeals/{id}, POST /v1/appeals/{id}/decision (a different moderator), and
POST /v1/reports/{id}/contest (a reporter contests a dismissal)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend import appeals, moderation
from backend.auth import bearer_token, current_account, require_role
from backend.domain_errors import DomainError, Forbidden, InvalidInput
from backend.errors import ApiError
from backend.json_body import read_json_object
from backend.routes.reports import CORS, _cors, _cors_error, _json_body, _secret
from backend.vocabulary import Role

READERS = (Role.MODERATOR, Role.ADMIN, Role.AUDITOR)
ACTORS = (Role.MODERATOR, Role.ADMIN)
TOKEN_HEADER = "x-avlabel-notice-token"  # noqa: S105 - a header name, not a secret
MAX_DECISION_ID = 2**62


def decision_id_of(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise InvalidInput("invalid_decision_id", "`decision_id` must be the decision's number")
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput("invalid_decision_id", "`decision_id` must be the decision's number") from None
    if not 0 < value < MAX_DECISION_ID:
        raise InvalidInput("invalid_decision_id", "`decision_id` must be the decision's number")
    return value


async def appellant(request: Request, decision_id: int, token: str | None) -> str:
    """The publisher: by its API key (also while suspended), or by the notice link's token."""
    services = request.app.state.services
    if token:
        secret = services.settings.secret_key.get_secret_value()

        def check() -> str:
            with services.db.read() as conn:
                return appeals.check_link(conn, secret, decision_id, token[:100])

        account_id: str = await services.db.run(check)
        return account_id
    if bearer_token(request) is None:
        raise ApiError(401, "unauthenticated", "give the publisher's API key or the notice link's token",
                       {"WWW-Authenticate": "Bearer"})
    account = await current_account(request, allow_inactive=True)
    return account.id


async def file_appeal(request: Request) -> Response:
    services = request.app.state.services
    body = await read_json_object(request)
    decision_id = decision_id_of(body.get("decision_id"))
    grounds = appeals.parse_grounds(body)
    token = body.get("token")
    account_id = await appellant(request, decision_id, token if isinstance(token, str) else None)

    def store() -> dict[str, Any]:
        with services.db.tx() as conn:
            return appeals.file_publisher(conn, decision_id, account_id, grounds, services.settings.appeal_days)

    appeal = await services.db.run(appeals.once, store)
    return JSONResponse(appeal, status_code=201, headers={"Location": f"/v1/appeals/{appeal['id']}"})


async def decision_view(request: Request) -> Response:
    services = request.app.state.services
    decision_id = decision_id_of(request.path_params["decision_id"][:20])
    account_id = await appellant(request, decision_id, request.headers.get(TOKEN_HEADER))

    def load() -> dict[str, Any]:
        with services.db.read() as conn:
            if account_id != appeals.publisher_of(conn, decision_id):
                raise Forbidden("not_your_decision", "this decision is not about your content or account")
            return appeals.decision_view(conn, decision_id, account_id, services.settings.appeal_days)

    return JSONResponse(await services.db.run(load), headers={"Cache-Control": "no-store"})


async def appeal_detail(request: Request) -> Response:
    services = request.app.state.services
    account = await current_account(request, allow_inactive=True)
    appeal_id = request.path_params["appeal_id"][:64]

    def load() -> dict[str, Any]:
        with services.db.read() as conn:
            out = appeals.detail(conn, appeal_id)
            if account.role not in READERS and out["appellant_kind"] == "publisher" \
                    and appeals.publisher_of(conn, out["decision_id"]) != account.id:
                raise Forbidden("not_your_appeal", "this appeal is not yours")
            if account.role not in READERS:
                out.pop("original_actor", None)
                out.pop("decided_by", None)
            return out

    return JSONResponse(await services.db.run(load))


async def decide(request: Request) -> Response:
    services = request.app.state.services
    account = await require_role(request, *ACTORS)
    appeal_id = request.path_params["appeal_id"][:64]
    decision = appeals.parse_decision(await read_json_object(request))
    event = await moderation.decide_appeal(services, appeal_id, decision, account.id)
    return JSONResponse(event, status_code=201)


async def contest(request: Request) -> Response:
    services = request.app.state.services
    report_id = request.path_params["report_id"][:64]
    try:
        secret = _secret(request)
        body = await _json_body(request)
        grounds = appeals.parse_grounds(body)

        def store() -> dict[str, Any]:
            with services.db.tx() as conn:
                return appeals.file_reporter(conn, report_id, secret, grounds, services.settings.appeal_days)

        appeal = await services.db.run(appeals.once, store)
    except DomainError as exc:
        raise _cors_error(exc) from exc
    return _cors(JSONResponse(appeal, status_code=201))


async def contest_preflight(_request: Request) -> Response:
    return Response(status_code=204, headers=CORS)


def routes() -> list[Route]:
    return [
        Route("/v1/appeals", file_appeal, methods=["POST"]),
        Route("/v1/appeals/{appeal_id}", appeal_detail, methods=["GET"]),
        Route("/v1/appeals/{appeal_id}/decision", decide, methods=["POST"]),
        Route("/v1/decisions/{decision_id}", decision_view, methods=["GET"]),
        Route("/v1/reports/{report_id}/contest", contest, methods=["POST"]),
        Route("/v1/reports/{report_id}/contest", contest_preflight, methods=["OPTIONS"]),
    ]
