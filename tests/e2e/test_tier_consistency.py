"""A tampered AI file keeps its AI label, and the badge, the details panel, the label document and the
/verify page say the same thing: the tier (AI-generated), the signature (invalid) and the integrity
(altered) each in its own place. Before, the badge said "credentials invalid" while the panel and /verify
said "signature: valid"."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from tests import media_factory
from tests.conftest import Server
from tests.e2e.conftest import PARTS_JS, ROOTS_JS, part, wait_js, wait_part

pytestmark = pytest.mark.browser


def test_tampered_ai_file_keeps_its_label_and_every_view_agrees(demo_server: Server, browser: Browser) -> None:
    doc = httpx.get(demo_server.url + "/v1/labels/demo-tampered").json()
    assert doc["state"] == "tampered" and doc["tier"] == "ai_generated"
    assert doc["display"] == {"zh": "本内容由人工智能生成", "en": "AI-generated content"}
    assert (doc["signature"], doc["integrity"], doc["issuer_trust"]) == ("invalid", "altered", "trusted")
    verify_page = httpx.get(demo_server.url + "/verify/demo-tampered?lang=en").text
    assert "<dt>Signature</dt><dd>invalid</dd>" in verify_page
    assert "<dt>File integrity</dt><dd>altered</dd>" in verify_page
    assert "AI-generated content" in verify_page and "本内容由人工智能生成" in verify_page

    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.add_init_script(ROOTS_JS)
    page = context.new_page()
    page.goto(demo_server.url + "/?lang=en")
    page.evaluate(PARTS_JS)
    sel = "#tampered-image img"
    wait_js(page, "(s) => { const m = document.querySelector(s); const h = m && window.avlabel.handleOf(m); "
                  "return h && h.state === 'tampered'; }", sel, timeout=20_000)
    assert page.evaluate(f"window.__avl('{sel}').q('.badge').textContent") == "AI-generated content"
    page.evaluate("(s) => document.querySelector(s).scrollIntoView({block: 'center'})", sel)
    part(page, ".badge", sel).focus()
    page.keyboard.press("Enter")
    text = wait_part(page, ".panel", sel).inner_text()
    assert "AI-generated content" in text
    assert "invalid" in text and "altered after signing" in text
    assert "\tvalid" not in text and "\nvalid" not in text  # never "signature: valid" beside a tampered badge
    context.close()


def test_demo_upload_form_sends_the_users_declaration(demo_server: Server, browser: Browser,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "declared.wav"
    media_factory.wav(path, 0.3)  # a tone: no detector flags it, so only the declaration speaks
    context = browser.new_context()
    page = context.new_page()
    page.goto(demo_server.url + "/")
    page.fill("#ingest-key", demo_server.keys["publisher"])
    page.set_input_files("#ingest-file", str(path))
    page.check("#ingest-declared")
    page.click("#ingest-form button[type=submit]")
    text = wait_js(page, "() => { const t = document.getElementById('ingest-result').textContent; "
                         "return t.startsWith('tier:') || t.includes(':') && !t.startsWith('…') ? t : null; }")
    assert text.startswith("tier: declared_possibly"), text
    assert "作者声明：内容可能由AI生成 / Creator says this may be AI-generated" in text
    context.close()
