"""Acting on a case from the console, the case history timeline, and the staff member's language setting.

Block, suspend and close are destructive: the first post shows a confirmation page that repeats the
scope (which content, every copy, or which account and its current status) and the effect, and only a
second post carrying the confirmation token acts. The token is an HMAC (the session's CSRF token) of
the case, the action and its target, so it cannot be sent blind and goes stale if the target changes.
Everything else, dismiss included, is one post. All of it works without JavaScript.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from backend import case_queue, cases, moderation, staff_login
from backend.domain_errors import DomainError, NotFound
from backend.errors import ApiError, status_of
from backend.vocabulary import ModerationAction
from backend.web.console import DESTRUCTIVE, _ctx, _login_redirect, _posted, case_page
from backend.web.console_errors import refusal
from backend.web.pages import render

DRAFT_FIELDS = ("action", "reasons", "public_statement", "refutation_zh", "refutation_en", "refutation_url")


def _target(case: dict[str, Any], action: str) -> str:
    if action == ModerationAction.BLOCK:
        return str(case["content_id"] or case["sha256"] or case["media_url"] or "")
    return str((case["publisher"] or {}).get("id") or case["publisher_id"] or "")


def _token(csrf: str, case_id: str, action: str, target: str) -> str:
    return hmac.new(csrf.encode(), f"confirm:{case_id}:{action}:{target}".encode(), hashlib.sha256).hexdigest()


async def case_action(request: Request) -> Response:
    posted = await _posted(request)
    if posted is None:
        return _login_redirect()
    account, csrf, form = posted
    services = request.app.state.services
    case_id = request.path_params["case_id"][:64]
    action = str(form.get("action", ""))
    draft = {k: str(form.get(k, ""))[:4000] for k in DRAFT_FIELDS}
    if action in DESTRUCTIVE:
        def load() -> dict[str, Any]:
            with services.db.read() as conn:
                return cases.detail(conn, case_id, 1, 1)

        case = await services.db.run(load)
        token = _token(csrf, case_id, action, _target(case, action))
        if not hmac.compare_digest(str(form.get("confirm", "")), token):
            return render("console_confirm.html", **_ctx(account, csrf, case=case, action=action, draft=draft,
                                                          token=token))
    body: dict[str, Any] = {"action": action, "reasons": form.get("reasons", ""),
                            "public_statement": str(form.get("public_statement", "")).strip() or None}
    if action == ModerationAction.REFUTE:
        body["refutation"] = {k: (str(form.get(f"refutation_{k}", "")).strip() or None) for k in ("zh", "en", "url")}
    try:
        req = cases.parse_action(body)
        await moderation.perform(services, case_id, req, account.id)
    except NotFound:
        raise
    except DomainError as exc:
        return await case_page(request, error=refusal(exc, account.console_locale), status=status_of(exc),
                               draft=draft)
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


async def assign(request: Request) -> Response:
    """Assigns the case to a moderator or admin ("me" for oneself, "" to unassign)."""
    posted = await _posted(request)
    if posted is None:
        return _login_redirect()
    account, csrf, form = posted
    case_id = request.path_params["case_id"][:64]
    chosen = str(form.get("assignee", ""))[:64]
    assignee = account.id if chosen == "me" else (chosen or None)
    db = request.app.state.services.db

    def save() -> None:
        with db.tx() as conn:
            case_queue.assign(conn, case_id, assignee, account.id)

    try:
        await db.run(save)
    except NotFound:
        raise
    except DomainError as exc:
        return await case_page(request, error=refusal(exc, account.console_locale), status=status_of(exc))
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


async def settings_post(request: Request) -> Response:
    """The console's language for the signed-in staff member (kept on the account)."""
    posted = await _posted(request, actor=False)
    if posted is None:
        return _login_redirect()
    account, _csrf, form = posted
    locale = str(form.get("locale", ""))
    db = request.app.state.services.db

    def save() -> None:
        with db.tx() as conn:
            staff_login.set_locale(conn, account.id, locale)

    try:
        await db.run(save)
    except DomainError as exc:
        raise ApiError(400, exc.code, exc.message) from exc
    back = str(form.get("back", ""))
    back = back if back.startswith("/console/") and not back.startswith("//") else "/console/queue"
    return RedirectResponse(back, status_code=303)


def routes() -> list[Route]:
    return [
        Route("/console/cases/{case_id}/actions", case_action, methods=["POST"]),
        Route("/console/cases/{case_id}/assign", assign, methods=["POST"]),
        Route("/console/settings", settings_post, methods=["POST"]),
    ]
