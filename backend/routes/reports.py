"""POST /v1/reports (public, cross-origin from the player plugin), GET /v1/reports/{id} for the reporter,
and the reporter's follow page /reports/{id}."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend import appeals, evidence, registry_urls, report_form, reports
from backend.auth import bearer_token
from backend.domain_errors import DomainError, InvalidInput, RateLimited
from backend.errors import ApiError, headers_of, status_of
from backend.json_body import read_json
from backend.limits import client_address, client_bucket, rate_limit_key
from backend.media import scratch_dir
from backend.uploads import Upload, read_form
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
        raise ApiError(415, "unsupported_media_type",
                       "send the report as application/json, or as multipart/form-data with a `file`")
    return await read_json(request, limit=reports.MAX_BODY_BYTES)


# Shown inside the player's report dialog, which is often Chinese: the message carries both languages.
REPORT_LIMIT_MESSAGE = ("举报过于频繁，请稍后再试（约一小时）。"
                        "Too many reports from your network; please try again later (about an hour).")


async def _limit_client(request: Request) -> None:
    settings = request.app.state.services.settings
    await rate_limit_key(request, f"report:{client_bucket(request)}", settings.report_rate_per_hour, HOUR,
                         REPORT_LIMIT_MESSAGE)


def _multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def submit(request: Request) -> Response:
    services = request.app.state.services
    try:
        if _multipart(request):
            # Counted before the body is read: a file costs disk even when the report is then refused.
            await _limit_client(request)
            with scratch_dir(services.settings.data_dir / "tmp") as work:
                upload, fields = await read_form(request, work)
                rep, attached = await _with_file(services, report_form.body(fields), upload)
                receipts = await _store(request, rep, attached, upload.path if upload else None)
        else:
            rep, attached = reports.parse(await _json_body(request)), None
            await _limit_client(request)
            receipts = await _store(request, rep, None, None)
    except DomainError as exc:
        raise _cors_error(exc) from exc
    receipt = receipts[0]
    return _cors(JSONResponse({
        "id": receipt.id,
        "secret": receipt.secret,
        "status": ReportStatus.RECEIVED,
        "case_id": receipt.case_id,
        "status_url": f"/v1/reports/{receipt.id}",
        # The secret travels in the fragment, which browsers never send to servers.
        "follow_url": f"/reports/{receipt.id}#secret={receipt.secret}",
        # Every item's own report and case (the first is this report); they share the secret.
        "items": [{"id": r.id, "case_id": r.case_id, "status_url": f"/v1/reports/{r.id}"} for r in receipts],
        "attachment": {k: v for k, v in attached.details().items() if k != "file"} if attached else None,
    }, status_code=201, headers={"Location": f"/v1/reports/{receipt.id}"}))


async def _with_file(services: Any, body: dict[str, Any], upload: Upload | None
                     ) -> tuple[reports.ReportInput, evidence.Evidence | None]:
    """The report of a multipart body: the file, when there is one, is the report's own media (its hash the
    report's `sha256`); only media types avlabel handles are taken, sniffed from the bytes."""
    if upload is None:
        return reports.parse(body), None
    given = body.get("sha256")
    if isinstance(given, str) and given.strip() and given.strip().lower() != upload.sha256:
        raise InvalidInput("sha256_mismatch", "`sha256` differs from the SHA-256 of the attached `file`; "
                                              "leave `sha256` out or send the file it names")
    rep = reports.parse({**body, "sha256": upload.sha256})
    media = await services.db.run(services.media.inspect, upload.path, upload.sha256)
    return rep, evidence.Evidence.of(media)


