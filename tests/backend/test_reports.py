"""Complaints (Art. 15): POST /v1/reports from any origin, folding duplicates into one case, the
reporter's secret, abuse and size limits, and durability across kill -9."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.backend.casework import ORIGIN, auth, report
from tests.backend.casework import sign_png as signed_content
from tests.conftest import Api, Server, make_server


def test_report_is_accepted_cross_origin_and_followed_with_its_secret(any_server: Server, tmp_path: Path) -> None:
    cid = signed_content(any_server, tmp_path, 70)
    with any_server.client() as http:
        pre = http.options("/v1/reports", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == "*"
        assert "content-type" in pre.headers["access-control-allow-headers"].lower()
        resp = report(http, content_id=cid, playback_time=3.25, contact="me@example.org",
                      media_url=f"/media/{cid}.png")
        assert resp.status_code == 201, resp.text
        assert resp.headers["access-control-allow-origin"] == "*"
        receipt = resp.json()
        assert receipt["id"].startswith("r_") and receipt["status"] == "received"
        assert receipt["status_url"] == f"/v1/reports/{receipt['id']}"
        assert receipt["follow_url"].startswith(f"/reports/{receipt['id']}")
        mine = http.get(receipt["status_url"], headers={"Authorization": f"Bearer {receipt['secret']}"})
        assert mine.status_code == 200
        view = mine.json()
        assert (view["content_id"], view["category"], view["playback_time"]) == (cid, "unlabelled_ai", 3.25)
        assert view["status"] == "received" and view["outcome"] is None
        assert http.get(receipt["status_url"], params={"secret": receipt["secret"]}).status_code == 200
        # No secret, a wrong secret, or another report's secret: nothing.
        assert http.get(receipt["status_url"]).status_code == 401
        assert http.get(receipt["status_url"], headers={"Authorization": "Bearer nope"}).status_code == 404
        other = report(http, content_id=cid, category="other").json()
        assert http.get(receipt["status_url"],
                        headers={"Authorization": f"Bearer {other['secret']}"}).status_code == 404
        # The follow page renders the report as text under a strict CSP.
        page = http.get(f"/reports/{receipt['id']}", params={"secret": receipt["secret"]})
        assert page.status_code == 200 and "no AI label on this clip" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert "'unsafe-inline'" not in page.headers["content-security-policy"]
        assert http.get(f"/reports/{receipt['id']}", params={"secret": "wrong"}).status_code == 404


def test_duplicates_fold_into_one_case_and_each_report_is_kept(server: Server, tmp_path: Path) -> None:
    cid = signed_content(server, tmp_path, 71)
    mod = {"Authorization": f"Bearer {server.keys['moderator']}"}
    with server.client() as http:
        first = report(http, content_id=cid, category="rumour").json()
        # Same media by its hosting URL, same category: the same case.
        second = report(http, media_url=f"{server.url}/media/{cid}.png", category="rumour").json()
        different = report(http, content_id=cid, category="illegal").json()
        assert first["case_id"] == second["case_id"] != different["case_id"]
        case = http.get(f"/v1/cases/{first['case_id']}", headers=mod).json()
        assert case["report_count"] == 2
        assert {r["id"] for r in case["reports"]} == {first["id"], second["id"]}


def test_concurrent_reports_on_one_media_open_one_case(server: Server, tmp_path: Path) -> None:
    cid = signed_content(server, tmp_path, 72)
    with server.client() as http, ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda i: report(http, content_id=cid, category="privacy_portrait",
                                                 description=f"report {i}"), range(24)))
        assert [a.status_code for a in answers] == [201] * 24
        assert len({a.json()["case_id"] for a in answers}) == 1
        case = http.get(f"/v1/cases/{answers[0].json()['case_id']}", headers=auth(server, "moderator")).json()
        assert case["report_count"] == 24 and len(case["reports"]) == 24


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"description": "x"}, 400, "invalid_category"),
    ({"category": "nonsense", "description": "x", "sha256": "a" * 64}, 400, "invalid_category"),
    ({"category": "other", "description": "   ", "sha256": "a" * 64}, 400, "invalid_description"),
    ({"category": "other", "description": "x" * 4001, "sha256": "a" * 64}, 400, "invalid_description"),
    ({"category": "other", "description": "x"}, 400, "missing_media_reference"),
    ({"category": "other", "description": "x", "sha256": "zz"}, 400, "invalid_sha256"),
    ({"category": "other", "description": "x", "media_url": "javascript:alert(1)"}, 400, "invalid_media_url"),
    ({"category": "other", "description": "x", "sha256": "a" * 64, "playback_time": -1}, 400,
     "invalid_playback_time"),
    ({"category": "other", "description": "x", "sha256": "a" * 64, "contact": 5}, 400, "invalid_contact"),
    ({"category": "other", "description": "x", "content_id": "no-such-content", "good_faith": True}, 404,
     "unknown_content"),
    ([1, 2], 400, "invalid_report"),
    # The reporter's good-faith statement is required, and must be exactly `true`.
    ({"category": "other", "description": "x", "sha256": "a" * 64}, 400, "good_faith_required"),
    ({"category": "other", "description": "x", "sha256": "a" * 64, "good_faith": "yes"}, 400,
     "good_faith_required"),
    ({"category": "other", "description": "x", "sha256": "a" * 64, "good_faith": False}, 400,
     "good_faith_required"),
    # A time range is {start, end} playback seconds with start < end, within bounds.
    *[({"category": "other", "description": "x", "sha256": "a" * 64, "good_faith": True, "time_range": bad}, 400,
       "invalid_time_range") for bad in ({"start": 5, "end": 2}, {"start": 3, "end": 3}, {"start": -1, "end": 2},
                                         {"start": 1}, {"start": "1", "end": "2"}, {"start": True, "end": 4},
                                         {"start": 0, "end": 1e8}, {"start": 0, "end": 10**400}, [1, 2], "0-5")],
    # Several items per report, bounded; each item is checked like the report's own target.
    ({"category": "other", "description": "x", "sha256": "a" * 64, "good_faith": True,
      "items": [{"sha256": f"{i:064x}"} for i in range(20)]}, 400, "too_many_items"),
    ({"category": "other", "description": "x", "sha256": "a" * 64, "good_faith": True, "items": {"sha256": "b"}},
     400, "invalid_items"),
    ({"category": "other", "description": "x", "sha256": "a" * 64, "good_faith": True, "items": ["x"]}, 400,
     "invalid_items"),
    ({"category": "other", "description": "x", "sha256": "a" * 64, "good_faith": True, "items": [{}]}, 400,
     "missing_media_reference"),
    ({"category": "other", "description": "x", "sha256": "a" * 64, "good_faith": True,
      "items": [{"sha256": "b" * 64, "time_range": {"start": 9, "end": 1}}]}, 400, "invalid_time_range"),
])
def test_malformed_reports_get_clear_errors(api: Api, body: object, status: int, code: str) -> None:
    with api.client() as http:
        resp = http.post("/v1/reports", json=body)
        assert resp.status_code == status, resp.text
        assert resp.json()["error"]["code"] == code
        assert resp.headers["access-control-allow-origin"] == "*"


def test_oversized_and_non_json_reports_are_refused(api: Api) -> None:
    with api.client() as http:
        big = http.post("/v1/reports", content=b'{"category":"other","description":"' + b"x" * 20_000 + b'"}',
                        headers={"Content-Type": "application/json"})
        assert big.status_code == 413
        assert http.post("/v1/reports", content=b"{not json", headers={"Content-Type": "application/json"}
                         ).json()["error"]["code"] == "invalid_json"
        assert http.post("/v1/reports", content=b"a=b", headers={"Content-Type": "application/x-www-form-urlencoded"}
                         ).status_code == 415
        assert http.get("/healthz").status_code == 200


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory, pg_database: str) -> Iterator[Server]:
    """PostgreSQL + Redis with tight report limits (3 per address, 5 per media per hour)."""
    srv = make_server(tmp_path_factory.mktemp("strict"), True, pg_database, AVLABEL_REPORT_RATE_PER_HOUR="3",
                      AVLABEL_REPORT_RATE_PER_CONTENT_HOUR="5")
    srv.start()
    yield srv
    srv.stop()


def from_address(srv: Server, address: str) -> httpx.Client:
    return httpx.Client(base_url=srv.url, timeout=30, transport=httpx.HTTPTransport(local_address=address))


def test_abuse_limits_per_address_and_per_media(strict_server: Server) -> None:
    sha = secrets.token_hex(32)
    with from_address(strict_server, "127.0.0.2") as a:
        assert [report(a, sha256=sha).status_code for _ in range(4)] == [201, 201, 201, 429]
        limited = report(a, sha256=secrets.token_hex(32))
        assert limited.json()["error"]["code"] == "rate_limited" and "Retry-After" in limited.headers
    with from_address(strict_server, "127.0.0.3") as b:
        answers = [report(b, sha256=sha) for _ in range(3)]
        assert [r.status_code for r in answers] == [201, 201, 429]
        assert answers[2].json()["error"]["code"] == "content_report_limit"


@pytest.mark.server
def test_acknowledged_reports_survive_kill_9(tmp_path: Path, pg_database: str) -> None:
    """Reports stream in while the server is killed with SIGKILL: every one answered 201 is there after
    the restart (the in-flight one may be lost, but it was never acknowledged)."""
    srv = make_server(tmp_path / "durable", True, pg_database)
    srv.start()
    acknowledged: list[dict[str, str]] = []
    stop = threading.Event()

    def keep_reporting() -> None:
        with httpx.Client(base_url=srv.url, timeout=5) as http:
            while not stop.is_set():
                try:
                    resp = report(http, sha256=secrets.token_hex(32), description=f"report {len(acknowledged)}")
                except httpx.HTTPError:
                    continue
                if resp.status_code == 201:
                    acknowledged.append(resp.json())

    worker = threading.Thread(target=keep_reporting)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while len(acknowledged) < 15 and time.monotonic() < deadline:
            time.sleep(0.05)
        srv.kill()  # SIGKILL while reports are arriving: nothing gets a chance to flush
        stop.set()
        worker.join()
        assert len(acknowledged) >= 15
        srv.start()
        with srv.client() as http:
            for receipt in acknowledged:
                view = http.get(f"/v1/reports/{receipt['id']}",
                                headers={"Authorization": f"Bearer {receipt['secret']}"})
                assert view.status_code == 200, receipt["id"]
    finally:
        stop.set()
        srv.stop()


def test_a_feed_report_covers_several_items_with_a_time_range(api: Api, tmp_path: Path) -> None:
    first = signed_content(api, tmp_path, 172)
    second = signed_content(api, tmp_path, 173)
    other = secrets.token_hex(32)
    with api.client() as http:
        resp = report(http, content_id=first, time_range={"start": 1.5, "end": 4},
                      items=[{"content_id": second, "time_range": {"start": 0, "end": 2.25}}, {"sha256": other}])
        assert resp.status_code == 201, resp.text
        receipt = resp.json()
        assert [item["id"] for item in receipt["items"]][0] == receipt["id"] and len(receipt["items"]) == 3
        assert len({item["case_id"] for item in receipt["items"]}) == 3  # each item is its own case
        secret = {"Authorization": f"Bearer {receipt['secret']}"}
        views = [http.get(item["status_url"], headers=secret).json() for item in receipt["items"]]
        assert [v["content_id"] for v in views[:2]] == [first, second] and views[2]["sha256"] == other
        assert [v["time_range"] for v in views] == [{"start": 1.5, "end": 4.0}, {"start": 0.0, "end": 2.25}, None]
        assert all(v["good_faith"] for v in views)
        # The reporter sees the handling steps and the service-level deadlines.
        steps = views[0]["steps"]
        assert [s["step"] for s in steps] == ["received", "in_review", "decided"]
        assert [s["done"] for s in steps] == [True, False, False]
        levels = views[0]["service_levels"]
        assert (levels["acknowledge_hours"], levels["decide_hours"]) == (24.0, 72.0)
        assert steps[1]["due"] == levels["acknowledge_due"] and steps[2]["due"] == levels["decide_due"]
        assert levels["acknowledge_due"] < levels["decide_due"]
        page = http.get(f"/reports/{receipt['id']}", params={"secret": receipt["secret"]})
        assert page.status_code == 200
        for text in ("处理步骤", "Handling steps", "24", "72", levels["decide_due"][:16], "1.5", "4.0"):
            assert text in page.text, text
