"""The console's trust-and-safety pages on the running server: the review queue of detector flags (scores,
model card, media, label or clear), the agreement statistics per model, the transparency page with its
charts' data and downloads, and the appeal page that refuses the original decider."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import secrets
import sqlite3
from pathlib import Path

import httpx

from tests.backend.casework import act, auth, console_login, report, sign_png
from tests.conftest import Server

HOSTILE_MODEL = '<img src=x onerror="window.__pwned=1">det-image'


def open_flag(srv: Server, content_id: str, models: list[tuple[str, float]], card: str) -> str:
    """A "detector flag, needs review" case as the detection policy opens it (its flag in `details`)."""
    case_id = "case_flag_" + secrets.token_hex(6)
    now = dt.datetime.now(dt.UTC).isoformat(sep=" ")
    flag = {"detector_flag": {"reason": "detector flag, needs review", "detectors": [
        {"detector": name, "score": score, "model_version": "2", "review_threshold": 0.6,
         "viewer_threshold": 0.95, "viewer_facing": False, "card": card, "held_out": {"auc": 0.91}}
        for name, score in models]}}
    with contextlib.closing(sqlite3.connect(srv.data_dir / "avlabel.sqlite3")) as db, db:
        db.execute("INSERT INTO cases (id, target_key, category, severity, status, content_id, report_count, "
                   "created_at, updated_at, origin, details) VALUES (?, ?, 'unlabelled_ai', 55, 'open', ?, 0, ?, ?, "
                   "'detector_flag', ?)", (case_id, f"content:{content_id}", content_id, now, now, json.dumps(flag)))
    return case_id


def test_review_queue_label_or_clear_and_agreement_per_model(embedded_server: Server, tmp_path: Path) -> None:
    srv = embedded_server
    model = "det-image-" + secrets.token_hex(3)
    confirmed_cid, cleared_cid = sign_png(srv, tmp_path, 1601), sign_png(srv, tmp_path, 1602)
    confirm = open_flag(srv, confirmed_cid, [(model, 0.83), (HOSTILE_MODEL, 0.7)], "/static/VENDORED.md")
    clear = open_flag(srv, cleared_cid, [(model, 0.64)], "javascript:alert(1)")
    with srv.client() as http:
        flagged = http.get("/v1/cases", params={"origin": "detector_flag"}, headers=auth(srv, "moderator")).json()
        assert {confirm, clear} <= {c["id"] for c in flagged["cases"]}
        assert {c["origin"] for c in flagged["cases"]} == {"detector_flag"}
        reported = http.get("/v1/cases", params={"origin": "report", "status": "all"},
                            headers=auth(srv, "moderator")).json()["cases"]
        assert confirm not in {c["id"] for c in reported} and {c["origin"] for c in reported} <= {"report"}
        bad = http.get("/v1/cases", params={"origin": "rumour"}, headers=auth(srv, "moderator"))
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_origin"
    console, csrf = console_login(srv, "moderator")
    with contextlib.closing(console):
        page = console.get("/console/review")
        assert page.status_code == 200
        for case_id in (confirm, clear):
            assert f'data-case-id="{case_id}"' in page.text
        assert "0.83" in page.text and "0.64" in page.text and '{"auc": 0.91}' in page.text
        assert f'src="/console/cases/{confirm}/media"' in page.text
        assert 'href="/static/VENDORED.md"' in page.text and 'href="javascript:' not in page.text
        assert HOSTILE_MODEL not in page.text and "&lt;img src=x" in page.text
        for case_id, action in ((confirm, "label"), (clear, "dismiss")):
            done = console.post(f"/console/cases/{case_id}/actions",
                                data={"csrf": csrf, "action": action, "reasons": f"review of the flag: {action}"})
            assert done.status_code == 200 and done.url.path == f"/console/cases/{case_id}"
        assert f'data-case-id="{confirm}"' not in console.get("/console/review").text
        metrics = console.get("/console/metrics")
        row = re.search(rf'<tr data-model="{model}">(.*?)</tr>', metrics.text, re.S)
        assert row and re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))[1:] == ["2", "2", "1", "1", "50%"]
        assert 'src="/static/chart.umd.min.js"' in metrics.text and 'id="chart-data"' in metrics.text
    with srv.client() as http:
        assert http.get(f"/v1/labels/{confirmed_cid}").json()["state"] == "signed_synthetic"
        case = http.get(f"/v1/cases/{confirm}", headers=auth(srv, "moderator")).json()
        statement = case["actions"][-1]["details"]["statement"]
        # The decision says automated detection contributed, and that a person decided.
        assert statement["automated_detection"] is True and statement["automated_decision"] is False
        assert statement["source"] == "detector_flag" and model in statement["facts"]
        models = {m["model"]: m for m in http.get("/v1/metrics/detectors", headers=auth(srv, "moderator"))
                  .json()["models"]}
        assert (models[model]["confirmed"], models[model]["cleared"], models[model]["confirmation_rate"]) == (1, 1, 0.5)
        chart = http.get("/static/chart.umd.min.js")
        assert chart.status_code == 200 and chart.text.startswith("/*!\n * Chart.js v4.5.1")


def test_transparency_page_and_downloads(embedded_server: Server) -> None:
    srv = embedded_server
    console, _csrf = console_login(srv, "auditor")
    today = dt.date.today().isoformat()
    with contextlib.closing(console):
        page = console.get("/console/transparency")
        assert page.status_code == 200 and 'data-chart="reports"' in page.text
        data = json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page.text,
                                    re.S).group(1))  # type: ignore[union-attr]
        assert data["reports"]["total"] >= 0 and "by_outcome" in data["appeals"]
        csv_file = console.get("/console/transparency/export", params={"kind": "report", "format": "csv",
                                                                       "from": today, "to": today})
        assert csv_file.status_code == 200 and csv_file.text.startswith("metric,key,value")
        for kind, key in (("refutations", "refutations"), ("dsa", "statements")):
            got = console.get("/console/transparency/export", params={"kind": kind, "from": today, "to": today})
            assert got.status_code == 200 and key in got.json()
        assert console.get("/console/transparency", params={"from": "nope"}).status_code == 400
    moderator, _ = console_login(srv, "moderator")
    with contextlib.closing(moderator):
        assert moderator.get("/console/transparency").status_code == 403


def test_the_console_refuses_the_original_decider_on_an_appeal(embedded_server: Server, tmp_path: Path) -> None:
    srv = embedded_server
    if "moderator2" not in srv.keys:
        srv.keys["moderator2"] = srv.create_account("moderator", "Second Moderator")
    cid = sign_png(srv, tmp_path, 1603)
    with srv.client() as http:
        case_id = report(http, content_id=cid).json()["case_id"]
        decision = act(http, srv, case_id, "stop_until_labelled").json()["decision_id"]
        appeal = http.post("/v1/appeals", headers=auth(srv, "publisher"),
                           json={"decision_id": decision, "grounds": "<script>x</script> it has a label"}).json()
    first, csrf = console_login(srv, "moderator")
    with contextlib.closing(first):
        page = first.get(f"/console/appeals/{appeal['id']}")
        assert 'id="same-decider"' in page.text and "&lt;script&gt;x&lt;/script&gt;" in page.text
        linked = first.get(f"/console/cases/{appeal['case_id']}")
        assert f'href="/console/appeals/{appeal["id"]}"' in linked.text
        refused = first.post(f"/console/appeals/{appeal['id']}/decision",
                             data={"csrf": csrf, "outcome": "reversed", "reasons": "my own decision was wrong"})
        assert refused.status_code == 403 and "cannot decide its appeal" in refused.text
        assert first.post(f"/console/appeals/{appeal['id']}/decision",
                          data={"outcome": "reversed", "reasons": "no csrf token here"}).status_code == 403
    second, csrf2 = console_login(srv, "moderator2")
    with contextlib.closing(second):
        done = second.post(f"/console/appeals/{appeal['id']}/decision",
                           data={"csrf": csrf2, "outcome": "reversed", "reasons": "the label is in the first frame"})
        assert done.status_code == 200 and '<dd data-field="outcome">Reversed</dd>' in done.text
    assert httpx.get(f"{srv.url}/v1/labels/{cid}").json()["state"] == "signed_synthetic"


def test_a_refused_action_is_explained_in_the_zh_console(embedded_server: Server, tmp_path: Path) -> None:
    """The domain's refusal reaches a zh-speaking moderator in zh (the en console keeps the domain message)."""
    srv = embedded_server
    cid = sign_png(srv, tmp_path, 1611)
    with srv.client() as http:
        case_id = report(http, content_id=cid).json()["case_id"]
    for locale, said, not_said in (("zh", "请填写处理理由", "statement of reasons"),
                                   ("en", "statement of reasons", "请填写处理理由")):
        client, csrf = console_login(srv, "moderator", locale=locale)
        with contextlib.closing(client):
            refused = client.post(f"/console/cases/{case_id}/actions",
                                  data={"csrf": csrf, "action": "label", "reasons": ""})
            assert refused.status_code == 400
            error = re.search(r'<p class="error" role="alert">([^<]*)</p>', refused.text)
            assert error and said in error.group(1) and not_said not in error.group(1), refused.text[:500]


