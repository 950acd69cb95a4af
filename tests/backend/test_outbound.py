"""Outbound requests under a destination policy (issue 13, item 7): webhook URLs to loopback, private,
link-local or metadata addresses, or to names resolving there, are refused up front (400) and again at
delivery time; outside development only https. Development allows local receivers explicitly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from backend.outbound import DestinationRefused, OutboundClient, Policy
from backend.signing.keys import issue_signer_cert, make_ca
from tests.backend.casework import act, auth, report, sign_png
from tests.backend.test_cases import Receiver
from tests.conftest import Server, free_port, make_server

REFUSED_EVERYWHERE = ["127.0.0.1", "10.1.2.3", "192.168.0.7", "169.254.169.254", "[::1]", "[fd00::1]",
                      "[fe80::1]", "[::ffff:127.0.0.1]", "0.0.0.0", "100.64.0.1"]  # noqa: S104 - refused targets


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A production-mode server: its own signing key, a real secret, the strict outbound policy."""
    keys = tmp_path_factory.mktemp("prod-keys")
    ca_key, ca_cert = make_ca("Test Production CA", "avlabel tests")
    key, cert = issue_signer_cert(ca_key, ca_cert, "Test Production Signer", "avlabel tests")
    (keys / "signer.key.pem").write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    (keys / "signer.chain.pem").write_bytes(cert.public_bytes(Encoding.PEM) + ca_cert.public_bytes(Encoding.PEM))
    (keys / "ca.pem").write_bytes(ca_cert.public_bytes(Encoding.PEM))
    srv = make_server(tmp_path_factory.mktemp("production"), False, AVLABEL_ENVIRONMENT="production",
                      AVLABEL_SECRET_KEY=secrets.token_urlsafe(48),
                      AVLABEL_SIGNING_KEY=str(keys / "signer.key.pem"),
                      AVLABEL_SIGNING_CHAIN=str(keys / "signer.chain.pem"),
                      AVLABEL_TRUST_ANCHORS=json.dumps([str(keys / "ca.pem")]))
    srv.start()
    yield srv
    srv.stop()


def set_webhook(srv: Server, account_id: str, url: str) -> Any:
    with srv.client() as http:
        return http.patch(f"/v1/accounts/{account_id}", headers=auth(srv, "admin"), json={"webhook_url": url})


def publisher_id(srv: Server) -> str:
    with srv.client() as http:
        return str(http.get("/v1/accounts/me", headers=auth(srv, "publisher")).json()["id"])


def test_production_refuses_inward_and_plain_http_webhook_urls(production: Server) -> None:
    srv = production
    account = publisher_id(srv)
    port = free_port()
    for host in REFUSED_EVERYWHERE:
        resp = set_webhook(srv, account, f"https://{host}:{port}/hook")
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "destination_refused", (host, resp.text)
    # A DNS name that resolves to 127.0.0.1 is refused after resolution, not by its spelling.
    named = set_webhook(srv, account, f"https://localhost:{port}/hook")
    assert named.status_code == 400 and "127.0.0.1" in named.json()["error"]["message"]
    plain = set_webhook(srv, account, "http://93.184.215.14/hook")
    assert plain.status_code == 400 and "https" in plain.json()["error"]["message"]
    accepted = set_webhook(srv, account, "https://93.184.215.14/hook")  # a public address
    assert accepted.status_code == 200 and accepted.json()["webhook_url"] == "https://93.184.215.14/hook"
    assert set_webhook(srv, account, None).status_code == 200  # (removed again: nothing is sent there)


def test_a_stored_inward_url_is_refused_at_delivery_too(production: Server, tmp_path: Path) -> None:
    """A URL stored before the policy (or a name re-pointed inward since) never gets a request."""
    srv = production
    receiver = Receiver()
    try:
        account = publisher_id(srv)
        with contextlib.closing(sqlite3.connect(srv.data_dir / "avlabel.sqlite3")) as lite:
            lite.execute("UPDATE accounts SET webhook_url = ?, webhook_secret = 'whsec_x' WHERE id = ?",
                         (f"https://localhost:{receiver.port}/hook", account))
            lite.commit()
        cid = sign_png(srv, tmp_path, 301)
        with srv.client() as http:
            case_id = report(http, content_id=cid).json()["case_id"]
            assert act(http, srv, case_id, "warn", reasons="warning: unlabelled").status_code == 201
        deadline = time.monotonic() + 20
        errors: list[str] = []
        while not errors and time.monotonic() < deadline:
            with contextlib.closing(sqlite3.connect(srv.data_dir / "avlabel.sqlite3")) as lite:
                errors = [r[0] or "" for r in lite.execute(
                    "SELECT error FROM webhook_deliveries WHERE account_id = ?", (account,))]
            time.sleep(0.2)
        assert errors and errors[0].startswith("destination_refused") and "loopback" in errors[0], errors
        assert receiver.received == []
    finally:
        receiver.close()


@contextlib.contextmanager
def local_endpoint(status: int, body: bytes, location: str | None = None) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_client_follows_no_redirect_and_caps_the_answer() -> None:
    async def run() -> None:
        dev = OutboundClient(Policy(allow_private=True, allow_http=True, timeout=5, max_response_bytes=1000))
        strict = OutboundClient(Policy(timeout=5))
        try:
            with local_endpoint(302, b"", location="http://169.254.169.254/latest/meta-data") as port:
                answer = await dev.post(f"http://127.0.0.1:{port}/hook", b"{}", {})
                assert answer.status == 302  # reported as a failed delivery, never followed
            with local_endpoint(200, b"x" * 200_000) as port:
                answer = await dev.post(f"http://localhost:{port}/hook", b"{}", {})
                assert answer.status == 200 and len(answer.body) == 1000
                with pytest.raises(DestinationRefused, match="only https"):
                    await strict.post(f"http://localhost:{port}/hook", b"{}", {})
                with pytest.raises(DestinationRefused, match="loopback"):
                    await strict.post(f"https://localhost:{port}/hook", b"{}", {})
        finally:
            await dev.aclose()
            await strict.aclose()

    asyncio.run(run())
