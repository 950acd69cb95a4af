"""POST /v1/reports (public, cross-origin from the player plugin), GET /v1/reports/{id} for the reporter,
and the reporter's follow page /reports/{id}."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend import registry_urls, reports
from backend.auth import bearer_token
from backend.domain_errors import DomainError, RateLimited
from backend.errors import ApiError, headers_of, status_of
from backend.json_body import read_json
from backend.limits import client_address, client_bucket, rate_limit_key
from backend.vocabulary import ReportStatus
from backend.web.pages import render

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Max-Age": "600",
}
HOUR = 3600


def _cors(response: Response) -> Response:
    response.headers.update(CORS)
    return response


async def preflight(_request: Request) -> Response:
    return Response(status_code=204, headers=CORS)


async def _json_body(request: Request) -> Any:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype not in ("application/json", "text/plain"):
        raise ApiError(415, "unsupported_media_type", "send the report as application/json")
    return await read_json(request, limit=reports.MAX_BODY_BYTES)


# Shown inside the player's report dialog, which is often Chinese: the message carries both languages.
REPORT_LIMIT_MESSAGE = ("举报过于频繁，请稍后再试（约一小时）。"
                        "Too many reports from your network; please try again later (about an hour).")


async def submit(request: Request) -> Response:
    services = request.app.state.services
    settings = services.settings
    try:
        rep = reports.parse(await _json_body(request))
        await rate_limit_key(request, f"report:{client_bucket(request)}", settings.report_rate_per_hour, HOUR,
                             REPORT_LIMIT_MESSAGE)

        def resolve() -> Any:
            with services.db.read() as conn:
                return reports.resolve_content(
                    conn, rep, registry_urls.own_origins(settings.public_url, str(request.base_url)))

        content = await services.db.run(resolve)
        per_content = await services.cache.hit("report-target:" + reports.target_key(rep, content), HOUR)
        if per_content > settings.report_rate_per_content_hour:
            raise RateLimited("content_report_limit",
                              "该内容近一小时已收到大量举报，已在处理队列中，请稍后再试。"
                              "This media has had very many reports in the last hour and is already queued; "
                              "try again later", HOUR)
        client = reports.client_digest(settings.secret_key.get_secret_value(), client_address(request))

        def store() -> reports.Receipt:
            with services.db.tx() as conn:
                return reports.create(conn, rep, client, content)

        # Committed (with its audit entry) before we answer: a 201 is never lost.
        receipt = await services.db.run(store)
    except DomainError as exc:
        raise _cors_error(exc) from exc
    return _cors(JSONResponse({
        "id": receipt.id,
        "secret": receipt.secret,
        "status": ReportStatus.RECEIVED,
        "case_id": receipt.case_id,
        "status_url": f"/v1/reports/{receipt.id}",
        # The secret travels in the fragment, which browsers never send to servers.
        "follow_url": f"/reports/{receipt.id}#secret={receipt.secret}",
    }, status_code=201, headers={"Location": f"/v1/reports/{receipt.id}"}))


def _cors_error(exc: DomainError) -> ApiError:
    """The same error with the CORS headers: cross-origin callers must be able to read it too."""
    return ApiError(status_of(exc), exc.code, exc.message, {**CORS, **headers_of(exc)})


def _secret(request: Request) -> str:
    secret = bearer_token(request) or request.query_params.get("secret", "")
    if not secret:
        raise ApiError(401, "secret_required", "give the report's secret as `Authorization: Bearer …` or ?secret=",
                       {**CORS, "WWW-Authenticate": "Bearer"})
    return secret[:200]


async def status(request: Request) -> Response:
    services = request.app.state.services
    report_id = request.path_params["report_id"][:64]
    secret = _secret(request)

    def load() -> dict[str, Any]:
        with services.db.read() as conn:
            return reports.reporter_view(conn, report_id, secret)

    try:
        view = await services.db.run(load)
    except DomainError as exc:
        raise _cors_error(exc) from exc
    return _cors(JSONResponse(view, headers={"Cache-Control": "no-store"}))


async def follow_page(request: Request) -> Response:
    """The reporter's page. Its own form POSTs the access code (never in a URL, so never in logs, history
    or a Referer); a link with #secret= is read by follow.js; ?secret= still works for old links."""
    services = request.app.state.services
    report_id = request.path_params["report_id"][:64]
    if request.method == "POST":
        form = await request.form()
        sent = form.get("secret", "")
        secret = (sent if isinstance(sent, str) else "")[:200]
    else:
        secret = request.query_params.get("secret", "")[:200]
    view = None
    if secret:
        def load() -> dict[str, Any] | None:
            with services.db.read() as conn:
                try:
                    return reports.reporter_view(conn, report_id, secret)
                except DomainError:
                    return None

        view = await services.db.run(load)
    return render("follow.html", status=200 if view or not secret else 404, report_id=report_id, view=view,
                  wrong_secret=bool(secret) and view is None)


def routes() -> list[Route]:
    return [
        Route("/v1/reports", submit, methods=["POST"]),
        Route("/v1/reports", preflight, methods=["OPTIONS"]),
        Route("/v1/reports/{report_id}", status, methods=["GET"]),
        Route("/v1/reports/{report_id}", preflight, methods=["OPTIONS"]),
        Route("/reports/{report_id}", follow_page, methods=["GET", "POST"]),
    ]
