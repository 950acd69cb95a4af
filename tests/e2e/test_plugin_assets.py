"""The built bundle as the service serves it: cache headers, ETags, hashed names, size budget."""

from __future__ import annotations

import gzip
import hashlib
import json

import httpx

from tests.conftest import ROOT, Server

DIST = ROOT / "player_plugin" / "dist"
BUDGET = 20 * 1024


def test_build_manifest_matches_files_and_budget() -> None:
    manifest = json.loads((DIST / "manifest.json").read_text())
    for name in ("avlabel-player.js", "avlabel-player.mjs"):
        body = (DIST / name).read_bytes()
        entry = manifest["files"][name]
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
        assert 0 < entry["gzip_bytes"] <= BUDGET
        assert len(gzip.compress(body, 9)) <= BUDGET, f"{name} is over the 20 kB gzip budget"
        assert (DIST / entry["hashed_name"]).read_bytes() == body
    assert (DIST / "avlabel-player.d.ts").is_file() and (DIST / "types" / "index.d.ts").is_file()
    text = (DIST / "avlabel-player.js").read_text()
    assert "eval(" not in text and "new Function" not in text


def test_stable_names_revalidate_and_hashed_names_are_immutable(server: Server) -> None:
    manifest = json.loads((DIST / "manifest.json").read_text())
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for name, ctype in (("avlabel-player.js", "text/javascript"), ("avlabel-player.mjs", "text/javascript")):
            resp = http.get(f"/plugin/{name}")
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith(ctype)
            assert resp.content == (DIST / name).read_bytes()
            assert "max-age=300" in resp.headers["cache-control"]
            assert resp.headers["access-control-allow-origin"] == "*"
            etag = resp.headers["etag"]
            again = http.get(f"/plugin/{name}", headers={"If-None-Match": etag})
            assert again.status_code == 304 and again.content == b""
            hashed = http.get(f"/plugin/{manifest['files'][name]['hashed_name']}")
            assert hashed.status_code == 200 and hashed.content == resp.content
            assert hashed.headers["cache-control"] == "public, max-age=31536000, immutable"
        missing = http.get("/plugin/avlabel-player.0123456789ab.js")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        assert http.get("/plugin/../backend/app.py").status_code == 404
        assert http.get("/plugin/vendor/video.min.js").status_code == 200


ADAPTERS = ("hls", "dash", "shaka", "videojs", "native")
ADAPTER_BUDGET = 3 * 1024


def test_each_streaming_adapter_is_a_small_bundle_the_service_serves(server: Server) -> None:
    """Issue 12, item 8: each adapter ≤ 3 kB gzipped (the build checks and records it), without a copy of
    the core (it uses the page's registry), served like the core under stable and hashed names."""
    manifest = json.loads((DIST / "manifest.json").read_text())
    core = (DIST / "avlabel-player.js").read_text()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for adapter in ADAPTERS:
            for ext in ("js", "mjs"):
                name = f"adapters/avlabel-{adapter}.{ext}"
                body = (DIST / name).read_bytes()
                entry = manifest["files"][name]
                assert entry["sha256"] == hashlib.sha256(body).hexdigest()
                assert entry["budget_gzip_bytes"] == ADAPTER_BUDGET
                assert len(gzip.compress(body, 9)) <= ADAPTER_BUDGET, f"{name} is over 3 kB gzipped"
                text = body.decode()
                assert "eval(" not in text and "new Function" not in text
                assert "avlabel.registry" in text and "avlabel-frame" not in text, "uses the core, not a copy"
                resp = http.get(f"/plugin/{name}")
                assert resp.status_code == 200 and resp.content == body
                assert resp.headers["content-type"].startswith("text/javascript")
                hashed = http.get(f"/plugin/{entry['hashed_name']}")
                assert hashed.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "avlabel-frame" in core
        assert http.get("/plugin/adapters/avlabel-nope.js").status_code == 404
