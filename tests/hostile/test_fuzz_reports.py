"""Property-based fuzzing of the report path (POST /v1/reports, public): well-formed, hostile and malformed
bodies all end in 201 or a clear 4xx JSON error, never a 5xx, within the time and memory bounds.
Skipped on builds without the reports API (it arrives with the reports/cases issue)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import Server
from tests.hostile.conftest import Guard

CATEGORIES = ["unlabelled_ai", "deepfake_impersonation", "rumour", "illegal", "privacy_portrait",
              "intellectual_property", "other"]
HOSTILE_TEXT = st.sampled_from([
    "<script>alert(1)</script>", "'); DROP TABLE reports; --", "\x00\x07\x1b[31m", "长" * 10_000,
    "\u202e\u200b\ufeff", "a" * 100_000, "",
])
text = st.one_of(st.text(max_size=300), HOSTILE_TEXT)
json_values = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | text,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
                           max_leaves=10)
reports = st.fixed_dictionaries(
    {"category": st.one_of(st.sampled_from(CATEGORIES), json_values)},
    optional={
        "description": st.one_of(text, json_values),
        "content_id": st.one_of(st.text(max_size=80), json_values),
        "media_url": st.one_of(st.just("https://cdn.example/v.mp4"), text, json_values),
        "sha256": st.one_of(st.just("0" * 64), text),
        "playback_time": st.one_of(st.floats(allow_nan=True, allow_infinity=True), text, json_values),
        "contact": st.one_of(st.just("viewer@example.com"), text),
        "good_faith": st.one_of(st.just(True), json_values),
        "time_range": st.one_of(st.fixed_dictionaries({"start": json_values, "end": json_values}), json_values),
        "items": st.one_of(st.lists(st.fixed_dictionaries({"sha256": st.just("0" * 64)}), max_size=25), json_values),
        "extra": json_values,
    },
)
bodies = st.one_of(reports.map(lambda r: json.dumps(r).encode()), json_values.map(lambda v: json.dumps(v).encode()),
                   st.binary(max_size=2000))


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def reports_guard(guard: Guard, hostile_server: Server) -> Guard:
    probe = httpx.post(hostile_server.url + "/v1/reports", json={}, timeout=10)
    if probe.status_code in (404, 405):
        pytest.skip("POST /v1/reports is not on this build yet (reports/cases issue); runs once it is merged")
    return guard


def _case(guard: Guard, body: bytes, content_type: str) -> None:
    answer = guard.send("POST", "/v1/reports", content=body, headers={"content-type": content_type})
    if answer.status == 201:
        report: dict[str, Any] = answer.body
        assert str(report.get("id", "")).startswith("r_") and report.get("secret"), report


@given(body=bodies, content_type=st.sampled_from(["application/json", "text/plain", "application/json; charset=x"]))
@_settings(200)
def test_report_bodies(reports_guard: Guard, body: bytes, content_type: str) -> None:
    _case(reports_guard, body, content_type)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@given(body=bodies, content_type=st.sampled_from(["application/json", "text/plain", "application/json; charset=x"]))
@_settings(3000)
def test_report_bodies_long(reports_guard: Guard, body: bytes, content_type: str) -> None:
    _case(reports_guard, body, content_type)
