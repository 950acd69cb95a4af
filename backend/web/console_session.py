"""Console sessions: a random id in an httpOnly cookie, backed by a `console_sessions` row (sessions.py).

The cookie is httpOnly and SameSite=Strict, scoped to /console. The row is checked on every request,
so logout, a password change, a suspension or a close ends the session at once, whatever the browser
still holds. CSRF tokens are HMACs (service secret) of the session id, or, on the sign-in form, of a
random pre-session cookie; every POST must carry the token and, when the browser sends one, an Origin
of this service.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from backend import accounts, sessions
from backend.accounts import Account
from backend.errors import ApiError
from backend.vocabulary import CONSOLE_ROLES, LOCKED_OUT

COOKIE = "avlabel_console"
LOGIN_COOKIE = "avlabel_console_login"  # the pre-session the sign-in form's token is bound to


def _token(request: Request, purpose: str, raw: str) -> str:
    secret = request.app.state.services.settings.secret_key.get_secret_value()
    return hmac.new(secret.encode(), f"{purpose}:{raw}".encode(), hashlib.sha256).hexdigest()


def _secure(request: Request) -> bool:
    return bool(request.app.state.services.settings.public_url.startswith("https://"))


secure = _secure


def _set(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/console", httponly=True, samesite="strict",
                        secure=_secure(request))


def login_page(request: Request, render: Any, **ctx: Any) -> Response:
    """The sign-in page with a CSRF token bound to a (new or kept) pre-session cookie."""
    raw = request.cookies.get(LOGIN_COOKIE, "")
    if not 32 <= len(raw) <= 100:
        raw = secrets.token_urlsafe(32)
    response: Response = render("console_login.html", csrf=_token(request, "login-csrf", raw), **ctx)
    _set(request, response, LOGIN_COOKIE, raw, 3600)
    return response


def check_login_token(request: Request, form: Any) -> bool:
    raw = request.cookies.get(LOGIN_COOKIE, "")
    sent = form.get("csrf")
    return (len(raw) >= 32 and isinstance(sent, str)
            and secrets.compare_digest(sent, _token(request, "login-csrf", raw)) and _same_origin(request))


async def start(request: Request, response: Response, account_id: str) -> None:
    services = request.app.state.services
    hours = services.settings.console_session_hours

    def create() -> str:
        with services.db.tx() as conn:
            return sessions.create(conn, account_id, hours)

    raw = await services.db.run(create)
    _set(request, response, COOKIE, raw, int(hours * 3600))
    response.delete_cookie(LOGIN_COOKIE, path="/console", httponly=True, samesite="strict")


async def end(request: Request, response: Response) -> None:
    raw = request.cookies.get(COOKIE)
    if raw:
        db = request.app.state.services.db

        def revoke() -> None:
            with db.tx() as conn:
                sessions.revoke(conn, raw, "logout")

        await db.run(revoke)
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")


async def current(request: Request) -> tuple[Account, str] | None:
    """The signed-in console account and its CSRF token, or None."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 200:
        return None
    db = request.app.state.services.db

    def load() -> Account | None:
        with db.read() as conn:
            live = sessions.live_account(conn, raw)
            account = accounts.get_account(conn, live[0]) if live else None
        if live and live[1]:
            with db.tx() as conn:
                sessions.touch(conn, raw)
        return account

    account = await db.run(load)
    if account is None or account.role not in CONSOLE_ROLES or account.status in LOCKED_OUT:
        return None
    return account, _token(request, "console-csrf", raw)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc == request.headers.get("host", "")
    return True


def check_post(request: Request, form: Any, csrf: str) -> None:
    if not _same_origin(request):
        raise ApiError(403, "cross_site_request", "cross-site form posts are refused")
    sent = form.get("csrf")
    if not isinstance(sent, str) or not secrets.compare_digest(sent, csrf):
        raise ApiError(403, "csrf_token_invalid", "the form is stale or forged; reload the page and try again")
