"""Rate limits per real client behind a trusted proxy, IPv6 per /64, never from a header an untrusted
peer wrote (issue 13, item 5), through the running server."""

from __future__ import annotations

import secrets

import httpx

from tests.backend.casework import report
from tests.conftest import Server, client_at


def reports_from(http: httpx.Client, n: int) -> list[httpx.Response]:
    return [report(http, sha256=secrets.token_hex(32)) for _ in range(n)]


def test_each_client_behind_the_proxy_has_its_own_report_budget(proxied_server: Server) -> None:
    srv = proxied_server  # 3 reports per client per hour
    with client_at(srv, "192.0.2.10") as alice, client_at(srv, "192.0.2.11") as bob:
        first = reports_from(alice, 4)
        assert [r.status_code for r in first] == [201, 201, 201, 429]
        error = first[3].json()["error"]
        assert error["code"] == "rate_limited" and "举报过于频繁" in error["message"]  # the dialog may be Chinese
        assert first[3].headers["access-control-allow-origin"]  # and the plugin can read it
        assert [r.status_code for r in reports_from(bob, 3)] == [201, 201, 201]  # the site does not share one


def test_ipv6_clients_are_counted_per_64(proxied_server: Server) -> None:
    srv = proxied_server
    statuses = []
    # One /64 is one host's (or household's) addresses: rotating through it gains nothing.
    for address in ("2001:db8:aa:1::1", "2001:db8:aa:1::2", "2001:db8:aa:1:ffff:ffff:ffff:ffff", "2001:db8:aa:1::abcd"):
        with client_at(srv, address) as http:
            statuses.append(report(http, sha256=secrets.token_hex(32)).status_code)
    with client_at(srv, "2001:db8:aa:2::1") as other:
        assert report(other, sha256=secrets.token_hex(32)).status_code == 201
    assert statuses == [201, 201, 201, 429]


def test_an_untrusted_peer_cannot_pick_its_bucket_with_x_forwarded_for(proxied_server: Server) -> None:
    srv = proxied_server  # only 127.0.0.1 is the proxy; this client connects from 127.0.0.2
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    statuses = []
    with httpx.Client(base_url=srv.url, transport=transport, timeout=60) as http:
        for n in range(4):
            http.headers["X-Forwarded-For"] = f"192.0.2.{100 + n}"  # a new "client" every time
            statuses.append(report(http, sha256=secrets.token_hex(32)).status_code)
    assert statuses == [201, 201, 201, 429]
