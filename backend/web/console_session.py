"""Console sessions: a signed, expiring cookie (itsdangerous) holding the account id and a CSRF token.

The cookie is httpOnly and SameSite=Strict, scoped to /console; every POST must also carry the CSRF
token from the page's form and, when the browser sends one, an Origin of this service. The account is
reloaded on every request, so a suspension or role change takes effect at once.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from backend import accounts
from backend.accounts import Account
from backend.errors import ApiError
from backend.vocabulary import CONSOLE_ROLES, LOCKED_OUT

COOKIE = "avlabel_console"
MAX_AGE = 8 * 3600


def _serializer(request: Request) -> URLSafeTimedSerializer:
    secret = request.app.state.services.settings.secret_key.get_secret_value()
    return URLSafeTimedSerializer(secret, salt="avlabel-console-session")


def start(request: Request, response: Response, account_id: str) -> None:
    token = _serializer(request).dumps({"a": account_id, "c": secrets.token_urlsafe(24)})
    secure = request.app.state.services.settings.public_url.startswith("https://")
    response.set_cookie(COOKIE, token, max_age=MAX_AGE, path="/console", httponly=True, samesite="strict",
                        secure=secure)


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")


def read(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(request).loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    return data if isinstance(data, dict) and "a" in data and "c" in data else None


async def current(request: Request) -> tuple[Account, str] | None:
    """The signed-in console account and its CSRF token, or None."""
    data = read(request)
    if data is None:
        return None
    db = request.app.state.services.db

    def load() -> Account | None:
        with db.read() as conn:
            return accounts.get_account(conn, str(data["a"]))

    account = await db.run(load)
    if account is None or account.role not in CONSOLE_ROLES or account.status in LOCKED_OUT:
        return None
    return account, str(data["c"])


def check_post(request: Request, form: Any, csrf: str) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc != host:
            raise ApiError(403, "cross_site_request", "cross-site form posts are refused")
    sent = form.get("csrf")
    if not isinstance(sent, str) or not secrets.compare_digest(sent, csrf):
        raise ApiError(403, "csrf_token_invalid", "the form is stale or forged; reload the page and try again")
