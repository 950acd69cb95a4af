"""Manifest strings carrying script, SQL, 10,000-character and control-character payloads: refused clearly
or stored and returned exactly as text, in the embedded and the shared deployment alike.

(The plugin and verification page showing them as text: tests/e2e/test_hostile_strings.py.)
"""

from __future__ import annotations

import html
import uuid
from pathlib import Path

import c2pa
import httpx
import markupsafe
import pytest

from tests import media_factory
from tests.conftest import Server

SCRIPT = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
SQL = "x'); DROP TABLE contents; -- \" OR 1=1 --"
FORMAT_CHARS = "RTL\u202eoverride\u200bzero\u2066width\u2069 标识 🤖"
CONTROL = "bell\x07esc\x1b[31mred\x1b[0m null\x00end"
LONG = "长" * 10_000
PAYLOADS = {"script": SCRIPT, "sql": SQL, "format-chars": FORMAT_CHARS}


def _sign(srv: Server, http: httpx.Client, path: Path, **fields: str) -> httpx.Response:
    return http.post("/v1/sign", headers={"Authorization": f"Bearer {srv.keys['publisher']}"},
                     files={"file": (path.name, path.read_bytes())}, data=fields)


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_hostile_generator_and_title_round_trip_as_text(any_server: Server, tmp_path: Path, kind: str) -> None:
    payload = PAYLOADS[kind]
    generator = f"{payload} 1.0"
    path = media_factory.png(tmp_path / "h.png", size=(200, 150), seed=70)
    with any_server.client() as http:
        resp = _sign(any_server, http, path, generator=generator, title=payload)
        assert resp.status_code == 200, resp.text
        content_id = resp.headers["X-Content-Id"]
        label = http.get(f"/v1/labels/{content_id}").json()
        assert label["generator"] == generator
        assert label["signed_at"].endswith("+00:00")  # never naive: a browser would read it as local time
        verdict = http.post("/v1/verify", files={"file": ("s.png", resp.content)}).json()
        assert verdict["verdict"] == "signed_synthetic"
        assert verdict["manifest"]["title"] == payload
        assert verdict["manifest"]["generator"] == generator
        page = http.get(f"/verify/{content_id}")
        assert page.status_code == 200 and str(markupsafe.escape(generator)) in page.text  # Jinja's autoescape
        if html.escape(payload) != payload:
            assert payload not in page.text
        # The SQL payload was data, never a statement.
        assert http.get(f"/v1/labels/{content_id}").status_code == 200


@pytest.mark.parametrize("field, value, code", [
    ("generator", LONG, "invalid_generator"),
    ("title", LONG, "invalid_title"),
    ("generator", CONTROL, "invalid_generator"),
    ("title", CONTROL, "invalid_title"),
])
def test_oversized_and_control_character_strings_are_refused(any_server: Server, tmp_path: Path, field: str,
                                                            value: str, code: str) -> None:
    path = media_factory.png(tmp_path / "c.png", size=(200, 150), seed=71)
    fields = {"generator": "ok-gen 1.0", field: value}
    with any_server.client() as http:
        resp = _sign(any_server, http, path, **fields)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == code


def test_foreign_manifest_with_hostile_strings_verifies_as_data(embedded_server: Server, tmp_path: Path) -> None:
    """A manifest made elsewhere (here: raw c2pa with a key our CA issued) carrying a 10,000-character title
    and control characters: the verdict is clear and the strings come back unchanged in the JSON."""
    keys = embedded_server.data_dir / "keys"
    key_pem = (keys / "dev-signer.key.pem").read_bytes()
    chain_pem = (keys / "dev-signer.chain.pem").read_bytes()
    manifest = {
        "claim_generator_info": [{"name": SCRIPT, "version": CONTROL}],
        "title": LONG + CONTROL,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
            "action": "c2pa.created",
            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
            "softwareAgent": {"name": SQL + CONTROL},
        }]}}, {"label": "cn.tc260.aigc", "data": {"AIGC": {"Label": "1", "ContentProducer": SCRIPT,
                                                            "ProduceID": LONG}}}],
        "label": f"urn:c2pa:{uuid.uuid4()}",
    }
    src = media_factory.png(tmp_path / "f.png", size=(200, 150), seed=72)
    out = tmp_path / "foreign.png"
    info = c2pa.C2paSignerInfo(b"es256", chain_pem, key_pem, None)
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder, src.open("rb") as fin, \
            out.open("w+b") as fout:
        builder.sign(signer, "image/png", fin, fout)
    with embedded_server.client() as http:
        resp = http.post("/v1/verify", files={"file": ("foreign.png", out.read_bytes())})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["verdict"] == "signed_synthetic"
    assert body["manifest"]["title"] == LONG + CONTROL
    assert body["manifest"]["generator"] == SQL + CONTROL
    assert body["manifest"]["aigc"]["ContentProducer"] == SCRIPT


def test_nul_and_control_characters_in_lookups_are_4xx(any_server: Server) -> None:
    """NUL cannot be stored in PostgreSQL text; every lookup carrying one must still be a clear 4xx."""
    with any_server.client() as http:
        assert http.get("/v1/labels/c_%00x").status_code in (400, 404)
        assert http.get("/v1/labels", params={"src": "https://cdn.example/\x00.png"}).status_code in (200, 400)
        lookup = http.post("/v1/verify", json={"content_id": "c_\x00"})
        assert 400 <= lookup.status_code < 500 and lookup.json()["error"]["code"]
        urls = http.post("/v1/contents/c_x/urls", json={"urls": ["https://cdn.example/\x00"]},
                         headers={"Authorization": f"Bearer {any_server.keys['publisher']}"})
        assert urls.status_code == 400 and urls.json()["error"]["code"] == "invalid_hosting_url"
