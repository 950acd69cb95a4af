"""Hostile headers, cookies and webhook URLs against sessions, limits and the outbound policy (issue 13):
each ends in a clear answer, never a 5xx, and none picks a rate-limit bucket or reaches inward."""

from __future__ import annotations

import secrets

import pytest

from tests.backend.casework import auth, report
from tests.conftest import Server

FORWARDED = ["<script>alert(1)</script>", "999.1.1.1", "::ffff:zz", "1.2.3.4, , ,", "a" * 5000,
             "[2001:db8::1]", "2001:db8::1%eth0", "unknown, 127.0.0.1", "\u202e1.2.3.4"]
COOKIES = ["x" * 4000, "%00", "' OR 1=1 --", "Zm9v.YmFy.c2ln"]
WEBHOOKS = ["http://", "https://user:pw@example.com/", "https://[::1", "https://example.com:99999/",
            "file:///etc/passwd", "gopher://127.0.0.1:6379/_FLUSHALL", "https://0x7f000001/", "https://2130706433/",
            "https://127.1/", "https://[::ffff:169.254.169.254]/", "http://10.0.0.1\\@example.com/"]


@pytest.mark.parametrize("value", FORWARDED)
def test_hostile_x_forwarded_for(proxied_server: Server, value: str) -> None:
    with proxied_server.client(headers={"X-Forwarded-For": value.encode("utf-8")}) as http:
        resp = report(http, sha256=secrets.token_hex(32))
        assert resp.status_code in (201, 429), resp.text


@pytest.mark.parametrize("value", COOKIES)
def test_hostile_console_cookies(proxied_server: Server, value: str) -> None:
    with proxied_server.client() as http:
        http.cookies.set("avlabel_console", value)
        http.cookies.set("avlabel_console_login", value)
        assert http.get("/console/queue").status_code == 303
        refused = http.post("/console/login", data={"login": "a", "password": "b", "csrf": value})
        assert refused.status_code in (403, 429)


@pytest.mark.parametrize("url", WEBHOOKS)
def test_hostile_webhook_urls(production_like: Server, url: str) -> None:
    srv = production_like
    with srv.client() as http:
        me = http.get("/v1/accounts/me", headers=auth(srv, "publisher")).json()["id"]
        resp = http.patch(f"/v1/accounts/{me}", headers=auth(srv, "admin"), json={"webhook_url": url})
        assert resp.status_code == 400, (url, resp.text)


@pytest.fixture(scope="module")
def production_like(tmp_path_factory: pytest.TempPathFactory) -> Server:
    """Development otherwise, but with the strict destination policy a production server has."""
    from tests.conftest import make_server

    srv = make_server(tmp_path_factory.mktemp("strict-outbound"), False, AVLABEL_OUTBOUND_ALLOW_PRIVATE="false")
    srv.start()
    yield srv  # type: ignore[misc]
    srv.stop()
