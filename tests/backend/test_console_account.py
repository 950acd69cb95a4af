"""Any staff member sets up the TOTP second factor from the console's own account page (issue 14: "TOTP second
factor for staff"); the password is asked again first, so a stolen session cannot bind the account to another
authenticator, and the first right code turns it on: later sign-ins ask for a code."""

from __future__ import annotations

import contextlib
import re
import secrets
import sqlite3
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp

from tests.backend.casework import console_sign_in, new_staff, page_text, raw_enum_words
from tests.conftest import Server, client_at


def _browser(srv: Server) -> httpx.Client:
    return client_at(srv, f"198.18.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}")


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _secret_of(html: str) -> str:
    match = re.search(r'id="otpauth-uri" href="([^"]+)"', html)
    assert match
    uri = match.group(1).replace("&amp;", "&")
    assert uri.startswith("otpauth://totp/")
    return parse_qs(urlsplit(uri).query)["secret"][0]


def test_a_moderator_sets_up_a_second_factor_from_the_account_page(proxied_server: Server) -> None:
    srv = proxied_server
    name = "selfmod-" + secrets.token_hex(3)
    _, password = new_staff(srv, "moderator", name)
    with _browser(srv) as http:
        assert console_sign_in(http, name, password).headers["location"] == "/console/queue"  # no code yet
        page = http.get("/console/account")
        assert page.status_code == 200 and 'id="totp-status"' in page.text
        assert not raw_enum_words(page_text(page.text)), raw_enum_words(page_text(page.text))
        csrf = _csrf(page.text)
        # Without the password again (a stolen session), no secret is handed out.
        refused = http.post("/console/account/totp", data={"csrf": csrf, "password": "not the password"})
        assert refused.status_code == 401 and 'id="otpauth-uri"' not in refused.text
        assert http.post("/console/account/totp", data={"password": password}).status_code == 403  # no CSRF token
        shown = http.post("/console/account/totp", data={"csrf": csrf, "password": password})
        assert shown.status_code == 200
        first_secret = _secret_of(shown.text)
        # A wrong code, or one of the secret shown before, confirms nothing and shows a new secret.
        wrong = http.post("/console/account/totp/confirm", data={"csrf": csrf, "code": "12345x"})
        assert wrong.status_code == 401
        second_secret = _secret_of(wrong.text)
        assert second_secret != first_secret
        stale = http.post("/console/account/totp/confirm",
                          data={"csrf": csrf, "code": pyotp.TOTP(first_secret).now()})
        assert stale.status_code == 401
        secret = _secret_of(stale.text)
        assert "未设置" in _status(http.get("/console/account").text)  # still off
        totp = pyotp.TOTP(secret)
        done = http.post("/console/account/totp/confirm", data={"csrf": csrf, "code": totp.now()})
        assert done.status_code == 303 and done.headers["location"] == "/console/account?done=totp"
        after = http.get("/console/account?done=totp").text
        assert 'id="totp-done"' in after and "已设置" in _status(after)
        # Once set up, the page offers no new secret, even with the password.
        again = http.post("/console/account/totp", data={"csrf": csrf, "password": password})
        assert again.status_code == 409 and 'id="otpauth-uri"' not in again.text
    with _browser(srv) as http:
        asked = console_sign_in(http, name, password)
        assert asked.headers["location"] == "/console/login/code"  # the next sign-in asks for a code
        later = totp.at(time.time() + 30)
        signed = http.post("/console/login/code", data={"code": later, "csrf": _login_csrf(http)})
        assert signed.status_code == 303 and signed.headers["location"] == "/console/queue"
    log = srv.log_path.read_text(errors="replace") if srv.log_path else ""
    assert secret not in log and password not in log


def _status(html: str) -> str:
    match = re.search(r'id="totp-status">([^<]*)<', html)
    assert match
    return match.group(1)


def _login_csrf(http: httpx.Client) -> str:
    return _csrf(http.get("/console/login/code").text)


