"""Case handling (Art. 12-14) against running servers: the queue, each action with its reasons and
its effect on label documents, copies, the publisher's account and the publisher's signed webhook."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests import media_factory
from tests.backend.casework import act, auth, console_login, report, sign_png
from tests.conftest import Api, Server, free_port, make_server


def label(http: httpx.Client, content_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = http.get(f"/v1/labels/{content_id}").json()
    return doc


def test_moderator_actions_change_labels_and_the_reporter_sees_the_outcome(server: Server, tmp_path: Path) -> None:
    cid = sign_png(server, tmp_path, 80)
    with server.client() as http:
        assert label(http, cid)["state"] == "signed_synthetic"
        receipt = report(http, content_id=cid).json()
        case_id = receipt["case_id"]
        assert act(http, server, case_id, "acknowledge", reasons="").status_code == 201
        follow = {"Authorization": f"Bearer {receipt['secret']}"}
        assert http.get(receipt["status_url"], headers=follow).json()["status"] == "in_review"
        assert act(http, server, case_id, "stop_until_labelled",
                   public_statement="Paused until it carries an AI label").status_code == 201
        doc = label(http, cid)  # no wait: the action dropped the cached document
        # Players get the public statement; the statement of reasons stays internal (issue 13).
        assert doc["state"] == "pending_label" and doc["block"]["reason"] == "Paused until it carries an AI label"
        assert act(http, server, case_id, "label").status_code == 201
        doc = label(http, cid)
        assert doc["state"] == "signed_synthetic" and doc["display"]["en"] == "AI-generated content"
        assert act(http, server, case_id, "block", reasons="prohibited content: violent extremism").status_code == 201
        doc = label(http, cid)
        assert doc["state"] == "blocked" and doc["block"]["reason"] is None  # no public statement given
        view = http.get(receipt["status_url"], headers=follow).json()
        assert view["status"] == "decided"
        assert view["outcome"]["action"] == "block"
        assert view["outcome"]["reasons"] == "prohibited content: violent extremism"
        page = http.get(f"/reports/{receipt['id']}", params={"secret": receipt["secret"]}).text
        assert "violent extremism" in page
        case = http.get(f"/v1/cases/{case_id}", headers=auth(server, "auditor")).json()
        assert [a["action"] for a in case["actions"]] == ["acknowledge", "stop_until_labelled", "label", "block"]
        # Blocked media joins the prohibited fingerprint list, so re-uploads of it are recognised.
        listed = http.get("/v1/fingerprints/prohibited", headers=auth(server, "moderator")).json()["items"]
        assert cid in {item["ref"] for item in listed}
        assert all(a["actor"] for a in case["actions"])


def test_refutation_reaches_every_registered_copy(server: Server, tmp_path: Path) -> None:
    original = media_factory.png(tmp_path / "rumour.png", seed=81)
    copy_path = tmp_path / "copy.png"
    shutil.copyfile(original, copy_path)
    first = sign_png(server, tmp_path, 81)  # same bytes as `original`
    with server.client() as http, copy_path.open("rb") as fh:
        resp = http.post("/v1/sign", headers=auth(server, "publisher"), files={"file": ("copy.png", fh)},
                         data={"generator": "case-gen 1.0"})
        second = resp.headers["X-Content-Id"]
        case_id = report(http, content_id=first, category="rumour").json()["case_id"]
        refutation = {"zh": "经核实，该图片系伪造", "en": "Verified: this picture is fabricated",
                      "url": "https://example.org/fact-check/81"}
        missing = act(http, server, case_id, "refute")
        assert missing.status_code == 400 and missing.json()["error"]["code"] == "refutation_required"
        bad_url = act(http, server, case_id, "refute", refutation={**refutation, "url": "javascript:alert(1)"})
        assert bad_url.json()["error"]["code"] == "invalid_refutation_url"
        done = act(http, server, case_id, "refute", refutation=refutation)
        assert done.status_code == 201, done.text
        for content_id in (first, second):
            doc = label(http, content_id)
            assert doc["state"] == "refuted"
            assert doc["refutation"] == refutation
    with psycopg.connect(server.env["DATABASE_URL"]) as conn:
        refs = conn.execute("SELECT DISTINCT ref FROM fingerprint_log WHERE list_name = 'refuted'").fetchall()
    assert (first,) in refs  # copies that are re-encoded rather than registered are recognised too


@pytest.fixture(scope="module")
def sla_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Embedded, with service levels of 3.6 and 36 seconds so overdue cases appear in a test."""
    srv = make_server(tmp_path_factory.mktemp("sla"), False, AVLABEL_CASE_ACK_HOURS="0.001",
                      AVLABEL_CASE_DECIDE_HOURS="0.01", AVLABEL_RESTRICTED_SIGNINGS_PER_HOUR="2")
    srv.start()
    yield srv
    srv.stop()


