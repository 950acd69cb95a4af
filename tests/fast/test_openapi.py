"""The OpenAPI document is generated from the route table and the models, and the JSON routes validate
their bodies with the same models, answering the error codes they always had."""

from __future__ import annotations

import pytest
from starlette.responses import JSONResponse
from starlette.routing import Route

from backend.manifest_data import ManifestData
from backend.openapi import build_openapi
from tests.backend.casework import auth
from tests.conftest import InProcess


async def _endpoint(_request: object) -> JSONResponse:
    return JSONResponse({})


def test_a_route_nobody_described_stops_the_document_from_being_built() -> None:
    with pytest.raises(RuntimeError, match="POST /v1/undescribed is not described"):
        build_openapi([Route("/v1/undescribed", _endpoint, methods=["POST"])], "0", [])


def test_the_document_comes_from_the_routes_and_models(in_process: InProcess) -> None:
    with in_process.client() as http:
        doc = http.get("/openapi.json").json()
    app_paths = {r.path_format for r in in_process.http.app.routes if getattr(r, "include_in_schema", False)}  # type: ignore[attr-defined]
    assert set(doc["paths"]) <= app_paths
    sign = doc["paths"]["/v1/sign"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert sign["properties"]["source_type"]["enum"] == ManifestData.load().signable
    assert sign["required"] == ["file", "generator"]
    lookup = doc["paths"]["/v1/verify"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert lookup == {"$ref": "#/components/schemas/VerifyLookup"}
    assert doc["components"]["schemas"]["VerifyLookup"]["properties"]["content_id"]["anyOf"][0]["maxLength"] == 64
    account = doc["components"]["schemas"]["AccountCreate"]["properties"]
    assert account["role"]["enum"] == ["admin", "moderator", "auditor", "publisher"]
    assert doc["paths"]["/v1/labels/{content_id}"]["get"]["parameters"][0]["schema"] == {"type": "string",
                                                                                          "maxLength": 64}
    assert doc["components"]["responses"]["Error"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}


@pytest.mark.parametrize(("body", "code"), [
    ({"sha256": "nothex"}, "invalid_sha256"),
    ({"sha256": 7}, "invalid_sha256"),
    ({"content_id": ""}, "invalid_content_id"),
    ({"content_id": "x" * 65}, "invalid_content_id"),
    ({"content_id": ["a"]}, "invalid_content_id"),
    ({}, "missing_reference"),
    ({"sha256": None, "content_id": None}, "missing_reference"),
])
def test_registry_lookup_bodies_are_checked_by_the_model(in_process: InProcess, body: object, code: str) -> None:
    with in_process.client() as http:
        resp = http.post("/v1/verify", json=body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == code
    assert resp.json()["error"]["message"]


def test_an_upper_case_hash_is_still_looked_up(in_process: InProcess) -> None:
    with in_process.client() as http:
        resp = http.post("/v1/verify", json={"sha256": "AB" * 32})
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_registered"


@pytest.mark.parametrize(("path", "body", "code"), [
    ("/v1/accounts", {"name": 5, "role": "publisher"}, "invalid_account"),
    ("/v1/accounts", {"name": "X"}, "invalid_account"),
    ("/v1/accounts", {"name": "X", "role": "king"}, "invalid_role"),
    ("/v1/accounts", {"name": " ", "role": "publisher"}, "invalid_name"),
    ("/v1/accounts", {"name": "X", "role": "publisher", "complaint_contact": "x" * 301},
     "invalid_complaint_contact"),
    ("/v1/accounts/{me}/identity", {"kind": "org_code"}, "invalid_identity"),
    ("/v1/accounts/{me}/identity", {"kind": "passport", "number": "123456"}, "invalid_identity_kind"),
    ("/v1/accounts/{me}/password", {"password": 12}, "weak_password"),
])
def test_account_bodies_keep_their_error_codes(in_process: InProcess, path: str, body: object, code: str) -> None:
    with in_process.client() as http:
        who = "unverified" if path.endswith("identity") else "moderator"  # a publisher; a console role
        me = http.get("/v1/accounts/me", headers=auth(in_process, who)).json()["id"]
        resp = http.post(path.format(me=me), json=body, headers=auth(in_process, "admin"))
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == code


def test_account_update_changes_only_what_is_given(in_process: InProcess) -> None:
    with in_process.client() as http:
        me = http.get("/v1/accounts/me", headers=auth(in_process, "publisher")).json()["id"]
        nothing = http.patch(f"/v1/accounts/{me}", json={"other": 1}, headers=auth(in_process, "admin"))
        assert nothing.status_code == 400 and nothing.json()["error"]["code"] == "nothing_to_change"
        bad = http.patch(f"/v1/accounts/{me}", json={"complaint_contact": 5}, headers=auth(in_process, "admin"))
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_complaint_contact"
        set_ = http.patch(f"/v1/accounts/{me}", json={"complaint_contact": "abuse@fast.example"},
                          headers=auth(in_process, "publisher"))
        assert set_.status_code == 200 and set_.json()["complaint_contact"] == "abuse@fast.example"


@pytest.mark.parametrize("body", [{}, {"urls": []}, {"urls": "https://x.example/a"}, {"urls": [1]},
                                  {"urls": [f"https://x.example/{i}" for i in range(51)]}])
def test_hosting_url_bodies_keep_their_error_code(in_process: InProcess, body: object) -> None:
    with in_process.client() as http:
        resp = http.post("/v1/contents/anything/urls", json=body, headers=auth(in_process, "publisher"))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_urls"
