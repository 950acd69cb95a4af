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
    body = {"category": "unlabelled_ai", "description": "no AI label on this clip", **fields}
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


def console_sign_in(client: httpx.Client, account_id: str, password: str) -> httpx.Response:
    return client.post("/console/login", data={"account": account_id, "password": password,
                                               "csrf": login_csrf(client)})


def console_login(srv: Server, role: str) -> tuple[httpx.Client, str]:
    """A signed-in console client for the account behind the role's API key, and its CSRF token."""
    password = secrets.token_urlsafe(16)
    with srv.client() as http:
        me = http.get("/v1/accounts/me", headers=auth(srv, role)).json()
        assert http.post(f"/v1/accounts/{me['id']}/password", headers=auth(srv, "admin"),
                         json={"password": password}).status_code == 204
    client = srv.client(follow_redirects=True)
    page = console_sign_in(client, me["id"], password)
    assert page.status_code == 200 and page.url.path == "/console/queue"
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    return client, match.group(1)
