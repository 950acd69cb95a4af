"""Issue 13's hostile JSON bodies against the hostile server: a body nested 10 000 deep and a lone surrogate
("\\ud800") on every route that takes JSON (reports, verify look-ups, accounts, passwords, case actions…)
end in a 400 `invalid_json` error (or 413 where the body is over the route's cap), never a 5xx, within the
guard's CPU and memory bounds. The routes and the nesting builder are tests/backend/test_bodies.py's, so
both suites cover the same set."""

from __future__ import annotations

import pytest

from tests.backend.test_bodies import json_routes, nested
from tests.hostile.conftest import Guard

# label → (method, path prefix) of a route in json_routes
ROUTES = {
    "reports": ("POST", "/v1/reports"),
    "verify": ("POST", "/v1/verify"),
    "accounts": ("POST", "/v1/accounts"),
    "account-update": ("PATCH", "/v1/accounts/"),
    "identity": ("POST", "/identity"),
    "password": ("POST", "/password"),
    "staff-login": ("POST", "/login"),
    "case-actions": ("POST", "/actions"),
    "content-urls": ("POST", "/urls"),
    "appeals": ("POST", "/v1/appeals"),
    "appeal-decision": ("POST", "/decision"),
    "contest": ("POST", "/contest"),
}
BODIES = {
    "nested-10000": lambda field: nested(10_000),  # 20 KB: over the reports route's 16 KiB cap (413 there)
    "nested-10000-open": lambda field: nested(10_000)[:10_005],  # the openers only: under every route's cap
    "lone-surrogate": lambda field: b'{"%s": "\\ud800"}' % field.encode(),
    "lone-surrogate-nested": lambda field: b'{"%s": ["ok", {"x": "\\udc00"}]}' % field.encode(),
}


def _route(guard: Guard, label: str) -> tuple[str, str, str | None, str]:
    method, part = ROUTES[label]
    found = [r for r in json_routes(guard.srv) if r[0] == method
             and (r[1] == part or (part.endswith("/") and r[1].startswith(part)) or r[1].endswith(part))]
    assert len(found) == 1, (label, found)
    return found[0]


@pytest.mark.parametrize("label", list(ROUTES))
@pytest.mark.parametrize("case", list(BODIES))
def test_hostile_json_body(guard: Guard, case: str, label: str) -> None:
    method, path, key, field = _route(guard, label)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {guard.srv.keys[key]}"
    body = BODIES[case](field)
    answer = guard.send(method, path, content=body, headers=headers)
    if answer.status == 413:  # refused by the route's body cap before parsing: also a clear 4xx
        assert len(body) > 16_384 and answer.body["error"]["code"] == "payload_too_large", (case, path)
        return
    assert answer.status == 400 and answer.body["error"]["code"] == "invalid_json", (case, path, answer.body)
