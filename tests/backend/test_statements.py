"""Statements of reasons: every decision carries one, and the DSA Transparency Database export of them
validates against the database's published field list (manifests/dsa_tdb_statement.schema.json, which
cites its source) and carries no personal data."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from backend import policy_catalogue, statements
from backend.manifest_data import MANIFESTS_DIR
from tests.backend.casework import act, auth, report, sign_png
from tests.conftest import Server

SCHEMA = json.loads((MANIFESTS_DIR / "dsa_tdb_statement.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema_rs.validator_for(SCHEMA)
RESTRICTING = ("block", "label", "refute", "stop_until_labelled", "restrict", "suspend", "close")


def errors(item: dict[str, Any]) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(item)]


def sample(action: str, rule_id: str, mime: str | None = "video/mp4") -> dict[str, Any]:
    rule = policy_catalogue.load().rules[rule_id]
    return statements.build(
        action=action, category="rumour", origin="report", rule=rule, facts="Reported twice; reviewed by a human",
        content_ids=["c_1"], account_change=None, automated_detection=action == "label",
        decided_at=dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC), appeal_days=180, mime=mime, synthetic=True,
        content_date=dt.datetime(2026, 11, 30, tzinfo=dt.UTC))


@pytest.mark.parametrize("action", RESTRICTING)
@pytest.mark.parametrize("rule_id", ["deep-synthesis-art-6", "terms-ip"])  # a law, and the platform's terms
def test_every_restricting_decision_maps_to_a_valid_database_statement(action: str, rule_id: str) -> None:
    item = statements.dsa_statement(7, sample(action, rule_id, None if action in ("restrict", "suspend", "close")
                                              else "video/mp4"))
    assert item is not None
    assert errors(item) == []
    assert item["puid"] == "avlabel-decision-7" and item["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert item["automated_detection"] == ("Yes" if action == "label" else "No")


def test_decisions_that_restrict_nothing_have_no_database_statement() -> None:
    for action in ("dismiss", "warn", "reinstate", "appeal_reversed"):
        assert statements.dsa_statement(1, sample(action, "terms-general")) is None


def test_the_schema_refuses_what_the_database_refuses() -> None:
    good = statements.dsa_statement(3, sample("block", "deep-synthesis-art-6"))
    assert good is not None and errors(good) == []
    broken = [
        {k: v for k, v in good.items() if k != "illegal_content_explanation"},  # required_if the ground is illegal
        {**good, "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT"},  # the other ground's fields missing
        {**good, "category": "STATEMENT_CATEGORY_MADE_UP"},
        {**good, "puid": "has spaces"},
        {**good, "content_date": "01-12-2026"},
        {**good, "reporter_contact": "someone@example.org"},  # a field the database does not have
        {k: v for k, v in good.items() if k != "decision_visibility"},  # no restriction at all
        {**good, "decision_visibility": ["DECISION_VISIBILITY_OTHER"]},  # other without its text
    ]
    for item in broken:
        assert errors(item), item


@pytest.mark.server
def test_exported_statements_validate_and_name_no_person(embedded_server: Server, tmp_path: Path) -> None:
    srv = embedded_server
    srv.keys["named"] = srv.create_account("publisher", "Zhang San Studio 张三工作室")
    named_id = srv.account_ids[srv.keys["named"]]
    decisions: dict[str, int] = {}
    with srv.client() as http:
        actions = ("block", "label", "refute", "stop_until_labelled", "dismiss", "warn", "restrict", "suspend", "close")
        signed = [sign_png(srv, tmp_path, seed, key="named") for seed in range(1501, 1501 + len(actions))]
        for cid, action in zip(signed, actions, strict=True):
            case_id = report(http, content_id=cid, category="deepfake_impersonation",
                             description="my neighbour Li Si is in this clip",
                             contact="lisi@example.org").json()["case_id"]
            extra: dict[str, Any] = {"refutation": {"zh": "已辟谣", "url": "https://example.org/fc"}} \
                if action == "refute" else {}
            resp = act(http, srv, case_id, action, **extra)
            assert resp.status_code == 201, resp.text
            decisions[action] = resp.json()["decision_id"]
        today = dt.date.today()
        export = http.get("/v1/transparency/dsa-statements", headers=auth(srv, "auditor"),
                          params={"from": (today - dt.timedelta(days=1)).isoformat(), "to": today.isoformat()})
        assert export.status_code == 200
        mine = {s["puid"]: s for s in export.json()["statements"]
                if s["puid"] in {f"avlabel-decision-{d}" for d in decisions.values()}}
        assert set(mine) == {f"avlabel-decision-{decisions[a]}" for a in RESTRICTING}
        for item in mine.values():
            assert errors(item) == [], item
        assert mine[f"avlabel-decision-{decisions['block']}"]["decision_visibility"] == [
            "DECISION_VISIBILITY_CONTENT_DISABLED"]
        assert mine[f"avlabel-decision-{decisions['close']}"]["decision_account"] == "DECISION_ACCOUNT_TERMINATED"
        assert mine[f"avlabel-decision-{decisions['block']}"]["illegal_content_legal_ground"] == \
            "Deep Synthesis Provisions Art. 14"
        text = json.dumps(export.json(), ensure_ascii=False)
        me = http.get("/v1/accounts/me", headers=auth(srv, "moderator")).json()["id"]
        for personal in ("张三", "Zhang San", named_id, "Li Si", "lisi@example.org", me, "e2e decision"):
            assert personal not in text, personal
        assert http.get("/v1/transparency/dsa-statements", headers=auth(srv, "moderator"),
                        params={"from": "2026-01-01", "to": "2026-12-31"}).status_code == 403
        # The regulator bundle carries the same statements beside its own data sets.
        bundle = http.get("/v1/audit/export", headers=auth(srv, "auditor"),
                          params={"from": (today - dt.timedelta(days=1)).isoformat(), "to": today.isoformat()})
        with zipfile.ZipFile(io.BytesIO(bundle.content)) as zf:
            inside = json.loads(zf.read("dsa_statements.json"))["statements"]
            assert {s["puid"] for s in inside} >= set(mine)
            assert "appeals.jsonl" in zf.namelist()


def test_the_cited_rule_comes_from_the_catalogue(in_process: Any, tmp_path: Path) -> None:
    srv = in_process
    cid = sign_png(srv, tmp_path, 1510)
    with srv.client() as http:
        case_id = report(http, content_id=cid, category="intellectual_property").json()["case_id"]
        unknown = act(http, srv, case_id, "block", rule="article-999")
        assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_rule"
        assert "labelling-art-10" in unknown.json()["error"]["message"]
        cited = act(http, srv, case_id, "block", rule="labelling-art-10").json()["details"]["statement"]["rule"]
        assert (cited["id"], cited["ground"], cited["source"]) == ("labelling-art-10", "illegal", "provisions")
    # The default for a category, and a catalogue that breaks the rules is refused at load.
    assert policy_catalogue.load().rule_for(None, "intellectual_property").id == "terms-ip"
    with pytest.raises(ValueError, match="ground must be one of"):
        policy_catalogue.parse({"rules": [{"id": "x", "source": "terms", "article": "§1", "title": {"en": "x"},
                                           "ground": "vibes", "dsa_category": "STATEMENT_CATEGORY_VIOLENCE"}]})