async def _store(request: Request, rep: reports.ReportInput, attached: evidence.Evidence | None,
                 upload: Path | None) -> list[reports.Receipt]:
    services = request.app.state.services
    settings = services.settings
    own = registry_urls.own_origins(settings.public_url, str(request.base_url))
    items = rep.each()

    def resolve() -> list[Any]:
        with services.db.read() as conn:
            return [reports.resolve_content(conn, item, own) for item in items]

    contents = await services.db.run(resolve)
    for item, content in zip(items, contents, strict=True):
        per_content = await services.cache.hit("report-target:" + reports.target_key(item, content), HOUR)
        if per_content > settings.report_rate_per_content_hour:
            raise RateLimited("content_report_limit",
                              "该内容近一小时已收到大量举报，已在处理队列中，请稍后再试。"
                              "This media has had very many reports in the last hour and is already queued; "
                              "try again later", HOUR)
    client = reports.client_digest(settings.secret_key.get_secret_value(), client_address(request))

    def insert() -> list[reports.Receipt]:
        # One transaction: every item of the report is stored (each folded into its own case), or none.
        with services.db.tx() as conn:
            first = reports.create(conn, items[0], client, contents[0],
                                   evidence=attached.details() if attached else None)
            return [first, *(reports.create(conn, item, client, content, first.secret, first.id)
                             for item, content in zip(items[1:], contents[1:], strict=True))]

    def store() -> list[reports.Receipt]:
        if attached is None or upload is None:
            return insert()
        # The file is in the evidence store before the report naming it commits, and gone if it does not.
        with evidence.kept(settings.data_dir, upload, attached):
            return insert()

    # Committed (with its audit entries) before we answer: a 201 is never lost.
    receipts: list[reports.Receipt] = await services.db.run(store)
    return receipts


def _cors_error(exc: DomainError) -> ApiError:
    """The same error with the CORS headers: cross-origin callers must be able to read it too."""
    return ApiError(status_of(exc), exc.code, exc.message, {**CORS, **headers_of(exc)})


def _levels(services: Any) -> tuple[float, float]:
    return services.settings.case_ack_hours, services.settings.case_decide_hours


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
            view = reports.reporter_view(conn, report_id, secret, *_levels(services))
            # The statement of reasons, and whether a dismissal can be contested (backend/appeals.py).
            view.update(appeals.reporter_extras(conn, report_id, services.settings.appeal_days))
            return view

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
    contest_error = None
    if request.method == "POST":
        form = await request.form()
        sent = form.get("secret", "")
        secret = (sent if isinstance(sent, str) else "")[:200]
        if form.get("intent") == "contest" and secret:
            # A reporter contests the dismissal from this page (backend/appeals.py).
            grounds = str(form.get("grounds", ""))[:appeals.MAX_GROUNDS + 1]

            def contest() -> None:
                with services.db.tx() as conn:
                    appeals.file_reporter(conn, report_id, secret, appeals.parse_grounds({"grounds": grounds}),
                                          services.settings.appeal_days)

            try:
                await services.db.run(appeals.once, contest)
            except DomainError as exc:
                contest_error = exc.message
    else:
        secret = request.query_params.get("secret", "")[:200]
    view = None
    if secret:
        def load() -> dict[str, Any] | None:
            with services.db.read() as conn:
                try:
                    out = reports.reporter_view(conn, report_id, secret, *_levels(services))
                except DomainError:
                    return None
                out.update(appeals.reporter_extras(conn, report_id, services.settings.appeal_days))
                return out

        view = await services.db.run(load)
    return render("follow.html", status=200 if view or not secret else 404, report_id=report_id, view=view,
                  wrong_secret=bool(secret) and view is None, secret=secret if view else "",
                  contest_error=contest_error)


def routes() -> list[Route]:
    return [
        Route("/v1/reports", submit, methods=["POST"]),
        Route("/v1/reports", preflight, methods=["OPTIONS"]),
        Route("/v1/reports/{report_id}", status, methods=["GET"]),
        Route("/v1/reports/{report_id}", preflight, methods=["OPTIONS"]),
        Route("/reports/{report_id}", follow_page, methods=["GET", "POST"]),
    ]
