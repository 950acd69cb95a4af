"""URL variants resolve (issue 12, item 6): the 2× file of a `srcset`, `?v=2` plus tracking parameters,
and a video's `currentSrc` from a <source> child, on media hosted at a registered origin (loopback)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import Server
from tests.e2e import streams
from tests.e2e.conftest import PARTS_JS, PageHost, Signed, wait_js, wait_state
from tests.e2e.measure import visible

pytestmark = pytest.mark.browser
Shot = Callable[[Page, str], Path]


def test_srcset_2x_versioned_and_current_src_find_the_label(browser: Browser, server: Server, signed: Signed,
                                                            stream_host: streams.StreamHost, shot: Shot) -> None:
    folder = stream_host.root / "site"
    folder.mkdir(exist_ok=True)
    streams.download_signed(server, signed.video, folder / "clip.mp4")
    with server.client() as http:
        png = http.get(f"/media/{signed.image}.png")
        assert png.status_code == 200
    (folder / "pic.png").write_bytes(png.content)
    shutil.copy(folder / "pic.png", folder / "pic@2x.png")
    shutil.copy(folder / "pic.png", folder / "unlisted.png")
    # Only the 1× image and the query-less video URL are registered.
    pic, clip = stream_host.url(folder / "pic.png"), stream_host.url(folder / "clip.mp4")
    streams.register_urls(server, signed.image, pic)
    streams.register_urls(server, signed.video, clip)
    two_x = stream_host.url(folder / "pic@2x.png")

    context = browser.new_context(device_scale_factor=2)
    host = PageHost(context, server.url)
    try:
        csp = stream_host.csp().replace("img-src 'self'", f"img-src 'self' {stream_host.origin}")
        body = (f'<img id="x2" srcset="{pic} 1x, {two_x} 2x" src="{pic}" width="400" height="250" '
                f'data-avlabel="auto" alt="">'
                f'<img id="ver" src="{pic}?v=2&utm_source=feed&fbclid=abc" width="400" height="250" '
                f'data-avlabel="auto" alt="">'
                f'<video id="cs" width="480" height="270" muted preload="auto" data-avlabel="auto">'
                f'<source src="{clip}?v=3&spm=1.2" type="video/mp4"></video>'
                f'<img id="none" src="{stream_host.url(folder / "unlisted.png")}" width="200" height="125" '
                f'data-avlabel="auto" alt="">')
        page = host.open(body, csp=csp)
        page.evaluate(PARTS_JS)
        assert page.evaluate("document.getElementById('x2').currentSrc") == two_x
        wait_js(page, "() => document.getElementById('cs').currentSrc !== ''")
        for sel in ("#x2", "#ver"):
            wait_state(page, sel, "signed_synthetic")
            assert page.evaluate(f"window.__avl('{sel}').handle.label.content_id") == signed.image
            assert visible(page, sel, ".badge")
        wait_state(page, "#cs", "signed_synthetic")
        assert page.evaluate("window.__avl('#cs').handle.label.content_id") == signed.video
        page.wait_for_timeout(300)
        assert page.evaluate("window.__avl('#none').handle.state") == "unknown"  # same bytes, other URL
        shot(page, "url-variants")
        assert host.errors == [], host.errors
    finally:
        context.close()
