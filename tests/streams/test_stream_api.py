"""Issue 15, streams as content: a publisher registers a playlist on its own origin and gets a content id
whose label document (by id, or by the playlist URL) carries the declaration; PATCH changes it while live."""

from __future__ import annotations

import secrets

from tests.backend.casework import auth
from tests.conftest import InProcess


def _playlist() -> str:
    return f"https://cdn.example/live/{secrets.token_hex(4)}/index.m3u8?utm_source=feed"


def test_a_registered_stream_is_content_whose_label_follows_the_declaration(in_process: InProcess) -> None:
    http = in_process.http
    pub = auth(in_process, "publisher")
    url = _playlist()
    resp = http.post("/v1/streams", json={"playlist_url": url, "live": True, "declaration": "ai_presenter"},
                     headers=pub)
    assert resp.status_code == 201, resp.text
    stream = resp.json()
    content_id = stream["content_id"]
    assert stream["live"] is True and stream["monitor"]["status"] == "watching"

    # A player looking the playlist up (tracking parameters and all) gets this content for the session.
    by_src = http.get("/v1/labels", params={"src": url.replace("utm_source=feed", "utm_source=share")}).json()
    assert by_src["content_id"] == content_id
    doc = http.get(f"/v1/labels/{content_id}").json()
    assert doc["state"] == "signed_synthetic" and doc["signature"] == "none"
    assert doc["display"] == {"zh": "AI生成主播", "en": "AI presenter"}
    assert doc["stream"]["declaration"] == "ai_presenter" and doc["stream"]["live"] is True
    assert doc["signed_at"] is None  # registered, not signed

    changed = http.patch(f"/v1/streams/{content_id}", json={"declaration": "synthetic_voice"}, headers=pub)
    assert changed.status_code == 200, changed.text
    doc = http.get(f"/v1/labels/{content_id}").json()
    assert doc["display"]["en"] == "Synthetic voice" and doc["stream"]["declaration"] == "synthetic_voice"

    assert http.patch(f"/v1/streams/{content_id}", json={"declaration": "none"}, headers=pub).status_code == 200
    doc = http.get(f"/v1/labels/{content_id}").json()
    assert doc["state"] == "unsigned" and doc["display"] is None  # declared as no AI: no AI badge

    # Staff see the stream; another publisher does not.
    assert http.get(f"/v1/streams/{content_id}", headers=auth(in_process, "moderator")).status_code == 200
    assert http.get(f"/v1/streams/{content_id}", headers=auth(in_process, "unverified")).status_code == 404


def test_a_stream_needs_an_owned_origin_a_playlist_and_a_known_declaration(in_process: InProcess) -> None:
    http = in_process.http
    pub = auth(in_process, "publisher")
    cases = [
        ({"playlist_url": "https://elsewhere.example/live/a.m3u8", "declaration": "none"}, 403,
         "origin_not_assigned"),
        ({"playlist_url": "https://cdn.example/live/a.mp4", "declaration": "none"}, 400, "invalid_playlist_url"),
        ({"playlist_url": "/live/a.m3u8", "declaration": "none"}, 400, "invalid_playlist_url"),
        ({"playlist_url": "https://cdn.example/live/a*", "declaration": "none"}, 400, "invalid_playlist_url"),
        ({"playlist_url": _playlist(), "declaration": "deepfake"}, 400, "invalid_declaration"),
        ({"playlist_url": _playlist(), "declaration": "none", "live": "yes"}, 400, "invalid_live"),
        ({"playlist_url": ["<script>"], "declaration": "none"}, 400, "invalid_playlist_url"),
    ]
    for body, status, code in cases:
        resp = http.post("/v1/streams", json=body, headers=pub)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["error"]["code"] == code
    assert http.post("/v1/streams", json={"playlist_url": _playlist(), "declaration": "none"}).status_code == 401
    moderator = http.post("/v1/streams", json={"playlist_url": _playlist(), "declaration": "none"},
                          headers=auth(in_process, "moderator"))
    assert moderator.status_code == 403

    url = _playlist()
    assert http.post("/v1/streams", json={"playlist_url": url, "declaration": "none"}, headers=pub).status_code == 201
    other = in_process.create_account("publisher", "Second Studio")
    from backend import registry_urls
    from backend.store.db import utcnow
    with in_process.http.app.state.services.db.tx() as conn:  # type: ignore[attr-defined]
        registry_urls.assign(conn, in_process.account_ids[other], "https://cdn.example", None, "test", utcnow())
    taken = http.post("/v1/streams", json={"playlist_url": url, "declaration": "none"},
                      headers={"Authorization": f"Bearer {other}"})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "url_taken"