def test_queue_orders_by_severity_then_age_and_flags_overdue(sla_server: Server) -> None:
    srv = sla_server
    with srv.client() as http:
        ids = {}
        for category in ("other", "illegal", "rumour", "illegal"):
            ids.setdefault(category, []).append(
                report(http, sha256=hashlib.sha256(f"{category}{time.time()}".encode()).hexdigest(),
                       category=category).json()["case_id"])
        queue = http.get("/v1/cases", headers=auth(srv, "moderator")).json()
        order = [c["id"] for c in queue["cases"]]
        mine = [i for i in order if i in sum(ids.values(), [])]
        assert mine == [*ids["illegal"], *ids["rumour"], *ids["other"]]
        assert not any(c["overdue"] for c in queue["cases"] if c["id"] in mine)
        assert queue["service_levels"]["acknowledge_hours"] == 0.001
        time.sleep(4)
        assert act(http, srv, ids["rumour"][0], "dismiss", reasons="not a rumour: satire, labelled").status_code == 201
        later = {c["id"]: c for c in http.get("/v1/cases", params={"status": "all"},
                                              headers=auth(srv, "moderator")).json()["cases"]}
        assert later[ids["illegal"][0]]["overdue"] and later[ids["illegal"][0]]["overdue_acknowledge"]
        assert not later[ids["rumour"][0]]["overdue"]  # decided cases leave the overdue list
        pending = [c["id"] for c in http.get("/v1/cases", headers=auth(srv, "moderator")).json()["cases"]]
        assert ids["rumour"][0] not in pending
    console, _csrf = console_login(srv, "moderator")
    with contextlib.closing(console):
        page = console.get("/console/queue").text
    row = re.search(rf'<tr data-case-id="{ids["illegal"][0]}"[^>]*>.*?</tr>', page, re.S)
    assert row and 'class="overdue"' in row.group(0) and '<span class="flag">overdue</span>' in row.group(0)


def test_a_restricted_publisher_signs_at_a_reduced_rate(sla_server: Server, tmp_path: Path) -> None:
    srv = sla_server
    cid = sign_png(srv, tmp_path, 87)
    with srv.client() as http:
        case_id = report(http, content_id=cid).json()["case_id"]
        assert act(http, srv, case_id, "restrict", reasons="feature limits after a warning").status_code == 201
        sign_png(srv, tmp_path, 88)
        sign_png(srv, tmp_path, 89)
        path = media_factory.png(tmp_path / "third.png", seed=90)
        with path.open("rb") as fh:
            third = http.post("/v1/sign", headers=auth(srv, "publisher"), files={"file": ("third.png", fh)},
                              data={"generator": "g 1.0"})
        assert third.status_code == 429 and third.json()["error"]["code"] == "account_restricted_rate"


def test_case_endpoints_refuse_the_wrong_callers(api: Api) -> None:
    srv = api
    with srv.client() as http:
        case_id = report(http, sha256="b" * 64, category="other").json()["case_id"]
        assert http.get("/v1/cases").status_code == 401
        assert http.get("/v1/cases", headers={"Authorization": "Bearer avl_nope"}).status_code == 401
        assert http.get("/v1/cases", headers=auth(srv, "publisher")).status_code == 403
        assert http.get(f"/v1/cases/{case_id}", headers=auth(srv, "publisher")).status_code == 403
        assert http.get(f"/v1/cases/{case_id}", headers=auth(srv, "auditor")).status_code == 200
        assert act(http, srv, case_id, "dismiss", role="auditor").status_code == 403
        assert act(http, srv, case_id, "dismiss", role="publisher").status_code == 403
        assert http.post(f"/v1/cases/{case_id}/actions", json={"action": "dismiss"}).status_code == 401
        assert act(http, srv, "case_nope", "dismiss").status_code == 404
        short = act(http, srv, case_id, "dismiss", reasons="no")
        assert short.status_code == 400 and short.json()["error"]["code"] == "reasons_required"
        assert act(http, srv, case_id, "teleport").json()["error"]["code"] == "invalid_action"
        # Media not in the registry: no publisher to act on (content actions register it: test_moderate_any_media).
        assert act(http, srv, case_id, "suspend").json()["error"]["code"] == "no_publisher"
        assert http.get("/v1/cases", params={"status": "bogus"}, headers=auth(srv, "moderator")).status_code == 400
        assert act(http, srv, case_id, "dismiss").status_code == 201
        assert act(http, srv, case_id, "acknowledge", reasons="").status_code == 409


