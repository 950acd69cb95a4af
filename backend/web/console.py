"""The moderation console at /console/: server-rendered pages for moderators, admins and auditors.

Queue (overdue flagged), case detail with a media preview, the verification result and history, action
forms with reasons, and the audit chain status with the regulator export. Autoescaped templates, a
strict CSP with no inline script or style, session cookies with CSRF tokens (console_session).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from backend import audit, cases, checkpoints, moderation, passwords, registry
from backend.accounts import Account
from backend.domain_errors import DomainError, NotFound
from backend.errors import ApiError, status_of
from backend.limits import rate_limit, rate_limit_key
from backend.routes.audit import bundle_zip
from backend.vocabulary import ACCOUNT_ACTIONS, CONTENT_ACTIONS, CaseStatus, Role, Verdict
from backend.web import console_session as session
from backend.web.pages import render

ACTORS = (Role.MODERATOR, Role.ADMIN)
RECORD_READERS = (Role.AUDITOR, Role.ADMIN)
STATUSES = ("pending", CaseStatus.DECIDED, "all")  # the queue's filters: "pending" is open or acknowledged


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
    return session.login_page(request, render, error=None)


async def login(request: Request) -> Response:
    services = request.app.state.services
    await rate_limit(request, "console-login", 10, 60)
    form = await request.form()
    if not session.check_login_token(request, form):
        return session.login_page(request, render, status=403,
                                  error="The sign-in form expired or came from another site; please try again.")
    account_id = str(form.get("account", ""))[:64].strip()
    password = str(form.get("password", ""))[:200]
    # Per account as well as per address: guessing one account's password from many addresses is throttled.
    await rate_limit_key(request, "console-login-account:" + account_id,
                         services.settings.login_rate_per_account, 900)

    def check() -> Account | None:
        with services.db.tx() as conn:
            account = passwords.check_login(conn, account_id, password)
            if account is not None:
                audit.append(conn, account.id, "account.console_login", account.id, {})
            return account

    account = await services.db.run(check)
    if account is None:
        return session.login_page(request, render, status=401, error="Unknown account or wrong password.")
    response = RedirectResponse("/console/queue", status_code=303)
    await session.start(request, response, account.id)
    return response


async def logout(request: Request) -> Response:
    signed = await _signed_in(request)
    response = RedirectResponse("/console/login", status_code=303)
    if signed is not None:
        session.check_post(request, await request.form(), signed[1])
    await session.end(request, response)  # without a live session this only drops the dead cookie
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
        except DomainError as exc:
            return {"verdict": Verdict.UNREADABLE, "validation_state": exc.message}
    entry: dict[str, Any] | None = services.verify.lookup(None, content["content_id"])
    return entry


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
                entry = registry.by_id(conn, case["content_id"])
                stored = entry.stored_path if entry else None
        case["verification"] = _verification(services, case["content"], stored)
        return case

    try:
        case = await services.db.run(load)
    except DomainError as exc:
        return render("console_error.html", status=status_of(exc), **_ctx(*signed, message=exc.message))
    media = None
    content = case["content"]
    if content and content["has_media"]:
        # From the console, not /media/: moderators still see media that is blocked or paused for everyone else.
        media = {"kind": _media_kind(content["mime"]), "src": f"/console/cases/{case['id']}/media"}
    return render("console_case.html", status=status, **_ctx(
        *signed, case=case, media=media, error=error, actions=cases.ACTIONS,
        content_actions=CONTENT_ACTIONS, account_actions=tuple(ACCOUNT_ACTIONS)))


async def case_media(request: Request) -> Response:
    """The case's stored media for signed-in staff, whatever its label state; never cached."""
    signed = await _signed_in(request)
    if signed is None:
        raise ApiError(401, "unauthorized", "sign in to the console first")
    services = request.app.state.services
    case_id = request.path_params["case_id"][:64]

    def load() -> tuple[str | None, str | None]:
        with services.db.read() as conn:
            content_id = cases.detail(conn, case_id, 1, 1)["content_id"]
            entry = registry.by_id(conn, content_id) if content_id else None
        if entry is None or not entry.stored_path or not Path(entry.stored_path).is_file():
            return None, None
        return entry.stored_path, entry.mime

    stored, mime = await services.db.run(load)
    if stored is None:
        raise ApiError(404, "not_found", "no stored media for this case")
    return FileResponse(stored, media_type=mime, headers={
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


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
    body: dict[str, Any] = {"action": form.get("action"), "reasons": form.get("reasons", ""),
                            "public_statement": str(form.get("public_statement", "")).strip() or None}
    if body["action"] == "refute":
        body["refutation"] = {k: (str(form.get(f"refutation_{k}", "")).strip() or None) for k in ("zh", "en", "url")}
    try:
        req = cases.parse_action(body)
        await moderation.perform(request.app.state.services, case_id, req, account.id)
    except NotFound:
        raise
    except DomainError as exc:
        return await case_page(request, error=exc.message, status=status_of(exc))
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
            return audit.verify_chain(conn, checkpoints.trust_of(services.identity))

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
        Route("/console/cases/{case_id}/media", case_media, methods=["GET"]),
        Route("/console/records", records_page, methods=["GET"]),
        Route("/console/records/export", records_export, methods=["GET"]),
    ]
