"""The registry as publishers see it, and the public verification page."""

from __future__ import annotations

from pathlib import Path

from tests import media_factory
from tests.backend.test_signing import sign
from tests.conftest import Server


def test_publisher_registers_hosting_urls_and_players_find_them(server: Server, tmp_path: Path) -> None:
    status, _, headers = sign(server, media_factory.png(tmp_path / "h.png", seed=50))
    assert status == 200
    cid = headers["x-content-id"]
    auth = {"Authorization": f"Bearer {server.keys['publisher']}"}
    with server.client() as http:
        added = http.post(f"/v1/contents/{cid}/urls", json={"urls": ["https://cdn.example.org/h.png"]}, headers=auth)
        assert added.status_code == 201
        entry = http.get(f"/v1/contents/{cid}", headers=auth).json()
        assert "https://cdn.example.org/h.png" in entry["hosting_urls"]
        label = http.get("/v1/labels", params={"src": "https://cdn.example.org/h.png"}).json()
        assert label["content_id"] == cid
        # Another publisher neither sees nor changes it; staff can read it.
        other = {"Authorization": f"Bearer {server.keys['unverified']}"}
        assert http.get(f"/v1/contents/{cid}", headers=other).status_code == 404
        assert http.post(f"/v1/contents/{cid}/urls", json={"urls": ["https://x.example/a"]},
                         headers=other).status_code == 404
        staff = {"Authorization": f"Bearer {server.keys['auditor']}"}
        assert http.get(f"/v1/contents/{cid}", headers=staff).status_code == 200
        bad = http.post(f"/v1/contents/{cid}/urls", json={"urls": ["javascript:alert(1)"]}, headers=auth)
        assert bad.status_code == 400


def test_verify_page_escapes_manifest_strings(embedded_server: Server, tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    status, _, headers = sign(embedded_server, media_factory.png(tmp_path / "x.png", seed=51),
                              generator=f"{hostile} 1.0")
    assert status == 200
    with embedded_server.client() as http:
        page = http.get(f"/verify/{headers['x-content-id']}")
        assert page.status_code == 200
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page.text  # Jinja's autoescape
        assert hostile not in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "unsafe-inline" not in page.headers["content-security-policy"]
        assert http.get("/verify/nope-nope").status_code == 404
