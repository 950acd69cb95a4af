"""Staff sign in to the console by username or e-mail and password, with a TOTP second factor (pyotp):
optional for moderators and auditors, required of admins, each code good once; destructive actions ask
for a confirmation that names their scope; the zh console shows no stored word (issue 14)."""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp

from tests.backend.casework import (
    auth,
    console_login,
    console_sign_in,
    login_csrf,
    new_staff,
    page_text,
    raw_enum_words,
    report,
    sign_png,
)
from tests.conftest import Server, client_at


def _client(srv: Server) -> httpx.Client:
    """A browser at its own address, so each test has its own per-address sign-in budget."""
    return client_at(srv, f"198.51.100.{secrets.randbelow(250) + 1}")


def _code(client: httpx.Client, path: str, code: str) -> httpx.Response:
    return client.post(path, data={"code": code, "csrf": login_csrf(client)})


def _secret_of(uri: str) -> str:
    return parse_qs(urlsplit(uri).query)["secret"][0]


def test_username_or_email_then_a_totp_code_each_good_once(proxied_server: Server) -> None:
    srv = proxied_server
    name = "mod-" + secrets.token_hex(3)
    account_id, password = new_staff(srv, "moderator", name, email=f"{name}@Example.org")
    with _client(srv) as http:
        # By e-mail, any case; no second factor enrolled yet: straight to the queue.
        done = console_sign_in(http, f"{name.upper()}@EXAMPLE.ORG", password)
        assert done.status_code == 303 and done.headers["location"] == "/console/queue"
        assert console_sign_in(http, account_id, password).status_code == 401  # the id is no sign-in name
    uri = srv.cli("accounts", "totp-enrol", account_id).stdout.strip()
    assert uri.startswith("otpauth://totp/") and "issuer=avlabel" in uri
    totp = pyotp.TOTP(_secret_of(uri))
    first = totp.now()
    srv.cli("accounts", "totp-confirm", account_id, first)
    with _client(srv) as http:
        asked = console_sign_in(http, name, password)
        assert asked.status_code == 303 and asked.headers["location"] == "/console/login/code"
        assert "avlabel_console" not in http.cookies  # no session before the code
        assert http.get("/console/queue").headers["location"] == "/console/login"
        page = http.get("/console/login/code")
        assert page.status_code == 200 and 'name="code"' in page.text
        replayed = _code(http, "/console/login/code", first)
        assert replayed.status_code == 401 and "已使用" in replayed.text
        assert _code(http, "/console/login/code", "000000" if first != "000000" else "111111").status_code == 401
        later = totp.at(time.time() + 30)  # the next step's code, inside the ±1 step window
        signed = _code(http, "/console/login/code", later)
        assert signed.status_code == 303 and signed.headers["location"] == "/console/queue"
        assert http.get("/console/queue").status_code == 200
    with _client(srv) as other:
        assert console_sign_in(other, name, password).status_code == 303
        assert _code(other, "/console/login/code", later).status_code == 401  # used once already
    with srv.client() as http:
        view = http.get(f"/v1/accounts/{account_id}", headers=auth(srv, "admin")).json()
        assert view["totp_enrolled"] is True and view["username"] == name
        entries = http.get("/v1/audit/entries", params={"limit": 1000}, headers=auth(srv, "auditor")).text
    secret = _secret_of(uri)
    assert secret not in str(view) and secret not in entries
    assert srv.log_path is not None and secret not in srv.log_path.read_text(errors="replace")
    assert password not in srv.log_path.read_text(errors="replace")


