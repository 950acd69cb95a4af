"""Console sign-in: username or e-mail and password, then a TOTP code (staff_login) for enrolled staff.

An admin without a second factor cannot sign in: after the password, it is shown an enrolment page with
a new secret (once, as an otpauth URI and as text) and signs in only by entering a code from it. Between
the password and the code the browser holds a short-lived pending cookie: an HMAC (service secret) of the
account id, the step (code or enrol), an expiry and the sign-in form's pre-session, so it is good only in
that browser and only for a few minutes. Codes are rate-limited per account as passwords are.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from backend import audit, passwords, recovery_codes, staff_login
from backend.limits import rate_limit, rate_limit_key
from backend.store.schema import accounts
from backend.vocabulary import CONSOLE_ROLES, LOCKED_OUT
from backend.web import console_session as session
from backend.web.console_words import texts
from backend.web.pages import render

PENDING = "avlabel_console_2fa"
PENDING_SECONDS = 300
STEPS = ("code", "enrol")


def _secret(request: Request) -> str:
    value: str = request.app.state.services.settings.secret_key.get_secret_value()
    return value


def _mac(request: Request, body: str) -> str:
    raw = request.cookies.get(session.LOGIN_COOKIE, "")
    return hmac.new(_secret(request).encode(), f"2fa:{raw}:{body}".encode(), hashlib.sha256).hexdigest()


def _pending_value(request: Request, account_id: str, step: str) -> str:
    body = f"{account_id}|{step}|{int(time.time()) + PENDING_SECONDS}"
    return f"{body}|{_mac(request, body)}"


def _pending(request: Request, step: str) -> str | None:
    """The account id the pending cookie names for this step, if it is genuine and fresh."""
    parts = request.cookies.get(PENDING, "")[:300].split("|")
    if len(parts) != 4 or parts[1] != step or not parts[2].isdigit() or int(parts[2]) < time.time():
        return None
    if not hmac.compare_digest(parts[3], _mac(request, "|".join(parts[:3]))):
        return None
    return parts[0]


def _page(request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
    """A sign-in page (pre-session CSRF token); these pages speak the language asked for (?lang=), zh by default."""
    lang = request.query_params.get("lang", "")
    lang = lang if lang in staff_login.LOCALES else staff_login.DEFAULT_LOCALE
    ctx.setdefault("error", None)
    return session.login_page(request, lambda tpl, **c: render(name, status=status, **c), lang=lang,
                              t=texts(lang), **ctx)


def _message(request: Request, zh: str, en: str) -> str:
    return en if request.query_params.get("lang") == "en" else zh


async def login_page(request: Request) -> Response:
    return _page(request, "console_login.html")


async def _finish(request: Request, account_id: str) -> Response:
    response = RedirectResponse("/console/queue", status_code=303)
    await session.start(request, response, account_id)
    response.delete_cookie(PENDING, path="/console", httponly=True, samesite="strict")
    return response


async def login(request: Request) -> Response:
    services = request.app.state.services
    await rate_limit(request, "console-login", services.settings.login_rate_per_address, 60)
    form = await request.form()
    if not session.check_login_token(request, form):
        return _page(request, "console_login.html", status=403, error=_message(
            request, "登录表单已过期或来自其他网站，请重试。",
            "The sign-in form expired or came from another site; please try again."))
    login_name = str(form.get("login", ""))[:254].strip().lower()
    password = str(form.get("password", ""))[:200]
    # Per account as well as per address: guessing one account's password from many addresses is throttled.
    await rate_limit_key(request, "console-login-account:" + login_name,
                         services.settings.login_rate_per_account, 900)

    def check() -> Any:
        with services.db.tx() as conn:
            row = passwords.check_login(conn, login_name, password)
            if row is not None and not staff_login.needs_code(row) and not staff_login.must_enrol(row):
                audit.append(conn, row.id, "account.console_login", row.id, {})
            return row

    row = await services.db.run(check)
    if row is None:
        return _page(request, "console_login.html", status=401, error=_message(
            request, "用户名、电子邮箱或密码不正确。", "Unknown username or e-mail, or wrong password."))
    if staff_login.needs_code(row) or staff_login.must_enrol(row):
        step = "code" if staff_login.needs_code(row) else "enrol"
        lang = "?lang=en" if request.query_params.get("lang") == "en" else ""
        response = RedirectResponse(f"/console/login/{step}{lang}", status_code=303)
        response.set_cookie(PENDING, _pending_value(request, row.id, step), max_age=PENDING_SECONDS,
                            path="/console", httponly=True, samesite="strict", secure=session.secure(request))
        return response
    return await _finish(request, row.id)


def _eligible(conn: Any, account_id: str) -> bool:
    row = conn.execute(select(accounts.c.role, accounts.c.status).where(accounts.c.id == account_id)).first()
    return row is not None and row.role in CONSOLE_ROLES and row.status not in LOCKED_OUT


async def code_page(request: Request) -> Response:
    if _pending(request, "code") is None:
        return RedirectResponse("/console/login", status_code=303)
    return _page(request, "console_login_code.html")


async def enrol_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    """A new secret each time the page is shown (the URI is shown once; an unconfirmed one is replaced)."""
    services = request.app.state.services
    account_id = _pending(request, "enrol")
    if account_id is None:
        return RedirectResponse("/console/login", status_code=303)

    def begin() -> str:
        with services.db.tx() as conn:
            return staff_login.begin_enrolment(conn, account_id, _secret(request), actor=account_id)

    uri = await services.db.run(begin)
    secret = uri.split("secret=", 1)[1].split("&", 1)[0]
    return _page(request, "console_login_enrol.html", status=status, uri=uri, secret=secret, error=error)


async def _check_code(request: Request, step: str) -> Response:
    services = request.app.state.services
    await rate_limit(request, "console-login", services.settings.login_rate_per_address, 60)
    form = await request.form()
    account_id = _pending(request, step)
    if account_id is None or not session.check_login_token(request, form):
        return RedirectResponse("/console/login", status_code=303)
    await rate_limit_key(request, "console-login-code:" + account_id, services.settings.login_rate_per_account, 900)
    code = str(form.get("code", ""))[:20]

    def check() -> bool:
        with services.db.tx() as conn:
            if not _eligible(conn, account_id):
                return False
            factor = "totp" if staff_login.check_code(conn, account_id, code, _secret(request)) else None
            # At sign-in (not at enrolment) a one-time recovery code stands in for a lost authenticator.
            if factor is None and step == "code" and recovery_codes.use(conn, account_id, code, _secret(request)):
                factor = "recovery_code"
            if factor is not None:
                audit.append(conn, account_id, "account.console_login", account_id, {"second_factor": factor})
            return factor is not None

    if not await services.db.run(check):
        wrong = _message(request, "验证码或恢复码不正确或已使用过，请等待下一个验证码。",
                         "Wrong code or recovery code, or one already used; wait for the next code.")
        if step == "enrol":  # a new secret: the one shown before was not confirmed
            return await enrol_page(request, error=wrong, status=401)
        return _page(request, "console_login_code.html", status=401, error=wrong)
    return await _finish(request, account_id)


async def code(request: Request) -> Response:
    return await _check_code(request, "code")


async def enrol(request: Request) -> Response:
    return await _check_code(request, "enrol")


def routes() -> list[Route]:
    return [
        Route("/console/login", login_page, methods=["GET"]),
        Route("/console/login", login, methods=["POST"]),
        Route("/console/login/code", code_page, methods=["GET"]),
        Route("/console/login/code", code, methods=["POST"]),
        Route("/console/login/enrol", enrol_page, methods=["GET"]),
        Route("/console/login/enrol", enrol, methods=["POST"]),
    ]