class Receiver:
    """A real HTTP endpoint standing in for a publisher's webhook."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.port = port or free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n: int, timeout: float = 15) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_account_actions_take_effect_on_signing_at_once_and_notify_the_publisher(
        server: Server, tmp_path: Path, receiver: Receiver) -> None:
    server.keys["acted"] = server.create_account("publisher", "Acted-upon Studio")
    with server.client() as http:
        me = http.get("/v1/accounts/me", headers=auth(server, "acted")).json()
        hook = http.patch(f"/v1/accounts/{me['id']}", headers=auth(server, "admin"),
                          json={"webhook_url": f"http://127.0.0.1:{receiver.port}/hook"}).json()
        secret = hook["webhook_secret"]
        assert "webhook_secret" not in http.get(f"/v1/accounts/{me['id']}", headers=auth(server, "admin")).json()
        cid = sign_png(server, tmp_path, 82, key="acted")
        case_id = report(http, content_id=cid, category="deepfake_impersonation").json()["case_id"]
        assert act(http, server, case_id, "warn", reasons="first warning: unlabelled face swap").status_code == 201
        assert http.get("/v1/accounts/me", headers=auth(server, "acted")).json()["status"] == "warned"
        headers, body = receiver.wait(1)[0]
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-avlabel-signature"], expected)
        event = json.loads(body)
        assert (event["event"], event["case_id"], event["content_id"]) == ("case.warn", case_id, cid)
        assert event["reasons"] == "first warning: unlabelled face swap"

        act(http, server, case_id, "restrict", reasons="repeat offence: feature limits")
        path = media_factory.png(tmp_path / "r.png", seed=83)
        with path.open("rb") as fh:
            refused = http.post("/v1/sign", headers=auth(server, "acted"), files={"file": ("r.png", fh)},
                                data={"generator": "g 1.0", "visible_label": "false"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_restricted"
        sign_png(server, tmp_path, 84, key="acted")  # with the visible label it still signs

        act(http, server, case_id, "suspend", reasons="suspended updates for 30 days")
        with path.open("rb") as fh:
            refused = http.post("/v1/sign", headers=auth(server, "acted"), files={"file": ("r.png", fh)},
                                data={"generator": "g 1.0"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_suspended"
        urls = http.post(f"/v1/contents/{cid}/urls", headers=auth(server, "acted"),
                         json={"urls": ["https://cdn.example.org/new.png"]})
        assert urls.status_code == 403
        act(http, server, case_id, "reinstate", reasons="suspension lifted after review")
        sign_png(server, tmp_path, 85, key="acted")
        act(http, server, case_id, "close", reasons="account closed: repeated serious violations")
        assert http.get("/v1/accounts/me", headers=auth(server, "acted")).status_code == 401  # keys revoked
        events = [json.loads(b)["event"] for _, b in receiver.wait(5)]
        assert events == ["case.warn", "case.restrict", "case.suspend", "case.reinstate", "case.close"]
    attempts = deliveries(server, me["id"], 5)
    assert [a[1] for a in attempts] == [204] * 5 and attempts[0][0] == "case.warn"


def deliveries(server: Server, account_id: str, at_least: int) -> list[tuple[Any, ...]]:
    """Recorded webhook attempts; the record is written just after each delivery, so wait for it."""
    deadline = time.monotonic() + 15
    while True:
        with psycopg.connect(server.env["DATABASE_URL"]) as conn:
            rows = conn.execute("SELECT event, status_code, attempt, error FROM webhook_deliveries "
                                "WHERE account_id = %s ORDER BY id", (account_id,)).fetchall()
        if len(rows) >= at_least or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_a_failing_webhook_is_recorded_and_never_blocks_the_action(server: Server, tmp_path: Path) -> None:
    server.keys["unreachable"] = server.create_account("publisher", "Unreachable Studio")
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens here
    with server.client() as http:
        me = http.get("/v1/accounts/me", headers=auth(server, "unreachable")).json()
        assert http.patch(f"/v1/accounts/{me['id']}", headers=auth(server, "admin"),
                          json={"webhook_url": dead}).status_code == 200
        cid = sign_png(server, tmp_path, 86, key="unreachable")
        case_id = report(http, content_id=cid).json()["case_id"]
        assert act(http, server, case_id, "block").status_code == 201
        assert label(http, cid)["state"] == "blocked"
    rows = deliveries(server, me["id"], 2)
    assert [r[2] for r in rows[:2]] == [1, 2]  # retried
    assert all(r[1] is None and r[3] == "ConnectError" for r in rows)
