"""The fast in-process layer: whole user flows through the real app (`create_app`) on SQLite, no server process.

The same flows run against the real server on PostgreSQL + Redis in tests/backend; here they run in
seconds, so a change to routes or decisions is checked on every save:
`pytest -m "not browser and not postgres and not slow and not server"`.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from tests import media_factory
from tests.backend.casework import act, auth, report, sign_png
from tests.conftest import InProcess


def test_signed_media_verifies_and_its_label_follows_the_hosting_url(in_process: InProcess, tmp_path: Path) -> None:
    app = in_process
    url = f"https://cdn.example/{secrets.token_hex(4)}/clip.png"
    path = media_factory.png(tmp_path / "s.png", seed=201)
    with app.client() as http, path.open("rb") as fh:
        signed = http.post("/v1/sign", headers=auth(app, "publisher"), files={"file": ("s.png", fh)},
                           data={"generator": "fast-gen 1.0", "title": "<b>not markup</b>", "hosting_urls": url})
        assert signed.status_code == 200, signed.text
        cid = signed.headers["x-content-id"]
        assert signed.headers["location"] == f"/v1/labels/{cid}"
        answer = http.post("/v1/verify", files={"file": ("back.png", signed.content)}).json()
        assert answer["verdict"] == "signed_synthetic" and answer["content_id"] == cid
        assert answer["validation_state"] in ("Valid", "Trusted")
        assert http.post("/v1/verify", json={"content_id": cid}).json()["verdict"] == "signed_synthetic"
        by_sha = http.post("/v1/verify", json={"sha256": signed.headers["x-content-sha256"]})
        assert by_sha.status_code == 200 and by_sha.json()["content_id"] == cid

        label = http.get(f"/v1/labels/{cid}")
        assert label.status_code == 200 and label.json()["state"] == "signed_synthetic"
        assert label.headers["access-control-allow-origin"] == "*"
        again = http.get(f"/v1/labels/{cid}", headers={"If-None-Match": label.headers["etag"]})
        assert again.status_code == 304
        assert http.get("/v1/labels", params={"src": url}).json()["content_id"] == cid
        unknown = http.get("/v1/labels", params={"src": "https://cdn.example/never-signed.png"}).json()
        assert unknown["state"] == "unknown"
        assert http.get("/v1/labels/no-such-content").json()["error"]["code"] == "unknown_content"

        mine = http.get("/v1/contents", headers=auth(app, "publisher")).json()
        assert cid in {c["content_id"] for c in mine["contents"]}


def test_a_report_is_moderated_and_the_reporter_follows_the_outcome(in_process: InProcess, tmp_path: Path) -> None:
    app = in_process
    cid = sign_png(app, tmp_path, 202)
    with app.client() as http:
        receipt = report(http, content_id=cid)
        assert receipt.status_code == 201, receipt.text
        body = receipt.json()
        follow = {"Authorization": f"Bearer {body['secret']}"}
        assert http.get(body["status_url"], headers=follow).json()["status"] == "received"
        assert http.get(body["status_url"], headers={"Authorization": "Bearer wrong"}).status_code == 404

        case_id = body["case_id"]
        queue = http.get("/v1/cases", headers=auth(app, "moderator")).json()["cases"]
        assert case_id in {c["id"] for c in queue}
        assert act(http, app, case_id, "acknowledge", reasons="").status_code == 201
        assert http.get(body["status_url"], headers=follow).json()["status"] == "in_review"
        assert act(http, app, case_id, "stop_until_labelled").status_code == 201
        assert http.get(f"/v1/labels/{cid}").json()["state"] == "pending_label"
        assert act(http, app, case_id, "label").status_code == 201
        assert http.get(f"/v1/labels/{cid}").json()["state"] == "signed_synthetic"
        blocked = act(http, app, case_id, "block", reasons="prohibited content: violent extremism")
        assert blocked.status_code == 201
        doc = http.get(f"/v1/labels/{cid}").json()
        assert doc["state"] == "blocked" and doc["block"]["reason"] == "prohibited content: violent extremism"

        view = http.get(body["status_url"], headers=follow).json()
        assert view["status"] == "decided" and view["outcome"]["action"] == "block"
        page = http.get(f"/reports/{body['id']}", params={"secret": body["secret"]})
        assert page.status_code == 200 and "violent extremism" in page.text
        case = http.get(f"/v1/cases/{case_id}", headers=auth(app, "auditor")).json()
        assert [a["action"] for a in case["actions"]] == ["acknowledge", "stop_until_labelled", "label", "block"]


def test_a_new_publisher_signs_only_once_verified_and_a_revoked_key_locks_it_out(in_process: InProcess,
                                                                                  tmp_path: Path) -> None:
    app = in_process
    admin = auth(app, "admin")
    with app.client() as http:
        created = http.post("/v1/accounts", headers=admin, json={"name": "Fast Studio", "role": "publisher"})
        assert created.status_code == 201, created.text
        account = created.json()
        issued = http.post(f"/v1/accounts/{account['id']}/keys", headers=admin).json()
        key = {"Authorization": f"Bearer {issued['api_key']}"}
        png = media_factory.png(tmp_path / "n.png", seed=203).read_bytes()
        refused = http.post("/v1/sign", headers=key, files={"file": ("n.png", png)}, data={"generator": "g 1.0"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "identity_not_verified"
        verified = http.post(f"/v1/accounts/{account['id']}/identity", headers=admin,
                             json={"kind": "org_code", "number": "91350100M000100Y43"})
        assert verified.status_code == 200 and verified.json()["identity_verified"] is True
        signed = http.post("/v1/sign", headers=key, files={"file": ("n.png", png)}, data={"generator": "g 1.0"})
        assert signed.status_code == 200, signed.text

        assert http.delete(f"/v1/accounts/{account['id']}/keys/{issued['key']['id']}", headers=admin).status_code == 204
        locked = http.get("/v1/accounts/me", headers=key)
        assert locked.status_code == 401 and locked.json()["error"]["code"] == "invalid_api_key"


def test_audit_chain_verifies_after_the_flows(in_process: InProcess) -> None:
    with in_process.client() as http:
        assert http.get("/v1/audit/verify").status_code == 401
        assert http.get("/v1/audit/verify", headers=auth(in_process, "publisher")).status_code == 403
        checked = http.get("/v1/audit/verify", headers=auth(in_process, "auditor"))
        assert checked.status_code == 200 and checked.json()["ok"] is True
