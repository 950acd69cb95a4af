"""The transparency report and the Art. 13 refutation records against known data: a fresh database is
filled with cases, reports, decisions and appeals at known times, inside and outside the period, and
every count, median and p90 in the JSON and the CSV must match what those records say."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.store.schema import appeals, case_actions, cases, reports
from tests.backend.casework import auth
from tests.conftest import InProcess

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
IN, OUT = T0 + dt.timedelta(days=1), T0 - dt.timedelta(days=10)  # inside / before the period
A, B = "det-image-a", "det-image-b"
# (id, origin, category, created, hours to acknowledge, hours to decide, outcome, detector models)
CASES: list[tuple[str, str, str, dt.datetime, float | None, float | None, str | None, list[str]]] = [
    ("k1", "report", "unlabelled_ai", IN, 2, 10, "block", []),
    ("k2", "report", "rumour", IN + 24 * H, 30, 80, "refute", []),  # acknowledged and decided late
    ("k3", "report", "illegal", IN + 48 * H, 1, None, None, []),  # still undecided: overdue now
    ("k4", "detector_flag", "unlabelled_ai", IN + 72 * H, 4, 6, "label", [A, B]),  # confirmed
    ("k5", "detector_flag", "unlabelled_ai", IN + 96 * H, 3, 3, "dismiss", [A]),  # cleared
    ("k6", "detector_flag", "unlabelled_ai", IN + 120 * H, None, None, None, [B]),  # open, overdue
    ("k7", "appeal", "unlabelled_ai", IN + 144 * H, 5, 5, "appeal_reversed", []),
    ("k8", "report", "other", OUT, 1, 2, "dismiss", []),  # before the period
]
REPORTS = [("r1", "k1", "unlabelled_ai", IN), ("r2", "k1", "unlabelled_ai", IN + H),
           ("r3", "k2", "rumour", IN + 24 * H), ("r4", "k3", "illegal", IN + 48 * H), ("r5", "k8", "other", OUT)]
EXTRA_ACTIONS = [("k1", "warn", IN + 11 * H)]
APPEALS = [("ap1", "publisher", "k7", IN + 144 * H, "reversed"), ("ap2", "reporter", "k5", IN + 150 * H, None),
           ("ap3", "publisher", "k8", OUT + H, "upheld")]
REFUTATION = {"zh": "经核实，此视频系伪造", "en": "Verified: fabricated", "url": "https://example.org/fc/k2"}


def in_period(at: dt.datetime) -> bool:
    return T0 <= at < T0 + dt.timedelta(days=30)


def rank(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(pct / 100 * len(ordered)) - 1]


def seed(app: InProcess) -> None:
    db = app.http.app.state.services.db  # type: ignore[attr-defined]
    with db.tx() as conn:
        for cid, origin, category, created, ack, decide, outcome, models in CASES:
            conn.execute(cases.insert().values(
                id=cid, target_key=f"content:{cid}", category=category, severity=60,
                status="decided" if decide is not None else ("acknowledged" if ack is not None else "open"),
                content_id=f"c_{cid}", report_count=1, outcome=outcome, origin=origin,
                details={"detector_flag": {"reason": "detector flag, needs review", "detectors": [
                    {"detector": m, "score": 0.9, "card": "/models/x.md"} for m in models]}} if models else None,
                created_at=created, acknowledged_at=created + ack * H if ack is not None else None,
                decided_at=created + decide * H if decide is not None else None, updated_at=created))
            if ack is not None and (decide is None or ack < decide):
                conn.execute(case_actions.insert().values(case_id=cid, action="acknowledge", actor="acct_m1",
                                                          reasons="", details={}, created_at=created + ack * H))
            if outcome is not None and decide is not None:
                details: dict[str, Any] = {"content_ids": [f"c_{cid}"]}
                if outcome == "refute":
                    details["refutation"] = REFUTATION
                conn.execute(case_actions.insert().values(case_id=cid, action=outcome, actor="acct_m1",
                                                          reasons="known data", content_id=f"c_{cid}",
                                                          details=details, created_at=created + decide * H))
        for cid, action, at in EXTRA_ACTIONS:
            conn.execute(case_actions.insert().values(case_id=cid, action=action, actor="acct_m1",
                                                      reasons="known data", details={}, created_at=at))
        for rid, cid, category, at in REPORTS:
            conn.execute(reports.insert().values(id=rid, case_id=cid, secret_digest="0" * 64, category=category,
                                                 description="known", media_url=f"https://v.example/{cid}.mp4",
                                                 created_at=at))
        for aid, kind, cid, at, outcome in APPEALS:
            conn.execute(appeals.insert().values(
                id=aid, kind=kind, decision_id=1, original_case_id="k1", case_id=cid, appellant=f"x_{aid}",
                original_actor="acct_m1", original_action="block", grounds="known grounds",
                status="decided" if outcome else "open", outcome=outcome, created_at=at))


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    with InProcess(Path(tmp_path_factory.mktemp("transparency"))) as app:
        seed(app)
        yield app


PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}


def test_report_counts_match_the_records(known: InProcess) -> None:
    resp = known.http.get("/v1/transparency/report", params=PERIOD, headers=auth(known, "auditor"))
    assert resp.status_code == 200, resp.text
    data = resp.json()
    reports_in = [r for r in REPORTS if in_period(r[3])]
    assert data["reports"]["total"] == len(reports_in) == 4
    assert data["reports"]["by_category"] == {**{c: 0 for c in data["reports"]["by_category"]},
                                              **Counter(r[2] for r in reports_in)}
    cases_in = [c for c in CASES if in_period(c[3])]
    assert data["cases"]["opened"] == len(cases_in) == 7
    assert data["cases"]["by_origin"] == dict(Counter(c[1] for c in cases_in))
    expected_actions = Counter(c[6] for c in cases_in if c[6] and c[5] is not None)
    expected_actions["acknowledge"] = sum(1 for c in cases_in if c[4] is not None and (c[5] is None or c[4] < c[5]))
    expected_actions.update(a[1] for a in EXTRA_ACTIONS)
    assert data["actions"]["by_type"] == dict(expected_actions)
    acks = [float(c[4]) for c in cases_in if c[4] is not None]
    decides = [float(c[5]) for c in cases_in if c[5] is not None]
    assert data["time_to_acknowledge"] == {"count": len(acks), "median_hours": rank(acks, 50),
                                           "p90_hours": rank(acks, 90)} == {"count": 6, "median_hours": 3,
                                                                             "p90_hours": 30}
    assert data["time_to_decide"] == {"count": 5, "median_hours": rank(decides, 50), "p90_hours": rank(decides, 90)}
    assert (data["time_to_decide"]["median_hours"], data["time_to_decide"]["p90_hours"]) == (6, 80)
    # Late against 24 h / 72 h: k2 both, k6 both (still open), k3 decide (still undecided).
    assert data["overdue"]["acknowledge"] == 2 and data["overdue"]["decide"] == 3
    assert data["appeals"] == {"filed": 2, "by_kind": {"publisher": 1, "reporter": 1}, "decided": 1,
                               "by_outcome": {"upheld": 0, "reversed": 1, "modified": 0}, "reversal_rate": 1.0}
    detector = data["detector"]
    assert (detector["opened"], detector["decided"], detector["confirmed"], detector["confirmation_rate"]) == (
        3, 2, 1, 0.5)
    by_model = {m["model"]: m for m in detector["by_model"]}
    assert (by_model[A]["flagged"], by_model[A]["confirmed"], by_model[A]["cleared"]) == (2, 1, 1)
    assert (by_model[B]["flagged"], by_model[B]["decided"], by_model[B]["confirmation_rate"]) == (2, 1, 1.0)

    table = known.http.get("/v1/transparency/report", params={**PERIOD, "format": "csv"},
                           headers=auth(known, "auditor"))
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    rows = {(r["metric"], r["key"]): r["value"] for r in csv.DictReader(io.StringIO(table.text))}
    assert rows[("reports", "total")] == "4" and rows[("reports.by_category", "unlabelled_ai")] == "2"
    assert rows[("time_to_decide", "p90_hours")] == "80.0" and rows[("appeals.by_outcome", "reversed")] == "1"
    assert rows[("detector.by_model.confirmation_rate", A)] == "0.5"


def test_refutation_records_and_detector_metrics(known: InProcess) -> None:
    http = known.http
    records = http.get("/v1/transparency/refutations", params=PERIOD, headers=auth(known, "auditor")).json()
    assert [r["case_id"] for r in records["refutations"]] == ["k2"]
    record = records["refutations"][0]
    assert record["refutation"] == REFUTATION
    assert record["spread"]["reported_urls"] == ["https://v.example/k2.mp4"]
    assert record["spread"]["registered_copies"] == ["c_k2"]
    assert record["refuted_at"] == (IN + 24 * H + 80 * H).isoformat()
    metrics = http.get("/v1/metrics/detectors", headers=auth(known, "moderator")).json()["models"]
    assert [(m["model"], m["flagged"], m["confirmed"]) for m in metrics] == [(A, 2, 1), (B, 2, 1)]


def test_bad_periods_and_callers_are_refused(known: InProcess) -> None:
    http = known.http
    for params in ({}, {"from": "2026-11-30", "to": "2026-11-01"}, {"from": "yesterday", "to": "2026-11-01"},
                   {**PERIOD, "format": "xml"}):
        resp = http.get("/v1/transparency/report", params=params, headers=auth(known, "auditor"))
        assert resp.status_code == 400 and resp.json()["error"]["code"] in ("invalid_range", "invalid_format")
    assert http.get("/v1/transparency/report", params=PERIOD, headers=auth(known, "publisher")).status_code == 403
    assert http.get("/v1/metrics/detectors", headers=auth(known, "publisher")).status_code == 403
