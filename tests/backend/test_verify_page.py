"""The verification pages in process: /verify/{id} in words, the poster-frame route and its bad input."""

from __future__ import annotations

from pathlib import Path

from tests import media_factory
from tests.backend.test_signing import sign
from tests.conftest import InProcess

HOSTILE = '<img src=x onerror="window.__pwned=1">'


def _signed(app: InProcess, path: Path, **fields: str) -> str:
    status, body, headers = sign(app, path, **fields)
    assert status == 200, body[:300]
    return headers["x-content-id"]


def test_detail_page_shows_tier_issuer_thumbnail_and_model_cards(in_process: InProcess, tmp_path: Path) -> None:
    cid = _signed(in_process, media_factory.png(tmp_path / "p.png", seed=901), title=f"{HOSTILE} title")
    with in_process.client() as http:
        page = http.get(f"/verify/{cid}?lang=en")
        assert page.status_code == 200
        assert "AI-generated content" in page.text and "Issuer" in page.text
        assert f'src="/verify/{cid}/poster.jpg"' in page.text
        assert "image_synthetic" in page.text and "ROC AUC" in page.text
        assert HOSTILE not in page.text and "&lt;img src=x onerror=" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        zh = http.get(f"/verify/{cid}", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
        assert "本内容由人工智能生成" in zh.text and "签发方" in zh.text and "举报" in zh.text
        poster = http.get(f"/verify/{cid}/poster.jpg")
        assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
        assert poster.content[:3] == b"\xff\xd8\xff" and len(poster.content) <= 120_000
        assert http.get(f"/verify/{cid}/poster.jpg").content == poster.content  # from the cache


def test_video_poster_frame_and_a_damaged_video(in_process: InProcess, tmp_path: Path) -> None:
    cid = _signed(in_process, media_factory.video(tmp_path / "v.mp4", seconds=1.0))
    with in_process.client() as http:
        poster = http.get(f"/verify/{cid}/poster.jpg")
        assert poster.status_code == 200 and poster.content[:3] == b"\xff\xd8\xff"
        damaged = _signed(in_process, media_factory.video(tmp_path / "d.mp4", seconds=1.2))
        stored = in_process.data_dir / "media" / f"{damaged}.mp4"
        blob = bytearray(stored.read_bytes())
        stored.write_bytes(bytes(blob[:64]) + b"\x00" * (len(blob) - 64))  # the store's copy goes bad on disk
        bad = http.get(f"/verify/{damaged}/poster.jpg")
        assert bad.status_code == 422, bad.text
        assert bad.json()["error"]["code"] == "no_thumbnail"
        assert http.get(f"/verify/{damaged}").status_code == 200  # the page itself still answers
        stored.unlink()
        gone = http.get(f"/verify/{damaged}/poster.jpg")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "no_media"
        unknown = http.get("/verify/c_nope/poster.jpg")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_audio_has_a_player_not_a_poster(in_process: InProcess, tmp_path: Path) -> None:
    cid = _signed(in_process, media_factory.wav(tmp_path / "a.wav", seconds=1.0))
    with in_process.client() as http:
        page = http.get(f"/verify/{cid}?lang=en").text
        assert f'src="/media/{cid}.wav"' in page and "<audio" in page
        assert http.get(f"/verify/{cid}/poster.jpg").status_code == 422


def test_upload_page_and_unknown_content(in_process: InProcess) -> None:
    with in_process.client() as http:
        page = http.get("/verify?lang=en")
        assert page.status_code == 200 and 'src="/static/verify.js"' in page.text and 'type="file"' in page.text
        assert "<script>" not in page.text
        assert http.get("/static/verify.js").status_code == 200
        missing = http.get("/verify/c_nope?lang=en")
        assert missing.status_code == 404 and "Unknown content" in missing.text


def test_the_chain_goes_back_through_the_parent_manifest(in_process: InProcess, tmp_path: Path) -> None:
    """An upload the platform ingests keeps its own manifest as the parent ingredient: /verify/{id} shows the
    platform's manifest, the parent's check, and the publisher's manifest before it with its own actions."""
    signed_cid = _signed(in_process, media_factory.png(tmp_path / "c.png", seed=907), title=f"{HOSTILE} original")
    with in_process.client() as http:
        original = http.get(f"/media/{signed_cid}.png")
        assert original.status_code == 200
        ingested = http.post("/v1/ingest", headers={"Authorization": f"Bearer {in_process.keys['publisher']}"},
                             files={"file": ("upload.png", original.content, "image/png")},
                             data={"uploader": "user:42", "title": "re-upload"})
        assert ingested.status_code == 201, ingested.text
        page = http.get(f"/verify/{ingested.json()['content_id']}?lang=en").text
    chain = page[page.index('id="chain"'):page.index('id="evidence"')]
    assert "c2pa.published" in chain and "parentOf" in chain
    assert "Its own manifest: signature valid" in chain
    earlier = chain[chain.index('id="chain-earlier"'):]
    assert earlier.count('class="earlier-manifest"') == 1
    assert "&lt;img src=x onerror=" in earlier and " original" in earlier and HOSTILE not in page
    assert "c2pa.created" in earlier  # the publisher's own action, not the platform's
    # A file signed once has no earlier manifest.
    with in_process.client() as http:
        assert 'id="chain-earlier"' not in http.get(f"/verify/{signed_cid}?lang=en").text
