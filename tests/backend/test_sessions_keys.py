"""Console sessions that can be revoked, CSRF on the sign-in form, and API keys checked against account
status on every request (issue 13, item 3), through the running server."""

from __future__ import annotations

import contextlib
import re
import secrets
import stat

import httpx

from tests.backend.casework import auth, console_sign_in, give_username, login_csrf
from tests.conftest import Server, client_at


def browser(srv: Server, **kwargs: object) -> httpx.Client:
    """A client at its own address behind the proxy, so sign-ins here never share a per-address budget."""
    return client_at(srv, f"198.51.100.{secrets.randbelow(250) + 1}", **kwargs)


def staff(srv: Server, role: str) -> tuple[str, str, str]:
    """A new staff account: (id, API key, console password)."""
    with srv.client() as http:
        made = http.post("/v1/accounts", headers=auth(srv, "admin"), json={"name": f"{role} {secrets.token_hex(3)}",
                                                                           "role": role})
        assert made.status_code == 201, made.text
        account_id = made.json()["id"]
        key = http.post(f"/v1/accounts/{account_id}/keys", headers=auth(srv, "admin")).json()["api_key"]
        password = secrets.token_urlsafe(16)
        assert http.post(f"/v1/accounts/{account_id}/password", headers=auth(srv, "admin"),
                         json={"password": password}).status_code == 204
    give_username(srv, account_id)  # the id itself: these tests sign in with it
    return account_id, key, password


def signed_in(srv: Server, account_id: str, password: str) -> tuple[httpx.Client, str, str]:
    """A console client, its CSRF token and the raw session cookie (what a thief would copy)."""
    client = browser(srv, follow_redirects=True)
    page = console_sign_in(client, account_id, password)
    assert page.url.path == "/console/queue", page.text[:300]
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    return client, match.group(1), client.cookies["avlabel_console"]


def replay(srv: Server, cookie: str) -> httpx.Response:
    """The stolen cookie in a fresh browser."""
    with browser(srv) as other:
        other.cookies.set("avlabel_console", cookie)
        return other.get("/console/queue")


def test_logout_and_password_reset_end_the_session_for_good(proxied_server: Server) -> None:
    srv = proxied_server
    account_id, _, password = staff(srv, "moderator")
    client, csrf, cookie = signed_in(srv, account_id, password)
    with contextlib.closing(client):
        assert replay(srv, cookie).status_code == 200  # the cookie is the session while it lives
        client.post("/console/logout", data={"csrf": csrf})
    refused = replay(srv, cookie)
    assert refused.status_code == 303 and refused.headers["location"] == "/console/login"

    client, _, cookie = signed_in(srv, account_id, password)
    with contextlib.closing(client), srv.client() as http:
        assert http.post(f"/v1/accounts/{account_id}/password", headers=auth(srv, "admin"),
                         json={"password": secrets.token_urlsafe(16)}).status_code == 204
        assert client.get("/console/queue").url.path == "/console/login"
    assert replay(srv, cookie).status_code == 303


def test_suspended_staff_lose_console_and_api_keys_at_once(proxied_server: Server) -> None:
    srv = proxied_server
    account_id, key, password = staff(srv, "moderator")
    client, _, cookie = signed_in(srv, account_id, password)
    bearer = {"Authorization": f"Bearer {key}"}
    with contextlib.closing(client), srv.client() as http:
        assert http.get("/v1/cases", headers=bearer).status_code == 200
        assert http.patch(f"/v1/accounts/{account_id}", headers=bearer,
                          json={"status": "suspended"}).status_code == 403  # only an admin
        done = http.patch(f"/v1/accounts/{account_id}", headers=auth(srv, "admin"), json={"status": "suspended"})
        assert done.status_code == 200 and done.json()["status"] == "suspended"
        refused = http.get("/v1/cases", headers=bearer)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_suspended"
        assert http.get("/v1/accounts/me", headers=bearer).json()["status"] == "suspended"  # it may see why
        assert client.get("/console/queue").url.path == "/console/login"
        assert replay(srv, cookie).status_code == 303
        # Reinstated: the key works again, the old session stays ended.
        assert http.patch(f"/v1/accounts/{account_id}", headers=auth(srv, "admin"),
                          json={"status": "active"}).status_code == 200
        assert http.get("/v1/cases", headers=bearer).status_code == 200
        assert replay(srv, cookie).status_code == 303
        bad = http.patch(f"/v1/accounts/{account_id}", headers=auth(srv, "admin"), json={"status": "asleep"})
        assert bad.status_code == 400


def test_sign_in_form_needs_its_csrf_token(proxied_server: Server) -> None:
    srv = proxied_server
    account_id, _, password = staff(srv, "auditor")
    with browser(srv) as http:
        no_token = http.post("/console/login", data={"login": account_id, "password": password})
        assert no_token.status_code == 403 and "avlabel_console" not in no_token.cookies
        # A token from another browser's pre-session (a login-CSRF attacker's own) does not fit this one.
        with browser(srv) as attacker:
            foreign = login_csrf(attacker)
        login_csrf(http)
        wrong = http.post("/console/login", data={"login": account_id, "password": password, "csrf": foreign})
        assert wrong.status_code == 403 and "avlabel_console" not in wrong.cookies
        cross = http.post("/console/login", headers={"Origin": "https://evil.example"},
                          data={"login": account_id, "password": password, "csrf": login_csrf(http)})
        assert cross.status_code == 403
        assert console_sign_in(http, account_id, password).status_code == 303


def test_login_is_throttled_per_account_across_addresses(proxied_server: Server) -> None:
    """Guesses at one account from many addresses (each under its own per-address budget) are limited
    by the account's own budget; other accounts are not affected."""
    srv = proxied_server
    account_id, _, password = staff(srv, "auditor")
    statuses = []
    for n in range(11):
        with client_at(srv, f"203.0.113.{n + 1}") as http:
            statuses.append(console_sign_in(http, account_id, "wrong password!").status_code)
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    with client_at(srv, "203.0.113.99") as http:
        assert console_sign_in(http, account_id, password).status_code == 429  # even the right one, for now
        other_id, _, other_password = staff(srv, "auditor")
        assert console_sign_in(http, other_id, other_password).status_code == 303


def test_login_is_throttled_per_address_across_accounts(proxied_server: Server) -> None:
    """One address trying many accounts is limited by its own budget (10 a minute); another address is not."""
    srv = proxied_server
    address = f"192.0.2.{secrets.randbelow(200) + 20}"
    statuses = []
    with client_at(srv, address) as http:
        for n in range(11):
            statuses.append(console_sign_in(http, f"nobody-{secrets.token_hex(3)}-{n}", "guess").status_code)
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    account_id, _, password = staff(srv, "auditor")
    with client_at(srv, "192.0.2.250") as http:
        assert console_sign_in(http, account_id, password).status_code == 303


def test_first_run_secret_and_private_files(embedded_server: Server) -> None:
    srv = embedded_server
    secret = srv.data_dir / "secret.key"
    assert len(secret.read_text().strip()) >= 48
    assert "dev-only-insecure-secret" not in secret.read_text()
    assert stat.S_IMODE(srv.data_dir.stat().st_mode) == 0o700
    for path in (secret, srv.data_dir / "avlabel.sqlite3", srv.data_dir / "keys" / "dev-ca.key.pem",
                 srv.data_dir / "keys" / "dev-signer.key.pem"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((srv.data_dir / "keys").stat().st_mode) == 0o700
