"""Helpers shared by the report, case, account and audit tests: sign media, report it, act on it."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import httpx

from tests import media_factory
from tests.conftest import Server

ORIGIN = "https://news.example"


def sign_png(srv: Server, tmp_path: Path, seed: int, key: str = "publisher") -> str:
    path = media_factory.png(tmp_path / f"case{seed}.png", seed=seed)
    with srv.client() as http, path.open("rb") as fh:
        resp = http.post("/v1/sign", headers={"Authorization": f"Bearer {srv.keys[key]}"},
                         files={"file": (path.name, fh)}, data={"generator": "case-gen 1.0"})
    assert resp.status_code == 200, resp.text
    return resp.headers["X-Content-Id"]


def report(http: httpx.Client, **fields: object) -> httpx.Response:
    body = {"category": "unlabelled_ai", "description": "no AI label on this clip", "good_faith": True, **fields}
    return http.post("/v1/reports", json=body, headers={"Origin": ORIGIN})


def auth(srv: Server, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {srv.keys[role]}"}


def act(http: httpx.Client, srv: Server, case_id: str, action: str, role: str = "moderator",
        **fields: Any) -> httpx.Response:
    body = {"action": action, "reasons": f"e2e decision: {action} per rules 4.2", **fields}
    return http.post(f"/v1/cases/{case_id}/actions", json=body, headers=auth(srv, role))


def login_csrf(client: httpx.Client) -> str:
    """The sign-in form's CSRF token (and its pre-session cookie, kept by the client)."""
    match = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text)
    assert match
    return match.group(1)


def console_sign_in(client: httpx.Client, login: str, password: str) -> httpx.Response:
    """Posts the sign-in form: `login` is a username or e-mail."""
    return client.post("/console/login", data={"login": login, "password": password, "csrf": login_csrf(client)})


def give_username(srv: Server, account_id: str, username: str | None = None, email: str | None = None) -> str:
    """An admin gives a staff account its sign-in username (by default its id, which fits the rules)."""
    name = username or account_id
    body = {"username": name, **({"email": email} if email else {})}
    with srv.client() as http:
        resp = http.post(f"/v1/accounts/{account_id}/login", headers=auth(srv, "admin"), json=body)
    assert resp.status_code == 200, resp.text
    return name


def set_console_password(srv: Server, role: str) -> tuple[str, str]:
    """The (username, new password) of the staff account behind the role's API key."""
    password = secrets.token_urlsafe(16)
    with srv.client() as http:
        me = http.get("/v1/accounts/me", headers=auth(srv, role)).json()
        assert http.post(f"/v1/accounts/{me['id']}/password", headers=auth(srv, "admin"),
                         json={"password": password}).status_code == 204
    return give_username(srv, me["id"]), password


def console_login(srv: Server, role: str, locale: str = "en") -> tuple[httpx.Client, str]:
    """A signed-in console client for the account behind the role's API key, and its CSRF token; the
    console speaks `locale` to it (these tests read the English pages; zh is the default)."""
    username, password = set_console_password(srv, role)
    client = srv.client(follow_redirects=True)
    page = console_sign_in(client, username, password)
    assert page.status_code == 200 and page.url.path == "/console/queue"
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    page = client.post("/console/settings", data={"csrf": match.group(1), "locale": locale, "back": "/console/queue"})
    assert page.status_code == 200 and f'lang="{locale}"' in page.text
    return client, match.group(1)


def new_staff(srv: Server, role: str, username: str, email: str | None = None) -> tuple[str, str]:
    """A new staff account with a console password and a username: (account id, password)."""
    password = "pw-" + secrets.token_urlsafe(16)
    with srv.client() as http:
        made = http.post("/v1/accounts", headers=auth(srv, "admin"), json={"name": f"Staff {username}", "role": role})
        assert made.status_code == 201, made.text
        account_id: str = made.json()["id"]
        assert http.post(f"/v1/accounts/{account_id}/password", headers=auth(srv, "admin"),
                         json={"password": password}).status_code == 204
    give_username(srv, account_id, username, email)
    return account_id, password


# A stored word (`stop_until_labelled`, `open`) standing alone in a page's text, not part of an id or a name.
RAW_WORD = re.compile(r"(?<![A-Za-z0-9_.:/-])[a-z]+(?:_[a-z0-9]+)*(?![A-Za-z0-9_./:-])")


def raw_enum_words(text: str) -> set[str]:
    """The vocabulary's stored words (every member of the enums the console translates) found in `text`."""
    from backend.web.console_words import raw_values

    return set(RAW_WORD.findall(text)) & raw_values()


def page_text(html: str) -> str:
    """What a reader sees of a server-rendered page: no scripts, no tags or attributes."""
    import html as html_mod

    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    body = re.sub(r"<option[^>]*>", " ", body)  # an option's value is not shown, its text is
    return html_mod.unescape(re.sub(r"<[^>]+>", " ", body))