def test_an_admin_without_totp_must_enrol_before_signing_in(proxied_server: Server) -> None:
    srv = proxied_server
    name = "admin-" + secrets.token_hex(3)
    account_id, password = new_staff(srv, "admin", name)
    with _client(srv) as http:
        asked = console_sign_in(http, name, password)
        assert asked.status_code == 303 and asked.headers["location"] == "/console/login/enrol"
        assert http.get("/console/queue").headers["location"] == "/console/login"
        page = http.get("/console/login/enrol")
        assert 'id="enrol-required"' in page.text
        shown = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page.text)
        assert shown
        wrong = _code(http, "/console/login/enrol", "000000" if pyotp.TOTP(shown.group(1)).now() != "000000"
                      else "111111")
        assert wrong.status_code == 401
        again = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', wrong.text)
        assert again and again.group(1) != shown.group(1)  # an unconfirmed secret is replaced, never re-shown
        done = _code(http, "/console/login/enrol", pyotp.TOTP(again.group(1)).now())
        assert done.status_code == 303 and done.headers["location"] == "/console/queue"
        assert http.get("/console/queue").status_code == 200
    with _client(srv) as http:
        assert console_sign_in(http, name, password).headers["location"] == "/console/login/code"
        # The pending step is bound to this browser's sign-in form: a forged one names no one.
        http.cookies.set("avlabel_console_2fa", f"{account_id}|code|9999999999|{'0' * 64}", path="/console")
        assert http.get("/console/login/code").headers["location"] == "/console/login"
    assert srv.cli("accounts", "totp-enrol", account_id, check=False).returncode != 0  # enrolled: --reset only


def test_suspension_asks_for_a_confirmation_naming_the_account(embedded_server: Server, tmp_path: Path) -> None:
    srv = embedded_server
    studio = f"Confirm Studio {secrets.token_hex(3)}"
    srv.keys[studio] = srv.create_account("publisher", studio)
    cid = sign_png(srv, tmp_path, 1701, key=studio)
    with srv.client() as http:
        case_id = report(http, content_id=cid).json()["case_id"]
        publisher = http.get("/v1/accounts/me", headers=auth(srv, studio)).json()["id"]
    moderator, csrf = console_login(srv, "moderator")
    with contextlib.closing(moderator):
        page = moderator.get(f"/console/cases/{case_id}")
        act_form = re.search(r'<form[^>]*id="act".*?</form>', page.text, re.S)
        assert act_form and 'value="dismiss"' in act_form.group(0) and 'value="suspend"' not in act_form.group(0)
        ask = moderator.post(f"/console/cases/{case_id}/actions",
                             data={"csrf": csrf, "action": "suspend", "reasons": "repeated unlabelled uploads"})
        assert ask.status_code == 200 and 'id="confirm-form"' in ask.text
        scope = page_text(re.search(r'<section id="confirm-scope".*?</section>', ask.text, re.S).group(0))  # type: ignore[union-attr]
        assert studio in scope and publisher in scope and "Active" in scope and "can no longer sign" in scope
        with srv.client() as http:
            assert http.get(f"/v1/accounts/{publisher}", headers=auth(srv, "admin")).json()["status"] == "active"
        forged = moderator.post(f"/console/cases/{case_id}/actions", data={
            "csrf": csrf, "action": "suspend", "reasons": "repeated unlabelled uploads", "confirm": "yes"})
        assert 'id="confirm-form"' in forged.text  # a guessed confirmation is only asked again
        token = re.search(r'name="confirm" value="([0-9a-f]+)"', ask.text).group(1)  # type: ignore[union-attr]
        done = moderator.post(f"/console/cases/{case_id}/actions", data={
            "csrf": csrf, "action": "suspend", "reasons": "repeated unlabelled uploads", "confirm": token})
        assert done.status_code == 200 and done.url.path == f"/console/cases/{case_id}"
    with srv.client() as http:
        assert http.get(f"/v1/accounts/{publisher}", headers=auth(srv, "admin")).json()["status"] == "suspended"


def test_the_zh_console_shows_no_stored_words(embedded_server: Server, tmp_path: Path) -> None:
    srv = embedded_server
    cid = sign_png(srv, tmp_path, 1702)
    with srv.client() as http:
        case_id = report(http, content_id=cid, category="wrong_ai_label",
                         description="标识不对 (wrong marking)").json()["case_id"]
        assert http.post(f"/v1/cases/{case_id}/actions", headers=auth(srv, "moderator"),
                         json={"action": "stop_until_labelled", "reasons": "paused for review: no visible marking"}
                         ).status_code == 201
    console, _ = console_login(srv, "moderator", locale="zh")
    with contextlib.closing(console):
        for path in ("/console/queue?status=all", f"/console/cases/{case_id}", "/console/metrics",
                     "/console/review"):
            page = console.get(path)
            assert page.status_code == 200 and '<html lang="zh">' in page.text
            assert raw_enum_words(page_text(page.text)) == set(), path
        case = page_text(console.get(f"/console/cases/{case_id}").text)
        assert "暂停传播，待添加标识" in case and "AI标识错误" in case