def test_the_case_page_shows_good_faith_time_range_and_the_report_it_came_with(embedded_server: Server,
                                                                               tmp_path: Path) -> None:
    srv = embedded_server
    first, second = f"{secrets.randbits(255):064x}", f"{secrets.randbits(255):064x}"
    with srv.client() as http:
        receipt = report(http, sha256=first, time_range={"start": 12, "end": 15.5},
                         items=[{"sha256": second, "time_range": {"start": 0, "end": 2.25}}]).json()
        items = receipt["items"]
        assert len(items) == 2, receipt
        case = http.get(f"/v1/cases/{items[1]['case_id']}", headers=auth(srv, "moderator")).json()
    (row,) = case["reports"]
    assert row["good_faith"] is True and row["time_range"] == {"start": 0, "end": 2.25}
    assert row["group"] == receipt["id"]  # sent with the first item's report
    console, _csrf = console_login(srv, "moderator")
    page = console.get(f"/console/cases/{items[1]['case_id']}").text
    first_page = console.get(f"/console/cases/{items[0]['case_id']}").text
    console.close()
    assert "0.0–2.2 s" in page and f"Sent with: {receipt['id']}" in page
    assert "stated the report is made in good faith" in page
    assert "12.0–15.5 s" in first_page and "Sent with:" not in first_page
