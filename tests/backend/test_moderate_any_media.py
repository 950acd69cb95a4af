"""Moderation of any media (Provisions Art. 11-12): a case about unsigned or unregistered media can be
labelled, paused, blocked or refuted; its media becomes a registry entry (by hash and/or URL) the action
applies to, and a refused action keeps the moderator's typed reasons."""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

from tests import media_factory
from tests.backend.casework import act, auth, console_login, report
from tests.backend.test_ingest import ingest
from tests.conftest import Server


def test_blocking_a_reported_unsigned_image_by_hash_stops_it_everywhere(embedded_server: Server,
                                                                        tmp_path: Path) -> None:
    srv = embedded_server
    path = media_factory.png(tmp_path / "unsigned.png", seed=4242)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with srv.client() as http:
        case_id = report(http, sha256=sha, category="wrong_ai_label").json()["case_id"]
        done = act(http, srv, case_id, "block", public_statement="Removed after review")
        assert done.status_code == 201, done.text
        case = http.get(f"/v1/cases/{case_id}", headers=auth(srv, "moderator")).json()
        assert case["category"] == "wrong_ai_label" and case["category_text"] == "AI标识错误 / Wrong AI label"
        content_id = case["content_id"]
        assert content_id and case["content"]["label_state"] == "blocked"
        assert case["content"]["origin"] == "reported" and case["content"]["signature"] == "none"
        assert case["actions"][-1]["details"]["registered"] == content_id
        verified = http.post("/v1/verify", files={"file": ("u.png", path.read_bytes())}).json()
        assert verified["label_state"] == "blocked"
    status, answer = ingest(srv, path)  # the platform's upload path refuses the blocked bytes
    assert status == 403 and answer["error"]["code"] == "blocked_media"


def test_labelling_a_reported_url_gives_players_the_ai_label(embedded_server: Server) -> None:
    srv = embedded_server
    url = f"https://elsewhere.example/v/{secrets.token_hex(4)}.mp4"
    with srv.client() as http:
        before = http.get("/v1/labels", params={"src": url}).json()
        assert before["state"] == "unknown"
        case_id = report(http, media_url=url).json()["case_id"]
        assert act(http, srv, case_id, "label").status_code == 201
        doc = http.get("/v1/labels", params={"src": url}).json()
    assert doc["state"] == "signed_synthetic" and doc["tier"] == "ai_generated"
    assert doc["display"]["zh"] == "本内容由人工智能生成"
    assert doc["signature"] == "none" and doc["issuer_trust"] == "none"  # a moderator's label, not a signature


def test_a_refused_action_keeps_the_typed_reasons_in_the_console(embedded_server: Server) -> None:
    srv = embedded_server
    with srv.client() as http:
        case_id = report(http, media_url="/only/a/path.png").json()["case_id"]  # no hash, no absolute URL
        refused = act(http, srv, case_id, "block")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_media_reference"
    client, csrf = console_login(srv, "moderator")
    try:
        reasons = "Reported twice; <b>the media</b> cannot be found at that path"
        form = {"csrf": csrf, "action": "block", "reasons": reasons, "public_statement": "Removed"}
        ask = client.post(f"/console/cases/{case_id}/actions", data=form)  # a block is confirmed first
        confirm = re.search(r'name="confirm" value="([0-9a-f]+)"', ask.text)
        assert ask.status_code == 200 and confirm
        page = client.post(f"/console/cases/{case_id}/actions", data={**form, "confirm": confirm.group(1)})
        assert page.status_code == 409
        textarea = re.search(r'<textarea id="destructive_reasons"[^>]*>(.*?)</textarea>', page.text, re.S)
        assert textarea and textarea.group(1) == reasons.replace("<", "&lt;").replace(">", "&gt;")
        assert '<option value="block" selected>' in page.text
        # the case's media was not registered: no content block to show yet
        assert 'data-field="tier"' not in page.text
    finally:
        client.close()
