"""The staff member's own account page: sign-in names, language, setting up the TOTP second factor, and its
one-time recovery codes (recovery_codes; made here, with the password asked again, and shown once).

Any staff member may set up a second factor here (admins must, at sign-in: console_login). Starting it asks
for the console password again, so a stolen session cookie cannot bind the account to an attacker's
authenticator; the secret is shown once, and the first right code confirms it (staff_login.check_code)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from backend import passwords, recovery_codes, staff_login
from backend.accounts import Account
from backend.domain_errors import Conflict
from backend.limits import rate_limit_key
from backend.store.schema import accounts
from backend.web.console import _ctx, _login_redirect, _posted, _signed_in
from backend.web.pages import render


def _secret(request: Request) -> str:
    value: str = request.app.state.services.settings.secret_key.get_secret_value()
    return value


async def _page(request: Request, account_id: str, ctx: dict[str, Any], status: int = 200,
                **extra: Any) -> Response:
    def load() -> tuple[Any, int]:
        with request.app.state.services.db.read() as conn:
            row = conn.execute(select(accounts.c.username, accounts.c.email, accounts.c.totp_enabled_at)
                               .where(accounts.c.id == account_id)).first()
            return row, recovery_codes.remaining(conn, account_id)

    row, left = await request.app.state.services.db.run(load)
    extra.setdefault("error", None)
    return render("console_account.html", status=status, **ctx, login_row=row, back_path="/console/account",
                  done=request.query_params.get("done") == "totp", recovery_left=left, **extra)


async def account_page(request: Request) -> Response:
    signed = await _signed_in(request)
    if signed is None:
        return _login_redirect()
    return await _page(request, signed[0].id, _ctx(*signed))


async def _begin(request: Request, account_id: str) -> str:
    def begin() -> str:
        with request.app.state.services.db.tx() as conn:
            return staff_login.begin_enrolment(conn, account_id, _secret(request), actor=account_id)

    uri: str = await request.app.state.services.db.run(begin)
    return uri


def _enrol_page(ctx: dict[str, Any], uri: str, error: str | None = None, status: int = 200) -> Response:
    secret = uri.split("secret=", 1)[1].split("&", 1)[0]
    return render("console_account_totp.html", status=status, **ctx, uri=uri, secret=secret, error=error,
                  back_path="/console/account")


async def _totp_post(request: Request) -> tuple[Account, dict[str, Any], FormData] | None:
    """A signed-in, CSRF-checked post to this page; its password and code guesses share the account's
    sign-in budget."""
    posted = await _posted(request, actor=False)
    if posted is None:
        return None
    account, csrf, form = posted
    await rate_limit_key(request, "console-login-code:" + account.id,
                         request.app.state.services.settings.login_rate_per_account, 900)
    return account, _ctx(account, csrf), form


async def totp_start(request: Request) -> Response:
    posted = await _totp_post(request)
    if posted is None:
        return _login_redirect()
    account, ctx, form = posted
    services = request.app.state.services
    t = ctx["t"]
    password = str(form.get("password", ""))

    def check() -> bool:
        with services.db.read() as conn:
            return passwords.check_password(conn, account.id, password)

    if not await services.db.run(check):
        return await _page(request, account.id, ctx, status=401,
                           error=t("密码不正确。", "Wrong password."))
    try:
        uri = await _begin(request, account.id)
    except Conflict:
        return await _page(request, account.id, ctx, status=409,
                           error=t("此账号已设置两步验证；如需更换，请联系管理员重置。",
                                   "This account already has a second factor; ask an administrator to reset it."))
    return _enrol_page(ctx, uri)


async def totp_confirm(request: Request) -> Response:
    posted = await _totp_post(request)
    if posted is None:
        return _login_redirect()
    account, ctx, form = posted
    services = request.app.state.services
    code = str(form.get("code", ""))[:20]

    def confirm() -> bool:
        with services.db.tx() as conn:
            row = conn.execute(select(accounts.c.totp_enabled_at).where(accounts.c.id == account.id)).first()
            if row is None or row.totp_enabled_at is not None:
                return False  # nothing pending: an enrolled factor is not re-confirmed here
            return staff_login.check_code(conn, account.id, code, _secret(request))  # audits the enrolment

    if not await services.db.run(confirm):
        try:
            uri = await _begin(request, account.id)  # a new secret: the one shown before was not confirmed
        except Conflict:
            return RedirectResponse("/console/account", status_code=303)
        wrong = ctx["t"]("验证码不正确或已使用过；请用下面的新密钥重新添加账号。",
                         "Wrong code, or one already used; add the account again with the new secret below.")
        return _enrol_page(ctx, uri, error=wrong, status=401)
    return RedirectResponse("/console/account?done=totp", status_code=303)


async def recovery(request: Request) -> Response:
    """A new set of recovery codes (the old set stops working), after the password again; shown once."""
    posted = await _totp_post(request)
    if posted is None:
        return _login_redirect()
    account, ctx, form = posted
    services = request.app.state.services
    t = ctx["t"]
    password = str(form.get("password", ""))

    def make() -> list[str] | None:
        with services.db.tx() as conn:
            if not passwords.check_password(conn, account.id, password):
                return None
            row = conn.execute(select(accounts.c.totp_enabled_at).where(accounts.c.id == account.id)).first()
            if row is None or row.totp_enabled_at is None:
                raise Conflict("no_second_factor", "set up the second factor first")
            return recovery_codes.issue(conn, account.id, _secret(request), actor=account.id)

    try:
        made = await services.db.run(make)
    except Conflict:
        return await _page(request, account.id, ctx, status=409,
                           error=t("请先设置两步验证。", "Set up the second factor first."))
    if made is None:
        return await _page(request, account.id, ctx, status=401, error=t("密码不正确。", "Wrong password."))
    return render("console_account_recovery.html", **ctx, codes=made, back_path="/console/account")


def routes() -> list[Route]:
    return [
        Route("/console/account", account_page, methods=["GET"]),
        Route("/console/account/totp", totp_start, methods=["POST"]),
        Route("/console/account/totp/confirm", totp_confirm, methods=["POST"]),
        Route("/console/account/recovery", recovery, methods=["POST"]),
    ]
