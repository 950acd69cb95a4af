"""Appeals through the running server: a publisher appeals a block (by API key, or by the notice link while
suspended), a reporter contests a dismissal, and only a moderator other than the original decider may
decide; a reversal puts the label or the account back, and every step is in the audit chain."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx

from tests.backend.casework import act, auth, report, sign_png
from tests.conftest import Server


def second_moderator(srv: Server) -> str:
    if "moderator2" not in srv.keys:
        srv.keys["moderator2"] = srv.create_account("moderator", "Second Moderator")
    return "moderator2"


def decide(http: httpx.Client, srv: Server, appeal_id: str, outcome: str, role: str,
           **fields: object) -> httpx.Response:
    return http.post(f"/v1/appeals/{appeal_id}/decision", headers=auth(srv, role),
                     json={"outcome": outcome, "reasons": f"appeal review: {outcome} after a second look", **fields})


def audit_actions(http: httpx.Client, srv: Server) -> list[tuple[str, str | None]]:
    entries = http.get("/v1/audit/entries", params={"limit": 1000}, headers=auth(srv, "auditor")).json()["entries"]
    return [(e["action"], e["subject"]) for e in entries]


def test_a_publisher_appeals_a_block_and_a_second_moderator_reverses_it(any_server: Server,
                                                                        tmp_path: Path) -> None:
    srv = any_server
    other = second_moderator(srv)
    cid = sign_png(srv, tmp_path, 1401)
    with srv.client() as http:
        case_id = report(http, content_id=cid).json()["case_id"]
        blocked = act(http, srv, case_id, "block", public_statement="removed after review")
        assert blocked.status_code == 201
        event = blocked.json()
        assert http.get(f"/v1/labels/{cid}").json()["state"] == "blocked"
        # The statement of reasons travels with the decision's notice.
        statement = event["details"]["statement"]
        assert statement["action"] == "block" and statement["facts"] == "removed after review"
        assert statement["rule"]["id"] == "labelling-art-4"  # the unlabelled_ai default from the catalogue
        assert statement["scope"] == {"kind": "content", "content_ids": [cid], "copies": 0}
        assert statement["automated_detection"] is False and statement["automated_decision"] is False
        until = dt.datetime.fromisoformat(statement["redress"]["appeal_until"])
        assert until - dt.datetime.fromisoformat(statement["decided_at"]) == dt.timedelta(days=180)
        decision_id = event["decision_id"]
        assert re.search(rf"/appeal/{decision_id}#token=[0-9a-f]{{40}}$", event["appeal_url"])

        filed = http.post("/v1/appeals", headers=auth(srv, "publisher"),
                          json={"decision_id": decision_id, "grounds": "The clip carries its AI label in frame 1"})
        assert filed.status_code == 201, filed.text
        appeal = filed.json()
        assert (appeal["status"], appeal["original_action"]) == ("open", "block")
        again = http.post("/v1/appeals", headers=auth(srv, "publisher"),
                          json={"decision_id": decision_id, "grounds": "Once more, with feeling please"})
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_appealed"
        # Someone else's decision is not found for this publisher.
        stranger = http.post("/v1/appeals", headers=auth(srv, "unverified"),
                             json={"decision_id": decision_id, "grounds": "not my content but I object"})
        assert stranger.status_code == 404
        queue = http.get("/v1/cases", headers=auth(srv, "moderator")).json()["cases"]
        linked = next(c for c in queue if c["id"] == appeal["case_id"])
        assert linked["origin"] == "appeal" and linked["content_id"] == cid
        # The appeal case is not decided through the ordinary action endpoint.
        assert act(http, srv, appeal["case_id"], "dismiss").status_code == 409

        refused = decide(http, srv, appeal["id"], "reversed", "moderator")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "same_decider"
        assert http.get(f"/v1/labels/{cid}").json()["state"] == "blocked"

        reversed_ = decide(http, srv, appeal["id"], "reversed", other)
        assert reversed_.status_code == 201, reversed_.text
        assert reversed_.json()["content_ids"] == [cid]
        assert http.get(f"/v1/labels/{cid}").json()["state"] == "signed_synthetic"
        assert decide(http, srv, appeal["id"], "upheld", other).status_code == 409
        shown = http.get(f"/v1/appeals/{appeal['id']}", headers=auth(srv, "publisher")).json()
        assert (shown["status"], shown["outcome"]) == ("decided", "reversed") and "decided_by" not in shown
        view = http.get(f"/v1/decisions/{decision_id}", headers=auth(srv, "publisher")).json()
        assert view["appeal"]["outcome"] == "reversed" and view["can_appeal"] is False
        logged = audit_actions(http, srv)
        assert ("appeal.filed", appeal["id"]) in logged and ("appeal.decided", appeal["id"]) in logged


def test_a_suspended_publisher_appeals_through_the_notice_link(embedded_server: Server, tmp_path: Path) -> None:
    srv = embedded_server
    other = second_moderator(srv)
    srv.keys["appealing"] = srv.create_account("publisher", "Appealing Studio")
    cid = sign_png(srv, tmp_path, 1402, key="appealing")
    with srv.client() as http:
        case_id = report(http, content_id=cid, category="deepfake_impersonation").json()["case_id"]
        event = act(http, srv, case_id, "suspend", reasons="suspended for an unlabelled face swap").json()
        me = srv.account_ids[srv.keys["appealing"]]
        assert event["details"]["statement"]["scope"] == {"kind": "account", "from": "active", "to": "suspended"}
        assert http.get("/v1/contents", headers=auth(srv, "appealing")).status_code == 403
        path, token = event["appeal_url"].split(srv.env.get("AVLABEL_PUBLIC_URL", "http://127.0.0.1:8000"))[1] \
            .split("#token=")
        page = http.get(path)
        assert page.status_code == 200 and "token-form" in page.text
        wrong = http.post(path, data={"intent": "view", "token": "0" * 40})
        assert wrong.status_code == 404
        shown = http.post(path, data={"intent": "view", "token": token})
        assert shown.status_code == 200 and "suspended for" not in shown.text  # the reasons stay internal
        assert "Deep Synthesis Provisions Art. 14" in shown.text and "appeal-form" in shown.text
        short = http.post(path, data={"intent": "appeal", "token": token, "grounds": "no"})
        assert short.status_code == 400 and "appeal-form" in short.text
        filed = http.post(path, data={"intent": "appeal", "token": token,
                                      "grounds": "The person in the clip consented in writing <b>see</b>"})
        assert filed.status_code == 200 and "appeal-filed" in filed.text
        decision_id = event["decision_id"]
        status = http.get(f"/v1/decisions/{decision_id}", headers={"X-Avlabel-Notice-Token": token}).json()
        appeal = status["appeal"]
        assert appeal["status"] == "open"
        assert decide(http, srv, appeal["id"], "reversed", other).status_code == 201
        assert http.get(f"/v1/accounts/{me}", headers=auth(srv, "admin")).json()["status"] == "active"
        assert http.get("/v1/contents", headers=auth(srv, "appealing")).status_code == 200


def test_a_reporter_contests_a_dismissal_and_the_appeal_is_modified(embedded_server: Server,
                                                                    tmp_path: Path) -> None:
    srv = embedded_server
    other = second_moderator(srv)
    cid = sign_png(srv, tmp_path, 1403)
    with srv.client() as http:
        receipt = report(http, content_id=cid, category="rumour").json()
        secret = {"Authorization": f"Bearer {receipt['secret']}"}
        early = http.post(f"/v1/reports/{receipt['id']}/contest", headers=secret,
                          json={"grounds": "nothing was decided yet, but I object"})
        assert early.status_code == 409 and early.json()["error"]["code"] == "not_dismissed"
        dismissed = act(http, srv, receipt["case_id"], "dismiss", facts="No false claim found in the clip")
        assert dismissed.status_code == 201
        view = http.get(f"/v1/reports/{receipt['id']}", headers=secret).json()
        assert view["can_contest"] is True and view["statement"]["facts"] == "No false claim found in the clip"
        assert view["statement"]["redress"]["appeal_days"] == 180
        wrong = http.post(f"/v1/reports/{receipt['id']}/contest", headers={"Authorization": "Bearer nope"},
                          json={"grounds": "the clip invents a quote from the mayor"})
        assert wrong.status_code == 404
        contest = http.post(f"/v1/reports/{receipt['id']}/contest", headers=secret,
                            json={"grounds": "the clip invents a quote from the mayor"})
        assert contest.status_code == 201, contest.text
        assert contest.headers["access-control-allow-origin"] == "*"
        appeal = contest.json()
        assert http.get(f"/v1/reports/{receipt['id']}", headers=secret).json()["can_contest"] is False
        # Reversing a dismissal needs the decision to take instead.
        bare = decide(http, srv, appeal["id"], "reversed", other)
        assert bare.status_code == 400 and bare.json()["error"]["code"] == "action_required"
        refutation = {"zh": "经核实，该引语系伪造", "en": "Verified: the quote is invented",
                      "url": "https://example.org/fact-check/1403"}
        done = decide(http, srv, appeal["id"], "modified", other, action="refute", refutation=refutation)
        assert done.status_code == 201, done.text
        new_statement = done.json()["statement"]  # the replacing decision's statement goes to the publisher
        assert (new_statement["action"], new_statement["appeal_of"]) == ("refute", appeal["id"])
        label = http.get(f"/v1/labels/{cid}").json()
        assert label["state"] == "refuted"
        contested = http.get(f"/v1/reports/{receipt['id']}", headers=secret).json()["contest"]
        assert (contested["outcome"], contested["new_action"]) == ("modified", "refute")


def test_appeal_input_errors_are_clear(api: Server) -> None:
    with api.client() as http:
        for body, code in (({"decision_id": "abc", "grounds": "long enough grounds"}, "invalid_decision_id"),
                           ({"decision_id": 1, "grounds": "short"}, "invalid_grounds"),
                           ({"decision_id": True, "grounds": "long enough grounds"}, "invalid_decision_id")):
            resp = http.post("/v1/appeals", headers=auth(api, "publisher"), json=body)
            assert resp.status_code == 400 and resp.json()["error"]["code"] == code, resp.text
        unknown = http.post("/v1/appeals", headers=auth(api, "publisher"),
                            json={"decision_id": 999_999_999, "grounds": "long enough grounds"})
        assert unknown.status_code == 404
        anonymous = http.post("/v1/appeals", json={"decision_id": 1, "grounds": "long enough grounds"})
        assert anonymous.status_code == 401
        assert http.post("/v1/appeals/ap_nope/decision", headers=auth(api, "publisher"),
                         json={"outcome": "upheld", "reasons": "x" * 20}).status_code == 403
        bad = http.post("/v1/appeals/ap_nope/decision", headers=auth(api, "moderator"),
                        json={"outcome": "maybe", "reasons": "x" * 20})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_outcome"
        assert http.post("/v1/appeals/ap_nope/decision", headers=auth(api, "moderator"),
                         json={"outcome": "upheld", "reasons": "x" * 20}).status_code == 404
        assert http.get("/appeal/not-a-number").status_code == 200  # the page; posting to it is refused
        assert http.post("/appeal/not-a-number", data={"intent": "view", "token": "x"}).status_code == 400


def test_the_follow_page_shows_the_statement_and_takes_a_contest(embedded_server: Server, tmp_path: Path) -> None:
    srv = embedded_server
    cid = sign_png(srv, tmp_path, 1404)
    with srv.client() as http:
        receipt = report(http, content_id=cid, category="privacy_portrait").json()
        assert act(http, srv, receipt["case_id"], "dismiss",
                   facts="The person shown <i>is</i> a public figure at a public event").status_code == 201
        page = http.post(f"/reports/{receipt['id']}", data={"secret": receipt["secret"]})
        assert page.status_code == 200 and 'id="contest-form"' in page.text
        assert "&lt;i&gt;is&lt;/i&gt; a public figure" in page.text and "Deep Synthesis Provisions Art. 14" in page.text
        short = http.post(f"/reports/{receipt['id']}", data={"secret": receipt["secret"], "intent": "contest",
                                                              "grounds": "no"})
        assert 'id="contest-error"' in short.text and 'id="contest-form"' in short.text
        filed = http.post(f"/reports/{receipt['id']}", data={"secret": receipt["secret"], "intent": "contest",
                                                              "grounds": "It is my private garden, not an event"})
        assert 'id="contest-status"' in filed.text and "open" in filed.text
        forged = http.post(f"/reports/{receipt['id']}", data={"secret": "wrong", "intent": "contest",
                                                              "grounds": "It is my private garden, not an event"})
        assert forged.status_code == 404
