"""The demo page at / of a service started with demo media: every state shows, under its strict CSP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from tests.conftest import Server
from tests.e2e.conftest import PARTS_JS, ROOTS_JS, wait_js

pytestmark = pytest.mark.browser

EXPECTED = {
    "#signed-video video": "signed_synthetic",
    "#signed-audio audio": "signed_synthetic",
    "#signed-image img": "signed_synthetic",
    "#unsigned-image img": "unknown",
    "#tampered-image img": "tampered",
    "#hostile-manifest img": "signed_synthetic",
    "#blocked-video video": "blocked",
    "#videojs video": "signed_synthetic",
}


def test_demo_page_shows_every_state(demo_server: Server, browser: Browser,
                                     shot: Callable[..., Path]) -> None:
    resp = httpx.get(demo_server.url + "/")
    assert resp.status_code == 200
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    assert "class=problem" not in resp.text, "the demo's own checks found a problem"
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.add_init_script(ROOTS_JS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and "avlabel" in m.text and errors.append(m.text))
    page.goto(demo_server.url + "/?lang=zh")
    page.evaluate(PARTS_JS)
    states = wait_js(page, """(expected) => {
        const got = {};
        for (const sel of Object.keys(expected)) {
          const media = document.querySelector(sel);
          const handle = media && window.avlabel.handleOf(media);
          if (!handle || handle.state !== expected[sel]) return false;
          got[sel] = handle.state;
        }
        return got; }""", EXPECTED, timeout=20_000)
    assert states == EXPECTED
    assert page.evaluate("window.__avl('#signed-video video').q('.badge').textContent") == "本内容由人工智能生成"
    assert page.evaluate("window.__avl('#blocked-video video').q('.cover').textContent").startswith("该内容已停止传播")
    assert page.evaluate("window.__avl('#unsigned-image img').q('.badge').hidden")
    assert not page.evaluate("window.__avl('#unsigned-image img').q('.report').hidden")
    # video.js: the labels are drawn inside the player, which is what video.js takes fullscreen.
    assert page.evaluate("document.querySelector('#vjs-demo avlabel-frame') !== null")
    page.evaluate("document.querySelector('#blocked-video video').play().catch(() => {})")
    page.wait_for_timeout(500)
    assert page.evaluate("document.querySelector('#blocked-video video').paused")
    shot(page, "demo-page", True)
    assert errors == []
    context.close()


def test_videojs_dispose_removes_the_labels(demo_server: Server, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(demo_server.url + "/")
    wait_js(page, "() => { const m = document.querySelector('#videojs video'); "
                  "const h = m && window.avlabel.handleOf(m); return h && h.state === 'signed_synthetic'; }")
    page.evaluate("videojs('vjs-demo').dispose()")
    assert page.evaluate("document.querySelectorAll('#videojs avlabel-frame').length") == 0
    assert page.evaluate("document.querySelectorAll('avlabel-frame').length") == 7
    context.close()
