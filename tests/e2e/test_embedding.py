"""Embedding: media added later, unlabelled media, dispose, the ES module, cross-origin pages, <picture>."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.conftest import Server
from tests.e2e.conftest import (
    PARTS_JS,
    PageHost,
    Signed,
    part,
    wait_js,
    wait_state,
)
from tests.e2e.measure import video_tag, visible

pytestmark = pytest.mark.browser
Shot = Callable[[Page, str], Path]


def test_unlabelled_media_gets_report_button_and_late_elements_attach(pages: PageHost, signed: Signed) -> None:
    page = pages.open('<p>nothing yet</p>')
    page.evaluate("""(id) => { const img = document.createElement('img');
        img.id = 'late'; img.width = 400; img.height = 250; img.dataset.avlabel = 'auto';
        img.src = '/media/' + id + '.png'; document.body.append(img);
        const u = document.createElement('img'); u.id = 'u'; u.width = 300; u.height = 200;
        u.dataset.avlabel = 'auto'; u.src = '/healthz?unknown.png'; document.body.append(u); }""", signed.image)
    wait_js(page, "() => document.querySelectorAll('avlabel-frame').length === 2")
    wait_state(page, "#late", "signed_synthetic")
    wait_state(page, "#u", "unknown")
    assert page.evaluate("window.__avl('#u').q('.badge').hidden")
    assert visible(page, "#u", ".report")


def test_dispose_restores_the_original_dom(pages: PageHost, signed: Signed) -> None:
    # dispose() belongs to the code that called attach(): here the page's own script.
    tag = video_tag(signed.video).replace(f' data-avlabel="{signed.video}"', "")
    page = pages.open(f'<section id="s">{tag}</section>')
    page.evaluate(f"window.__h = window.avlabel.attach(document.getElementById('v'), {{contentId: '{signed.video}'}})")
    page.evaluate(PARTS_JS)
    wait_state(page, "#v", "signed_synthetic")
    assert page.evaluate("document.querySelectorAll('avlabel-frame').length") == 1
    page.evaluate("window.__h.dispose()")
    after = page.evaluate("document.getElementById('s').innerHTML")
    original = page.evaluate("(m) => { const t = document.createElement('template'); t.innerHTML = m; "
                             "return t.innerHTML; }", tag)
    assert after == original
    assert page.evaluate("document.querySelectorAll('avlabel-frame').length") == 0
    assert page.evaluate("Object.prototype.hasOwnProperty.call(document.getElementById('v'), 'requestFullscreen')") \
        is False


def test_es_module_build_works_too(pages: PageHost, signed: Signed) -> None:
    entry = pages.add("/e2e/entry.mjs", "import * as avlabel from '/plugin/avlabel-player.mjs';\n"
                      "window.avlabel = avlabel; avlabel.observe();\n", "text/javascript")
    page = pages.open(video_tag(signed.video), head=f'<script type="module" src="{entry}"></script>')
    wait_state(page, "#v", "signed_synthetic")
    assert visible(page, "#v", ".badge")
    assert page.evaluate("window.avlabel.version") == "0.1.0"


def test_cross_origin_page_uses_the_script_origin_as_api(pages: PageHost, signed: Signed, server: Server) -> None:
    api = server.url
    csp = (f"default-src 'self'; script-src 'self' {api}; style-src 'self'; img-src 'self' {api}; "
           f"media-src 'self' {api}; connect-src 'self' {api}; object-src 'none'")
    body = (f'<img id="i" src="{api}/media/{signed.image}.png" width="600" height="375" alt="" '
            'data-avlabel="auto">')
    page = pages.open(body, origin=pages.other_origin, head=f'<script src="{api}/plugin/avlabel-player.js"></script>',
                      csp=csp)
    assert page.evaluate("location.origin") == pages.other_origin
    wait_state(page, "#i", "signed_synthetic")
    assert page.evaluate("window.__avl('#i').q('.panel') !== null")
    part(page, ".badge").click()
    assert page.evaluate("window.__avl('#i').q('.panel a').href") == f"{api}/verify/{signed.image}"


def test_picture_element_stays_intact(pages: PageHost, signed: Signed) -> None:
    page = pages.open(f'<picture id="pic"><source srcset="/media/{signed.image}.png" type="image/png">'
                      f'<img id="i" src="/media/{signed.image}.png" width="400" height="250" alt="" '
                      f'data-avlabel="{signed.image}"></picture>')
    wait_state(page, "#i", "signed_synthetic")
    assert page.evaluate("document.getElementById('i').parentElement.id") == "pic"
    # Overlay mode: the <picture> is not moved into a wrapper.
    assert page.evaluate("document.getElementById('pic').parentElement.tagName") == "BODY"
    assert visible(page, "#i", ".badge")
    page.evaluate("window.avlabel.disconnect()")
    assert page.evaluate("document.getElementById('pic').parentElement.tagName") == "BODY"


def test_changing_or_removing_data_avlabel_follows_the_page(pages: PageHost, signed: Signed) -> None:
    page = pages.open(f'<img id="i" src="/media/{signed.image}.png" width="400" height="250" alt="" '
                      f'data-avlabel="{signed.image}">')
    wait_state(page, "#i", "signed_synthetic")
    page.evaluate("document.getElementById('i').dataset.avlabel = 'no-such-content'")
    wait_state(page, "#i", "unknown")
    assert page.evaluate("window.__avl('#i').q('.badge').hidden")
    page.evaluate("document.getElementById('i').removeAttribute('data-avlabel')")
    wait_js(page, "() => document.querySelectorAll('avlabel-frame').length === 0")
    assert page.evaluate("window.avlabel.handleOf(document.getElementById('i'))") is None
    # The page removing an attached element disposes its attachment (no polling left behind).
    page.evaluate(f"document.getElementById('i').dataset.avlabel = '{signed.image}'")
    wait_state(page, "#i", "signed_synthetic")
    page.evaluate("window.__i = document.getElementById('i'); window.__i.remove()")
    wait_js(page, "() => window.avlabel.handleOf(window.__i) === undefined")
    wait_js(page, "() => document.querySelectorAll('avlabel-frame').length === 0")
