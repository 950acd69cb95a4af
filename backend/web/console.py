"""The moderation console at /console/: server-rendered pages for moderators, admins and auditors.

Queue (overdue flagged), case detail with a media preview, the verification result and history, action
forms with reasons, and the audit chain status with the regulator export. Autoescaped templates, a
strict CSP with no inline script or style, session cookies with CSRF tokens (console_session).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from backend import audit, case_queue, cases, checkpoints, registry
from backend.accounts import Account
from backend.domain_errors import DomainError
from backend.errors import ApiError, status_of
from backend.routes.audit import bundle_zip
from backend.streams import registration as stream_registration
from backend.vocabulary import ModerationAction, Role, Verdict
from backend.web import console_history
from backend.web import console_session as session
from backend.web.console_words import texts, words
from backend.web.pages import render

ACTORS = (Role.MODERATOR, Role.ADMIN)
RECORD_READERS = (Role.AUDITOR, Role.ADMIN)
STATUSES = case_queue.STATUSES  # the queue's status filters: "pending" is open or acknowledged
# Block, suspend and close ask for a confirmation that repeats their scope (console_actions); the rest is one post.
DESTRUCTIVE = (ModerationAction.BLOCK, ModerationAction.SUSPEND, ModerationAction.CLOSE)
ONE_STEP = tuple(a for a in ModerationAction if a not in DESTRUCTIVE)


def _login_redirect() -> Response:
    return RedirectResponse("/console/login", status_code=303)


async def _signed_in(request: Request) -> tuple[Account, str] | None:
    return await session.current(request)


async def _posted(request: Request, actor: bool = True) -> tuple[Account, str, FormData] | None:
    """A console POST: the signed-in staff member, its CSRF token and the form, checked (None: not signed
    in). `actor`: only moderators and admins may send it; auditors get 403."""
    signed = await _signed_in(request)
    if signed is None:
        return None
    account, csrf = signed
    form = await request.form()
    session.check_post(request, form, csrf)
    if actor and account.role not in ACTORS:
        raise ApiError(403, "forbidden", "auditors have read-only access")
    return account, csrf, form


def _ctx(account: Account, csrf: str, **extra: Any) -> dict[str, Any]:
    """What every console page gets: the staff member, its rights, and its language (`t`, `w`)."""
    lang = account.console_locale
    return {"me": account, "csrf": csrf, "can_act": account.role in ACTORS,
            "can_read_records": account.role in RECORD_READERS, "lang": lang, "t": texts(lang),
            "w": words(lang), **extra}


async def index(request: Request) -> Response:
    return RedirectResponse("/console/queue" if await _signed_in(request) else "/console/login", status_code=303)


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
    filters = case_queue.Filters.parse(request.query_params, signed[0].id)
    settings = services.settings

    def load() -> tuple[list[dict[str, Any]], dict[str, int], list[dict[str, str]]]:
        with services.db.read() as conn:
            return (case_queue.queue(conn, settings.case_ack_hours, settings.case_decide_hours, filters),
                    cases.counts(conn), case_queue.assignees(conn))

    items, counts, staff = await services.db.run(load)
    query = urlencode({"status": filters.status, "category": filters.category,
                       "overdue": "1" if filters.overdue else "", "assignee": filters.assignee})
    return render("console_queue.html", **_ctx(*signed, cases=items, counts=counts, filters=filters,
                                                   statuses=STATUSES, categories=case_queue.CATEGORIES,
                                                   assignees=staff, settings=settings,
                                                   back_path=f"/console/queue?{query}"))


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


async def case_page(request: Request, error: str | None = None, status: int = 200,
                    draft: dict[str, str] | None = None) -> Response:
    """`draft`: the form a refused action came with, shown again so the typed reasons are not lost."""
    signed = await _signed_in(request)
    if signed is None:
        return _login_redirect()
    services = request.app.state.services
    case_id = request.path_params["case_id"][:64]
    settings = services.settings

    def load() -> dict[str, Any]:
        with services.db.read() as conn:
            case = cases.detail(conn, case_id, settings.case_ack_hours, settings.case_decide_hours)
            case["stream_notes"] = stream_registration.notes_of_case(conn, case_id)  # the monitor's evidence
            case["timeline"] = console_history.timeline(conn, case, signed[0].console_locale)
            case["assigned_to"] = case_queue.assigned_to(conn, case_id)
            case["assignees"] = case_queue.assignees(conn)
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
        *signed, case=case, media=media, error=error, actions=ONE_STEP, destructive=DESTRUCTIVE, draft=draft,
        timeline=case["timeline"], back_path=request.url.path))


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
    # Sandboxed: the file may be a reporter's upload (reported_media), hostile however it was sniffed.
    return FileResponse(stored, media_type=mime, headers={
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox"})


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
        Route("/console/logout", logout, methods=["POST"]),
        Route("/console/queue", queue_page, methods=["GET"]),
        Route("/console/cases/{case_id}", case_page, methods=["GET"]),
        Route("/console/cases/{case_id}/media", case_media, methods=["GET"]),
        Route("/console/records", records_page, methods=["GET"]),
        Route("/console/records/export", records_export, methods=["GET"]),
    ]
