"""The moderation console at /console/: server-rendered pages for moderators, admins and auditors.

Queue (overdue flagged), case detail with a media preview, the verification result and history, action
forms with reasons, and the audit chain status with the regulator export. Autoescaped templates, a
strict CSP with no inline script or style, session cookies with CSRF tokens (console_session).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from backend import audit, cases, moderation, passwords
from backend.accounts import Account
from backend.errors import ApiError
from backend.limits import rate_limit
from backend.media import EXTENSIONS
from backend.routes.audit import bundle_zip
from backend.store.schema import contents
from backend.web import console_session as session
from backend.web.pages import render

ACTORS = ("moderator", "admin")
RECORD_READERS = ("auditor", "admin")
STATUSES = ("pending", "decided", "all")


def _login_redirect() -> Response:
    return RedirectResponse("/console/login", status_code=303)


async def _signed_in(request: Request) -> tuple[Account, str] | None:
    return await session.current(request)


def _ctx(account: Account, csrf: str, **extra: Any) -> dict[str, Any]:
    return {"me": account, "csrf": csrf, "can_act": account.role in ACTORS,
            "can_read_records": account.role in RECORD_READERS, **extra}


async def index(request: Request) -> Response:
    return RedirectResponse("/console/queue" if await _signed_in(request) else "/console/login", status_code=303)


async def login_page(request: Request) -> Response:
    return render("console_login.html", error=None)


async def login(request: Request) -> Response:
    services = request.app.state.services
    await rate_limit(request, "console-login", 10, 60)
    form = await request.form()
    account_id = str(form.get("account", ""))[:64].strip()
    password = str(form.get("password", ""))[:200]

    def check() -> Account | None:
        with services.db.tx() as conn:
            account = passwords.check_login(conn, account_id, password)
            if account is not None:
                audit.append(conn, account.id, "account.console_login", account.id, {})
            return account

    account = await services.db.run(check)
    if account is None:
        return render("console_login.html", status=401, error="Unknown account or wrong password.")
    response = RedirectResponse("/console/queue", status_code=303)
    session.start(request, response, account.id)
    return response


async def logout(request: Request) -> Response:
    signed = await _signed_in(request)
    if signed is not None:
        session.check_post(request, await request.form(), signed[1])
    response = RedirectResponse("/console/login", status_code=303)
    session.end(response)
    return response


async def queue_page(request: Request) -> Response:
    signed = await _signed_in(request)
    if signed is None:
        return _login_redirect()
    services = request.app.state.services
    status = request.query_params.get("status", "pending")
    status = status if status in STATUSES else "pending"
    settings = services.settings

    def load() -> tuple[list[dict[str, Any]], dict[str, int]]:
        with services.db.read() as conn:
            return (cases.queue(conn, settings.case_ack_hours, settings.case_decide_hours, status, 200),
                    cases.counts(conn))

    items, counts = await services.db.run(load)
    return render("console_queue.html", **_ctx(*signed, cases=items, counts=counts, current=status,
                                                   statuses=STATUSES, settings=settings))


def _media_kind(mime: str) -> str:
    return "video" if mime.startswith("video/") else "audio" if mime.startswith("audio/") else "img"


def _verification(services: Any, content: dict[str, Any] | None, stored: str | None) -> dict[str, Any] | None:
    """A fresh check of the stored file's signature; the registry entry when there is no file."""
    if content is None:
        return None
    if stored and Path(stored).is_file():
        try:
            result: dict[str, Any] = services.verify.verify_media(services.media.inspect(Path(stored)))
            return result
        except ApiError as exc:
            return {"verdict": "unreadable", "validation_state": exc.message}
    return services.verify.lookup(None, content["content_id"])


async def case_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    signed = await _signed_in(request)
    if signed is None:
        return _login_redirect()
    services = request.app.state.services
    case_id = request.path_params["case_id"][:64]
    settings = services.settings

    def load() -> dict[str, Any]:
        with services.db.read() as conn:
            case = cases.detail(conn, case_id, settings.case_ack_hours, settings.case_decide_hours)
            stored = None
            if case["content"]:
                stored = conn.execute(select(contents.c.stored_path)
                                      .where(contents.c.content_id == case["content_id"])).scalar()
        case["verification"] = _verification(services, case["content"], stored)
        return case

    try:
        case = await services.db.run(load)
    except ApiError as exc:
        return render("console_error.html", status=exc.status, **_ctx(*signed, message=exc.message))
    media = None
    content = case["content"]
    if content and content["has_media"]:
        media = {"kind": _media_kind(content["mime"]),
                 "src": f"/media/{content['content_id']}.{EXTENSIONS.get(content['mime'], 'bin')}"}
    return render("console_case.html", status=status, **_ctx(
        *signed, case=case, media=media, error=error, actions=cases.ACTIONS,
        content_actions=cases.CONTENT_ACTIONS, account_actions=tuple(cases.ACCOUNT_ACTIONS)))


async def case_action(request: Request) -> Response:
    signed = await _signed_in(request)
    if signed is None:
        return _login_redirect()
    account, csrf = signed
    form = await request.form()
    session.check_post(request, form, csrf)
    if account.role not in ACTORS:
        raise ApiError(403, "forbidden", "auditors have read-only access")
    case_id = request.path_params["case_id"][:64]
    body: dict[str, Any] = {"action": form.get("action"), "reasons": form.get("reasons", "")}
    if body["action"] == "refute":
        body["refutation"] = {k: (str(form.get(f"refutation_{k}", "")).strip() or None) for k in ("zh", "en", "url")}
    try:
        req = cases.parse_action(body)
        await moderation.perform(request.app.state.services, case_id, req, account.id)
    except ApiError as exc:
        if exc.status == 404:
            raise
        return await case_page(request, error=exc.message, status=exc.status)
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


async def records_page(request: Request) -> Response:
    signed = await _signed_in(request)
    if signed is None:
        return _login_redirect()
    if signed[0].role not in RECORD_READERS:
        raise ApiError(403, "forbidden", "records are for auditors and admins")
    services = request.app.state.services

    def load() -> audit.ChainReport:
        with services.db.read() as conn:
            return audit.verify_chain(conn)

    chain = await services.db.run(load)
    return render("console_records.html", **_ctx(*signed, chain=chain,
                                                    retention=services.settings.audit_retention_days))


async def records_export(request: Request) -> Response:
    signed = await _signed_in(request)
    if signed is None:
        return _login_redirect()
    if signed[0].role not in RECORD_READERS:
        raise ApiError(403, "forbidden", "records are for auditors and admins")
    services = request.app.state.services
    start, end = request.query_params.get("from", ""), request.query_params.get("to", "")
    body = await services.db.run(bundle_zip, services, start, end)
    return Response(body, media_type="application/zip", headers={
        "Content-Disposition": 'attachment; filename="avlabel-records.zip"', "Cache-Control": "no-store"})


def routes() -> list[Route]:
    return [
        Route("/console", index, methods=["GET"]),
        Route("/console/", index, methods=["GET"]),
        Route("/console/login", login_page, methods=["GET"]),
        Route("/console/login", login, methods=["POST"]),
        Route("/console/logout", logout, methods=["POST"]),
        Route("/console/queue", queue_page, methods=["GET"]),
        Route("/console/cases/{case_id}", case_page, methods=["GET"]),
        Route("/console/cases/{case_id}/actions", case_action, methods=["POST"]),
        Route("/console/records", records_page, methods=["GET"]),
        Route("/console/records/export", records_export, methods=["GET"]),
    ]