def _enrolled(srv: Server, http: httpx.Client, name: str, password: str) -> pyotp.TOTP:
    """Signs in (no code yet) and sets up the second factor from the account page."""
    assert console_sign_in(http, name, password).headers["location"] == "/console/queue"
    csrf = _csrf(http.get("/console/account").text)
    totp = pyotp.TOTP(_secret_of(http.post("/console/account/totp", data={"csrf": csrf, "password": password}).text))
    assert http.post("/console/account/totp/confirm", data={"csrf": csrf, "code": totp.now()}).status_code == 303
    return totp


def _codes(html: str) -> list[str]:
    block = html.split('id="recovery-codes"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", block)


def _sign_in_with(srv: Server, name: str, password: str, code: str) -> httpx.Response:
    with _browser(srv) as http:
        assert console_sign_in(http, name, password).headers["location"] == "/console/login/code"
        return http.post("/console/login/code", data={"code": code, "csrf": _login_csrf(http)})


def test_recovery_codes_sign_in_once_each_and_a_new_set_or_a_reset_ends_the_old(embedded_server: Server) -> None:
    srv = embedded_server  # the shared test server: many sign-ins of one account, above the real limits
    name = "recover-" + secrets.token_hex(3)
    account_id, password = new_staff(srv, "moderator", name)
    with _browser(srv) as http:
        _enrolled(srv, http, name, password)
        page = http.get("/console/account").text
        assert "No recovery codes left" in page or "还没有可用的恢复码" in page
        csrf = _csrf(page)
        refused = http.post("/console/account/recovery", data={"csrf": csrf, "password": "not the password"})
        assert refused.status_code == 401 and 'id="recovery-codes"' not in refused.text
        made = http.post("/console/account/recovery", data={"csrf": csrf, "password": password})
        assert made.status_code == 200
        codes = _codes(made.text)
        assert len(codes) == 10 and len(set(codes)) == 10
    # A recovery code stands in for the authenticator once; typed in upper case with spaces it still counts.
    first = _sign_in_with(srv, name, password, codes[0].upper().replace("-", " "))
    assert first.status_code == 303 and first.headers["location"] == "/console/queue"
    assert _sign_in_with(srv, name, password, codes[0]).status_code == 401  # used
    assert _sign_in_with(srv, name, password, "abcde-fghjk").status_code == 401  # never issued
    assert _sign_in_with(srv, name, password, codes[1]).status_code == 303
    # A new set ends the old one.
    with _browser(srv) as http:
        assert console_sign_in(http, name, password).headers["location"] == "/console/login/code"
        assert http.post("/console/login/code", data={"code": codes[2], "csrf": _login_csrf(http)}).status_code == 303
        page = http.get("/console/account").text
        assert "7 unused recovery codes left" in page or "还有 7 个未用的恢复码" in page
        renewed = _codes(http.post("/console/account/recovery", data={"csrf": _csrf(page), "password": password}).text)
    assert _sign_in_with(srv, name, password, codes[3]).status_code == 401
    # An operator's reset of the second factor removes the codes with it.
    srv.cli("accounts", "totp-enrol", account_id, "--reset")
    with _browser(srv) as http:
        assert console_sign_in(http, name, password).headers["location"] == "/console/queue"  # not enrolled now
    cli_codes = srv.cli("accounts", "recovery-codes", account_id, check=False)
    assert cli_codes.returncode != 0 and "no second factor" in cli_codes.stderr
    with contextlib.closing(sqlite3.connect(srv.data_dir / "avlabel.sqlite3")) as db:
        assert db.execute("SELECT count(*) FROM staff_recovery_codes WHERE account_id = ?",
                          (account_id,)).fetchall() == [(0,)]
        audit = " ".join(f"{a} {d}" for a, d in db.execute("SELECT action, data FROM audit_log WHERE subject = ?",
                                                           (account_id,)))
    log = srv.log_path.read_text(errors="replace") if srv.log_path else ""
    for code in (*codes, *renewed):
        assert code not in log and code.replace("-", "") not in log and code not in audit
    assert "recovery_code_used" in audit
