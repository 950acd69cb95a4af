"""The plugin in real Chromium, measured on the rendered page: timing, size, contrast, fullscreen,
hostile CSS, keyboard-only reporting, manifest strings as text, blocked playback, DOM restoration."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from tests.conftest import Server
from tests.e2e.conftest import (
    HOSTILE,
    PageHost,
    Signed,
    painted_share,
    reports_api_available,
    set_label_state,
    sign_video,
    wait_js,
    wait_state,
)

pytestmark = pytest.mark.browser
Shot = Callable[[Page, str], Path]


def video_tag(content_id: str, width: int = 640, height: int = 360, extra: str = "") -> str:
    return (f'<video id="v" src="/media/{content_id}.mp4" width="{width}" height="{height}" muted controls '
            f'playsinline preload="auto" data-avlabel="{content_id}" {extra}></video>')


def visible(page: Page, sel: str, part: str) -> bool:
    return bool(page.evaluate("([s, p]) => window.__vis(window.__avl(s).q(p))", [sel, part]))


def text_metrics(page: Page, sel: str, part: str) -> dict[str, Any]:
    """Rendered text height (the glyph line box of the text node), font size, colours, and the media box."""
    result: dict[str, Any] = page.evaluate(
        """([s, p]) => {
          const {media, q} = window.__avl(s);
          const el = q(p);
          const range = document.createRange();
          range.selectNodeContents(el);
          const line = Array.from(range.getClientRects()).reduce((m, r) => Math.max(m, r.height), 0);
          const cs = getComputedStyle(el);
          const m = media.getBoundingClientRect();
          return {fontSize: parseFloat(cs.fontSize), lineHeight: line, color: cs.color,
                  background: cs.backgroundColor, mediaW: m.width, mediaH: m.height};
        }""",
        [sel, part],
    )
    return result


def luminance(css: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+(?:\.\d+)?", css)[:3])

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def assert_legible(m: dict[str, Any]) -> None:
    need = max(14.0, 0.05 * min(m["mediaW"], m["mediaH"]))
    assert m["fontSize"] >= need - 0.01, m
    assert m["lineHeight"] >= need - 0.01, m
    assert "rgba" not in m["background"] or m["background"].endswith(", 1)"), "label background must be opaque"
    assert contrast(m["color"], m["background"]) >= 4.5, m


def test_label_appears_within_500ms_and_opening_notice_lasts_3s(pages: PageHost, signed: Signed, shot: Shot) -> None:
    page = pages.open(video_tag(signed.video))
    wait_state(page, "#v", "signed_synthetic")
    wait_js(page, "() => document.querySelector('#v').readyState >= 3")
    timings = page.evaluate(
        """() => new Promise((done) => {
          const {media, q} = window.__avl('#v');
          const notice = q('.notice'), badge = q('.badge');
          const vis = window.__vis;
          const t = {start: performance.now(), notice: null, badge: null, noticeEnd: null};
          const tick = () => {
            const now = performance.now();
            if (t.notice === null && vis(notice)) t.notice = now - t.start;
            if (t.badge === null && vis(badge)) t.badge = now - t.start;
            if (t.notice !== null && t.noticeEnd === null && !vis(notice)) t.noticeEnd = now - t.start;
            if (t.noticeEnd !== null || now - t.start > 8000) { t.badgeAfter = vis(badge); done(t); }
            else requestAnimationFrame(tick);
          };
          media.play();
          requestAnimationFrame(tick);
        })""",
    )
    assert timings["notice"] is not None and timings["notice"] <= 500, timings
    assert timings["badge"] is not None and timings["badge"] <= 500, timings
    assert timings["noticeEnd"] is not None, timings
    assert timings["noticeEnd"] - timings["notice"] >= 3000, timings
    assert timings["badgeAfter"], "the badge stays for the whole playback"
    shot(page, "badge-after-notice")


def test_opening_notice_screenshot_and_size(pages: PageHost, signed: Signed, shot: Shot) -> None:
    page = pages.open(video_tag(signed.video, 1280, 720))
    wait_state(page, "#v", "signed_synthetic")
    page.evaluate("window.__avl('#v').media.play()")
    wait_js(page, "() => window.__vis(window.__avl('#v').q('.notice'))")
    assert_legible(text_metrics(page, "#v", ".notice"))
    assert painted_share(page, "#v", ".notice") > 0.3
    shot(page, "opening-notice")


@pytest.mark.parametrize("size", [(320, 180), (640, 360), (1280, 720)])
def test_text_height_and_contrast_scale_with_the_media_box(
    pages: PageHost, signed: Signed, size: tuple[int, int]
) -> None:
    page = pages.open(video_tag(signed.video, *size))
    wait_state(page, "#v", "signed_synthetic")
    m = text_metrics(page, "#v", ".badge")
    assert (m["mediaW"], m["mediaH"]) == size
    assert_legible(m)
    assert visible(page, "#v", ".badge")
    # Resizing the media recomputes the size (ResizeObserver).
    page.evaluate("window.__avl('#v').media.setAttribute('height', '900'); "
                  "window.__avl('#v').media.setAttribute('width', '1300')")
    wait_js(page, "() => parseFloat(getComputedStyle(window.__avl('#v').q('.badge')).fontSize) >= 45")
    assert_legible(text_metrics(page, "#v", ".badge"))


def test_image_badge_over_the_image(pages: PageHost, signed: Signed, shot: Shot) -> None:
    page = pages.open(f'<img id="i" src="/media/{signed.image}.png" width="800" height="500" alt="" '
                      'data-avlabel="auto">')
    wait_state(page, "#i", "signed_synthetic")
    assert visible(page, "#i", ".badge")
    inside = page.evaluate("""() => { const {media, q} = window.__avl('#i');
        const m = media.getBoundingClientRect(), b = q('.badge').getBoundingClientRect();
        return b.left >= m.left && b.right <= m.right && b.top >= m.top && b.bottom <= m.bottom; }""")
    assert inside
    assert_legible(text_metrics(page, "#i", ".badge"))
    shot(page, "image-badge")


def test_label_stays_visible_in_fullscreen(pages: PageHost, signed: Signed, shot: Shot) -> None:
    page = pages.open(video_tag(signed.video))
    wait_state(page, "#v", "signed_synthetic")
    page.locator("avlabel-frame .fullscreen").click()
    wait_js(page, "() => document.fullscreenElement === window.__avl('#v').host")
    box = wait_js(page, "() => { const r = window.__avl('#v').media.getBoundingClientRect(); "
                        "return r.width === innerWidth && r.height === innerHeight && [r.width, r.height]; }")
    assert box == [1400, 1000]
    assert visible(page, "#v", ".badge")
    assert_legible(text_metrics(page, "#v", ".badge"))
    assert painted_share(page, "#v", ".badge") > 0.3
    shot(page, "fullscreen")
    page.evaluate("document.exitFullscreen()")
    wait_js(page, "() => document.fullscreenElement === null")
    # The page asking the bare video to go fullscreen gets the wrapper instead.
    page.mouse.click(2, 2)
    page.evaluate("window.__avl('#v').media.requestFullscreen()")
    wait_js(page, "() => document.fullscreenElement === window.__avl('#v').host")
    assert visible(page, "#v", ".badge")


HOSTILE_CSS = """
body *, body *::before, body *::after { display: none !important; visibility: hidden !important;
  opacity: 0 !important; transform: scale(0) !important; clip-path: inset(50%) !important; }
avlabel-frame, [data-avlabel], video { display: none !important; visibility: collapse !important; }
"""


def test_label_survives_hostile_page_css(pages: PageHost, signed: Signed, shot: Shot) -> None:
    css = pages.add("/e2e/hostile.css", HOSTILE_CSS, "text/css")
    page = pages.open(f'<p id="own">page text</p>{video_tag(signed.video)}')
    wait_state(page, "#v", "signed_synthetic")
    page.evaluate("""(href) => new Promise((ok) => { const l = document.createElement('link');
        l.rel = 'stylesheet'; l.href = href; l.onload = ok; document.head.append(l); })""", css)
    # The page's own elements are gone ...
    assert page.evaluate("getComputedStyle(document.getElementById('own')).display") == "none"
    # ... but the wrapper, the media and the label are not.
    assert visible(page, "#v", ".badge")
    assert page.evaluate("window.__avl('#v').media.getBoundingClientRect().width") == 640
    page.evaluate("window.__avl('#v').media.play()")
    wait_js(page, "() => window.__vis(window.__avl('#v').q('.notice'))", timeout=2000)
    assert_legible(text_metrics(page, "#v", ".badge"))
    assert painted_share(page, "#v", ".badge") > 0.3
    shot(page, "hostile-css")


def test_manifest_markup_is_shown_as_text(pages: PageHost, signed: Signed, shot: Shot) -> None:
    page = pages.open(f'<img id="i" src="/media/{signed.hostile}.png" width="800" height="500" alt="" '
                      f'data-avlabel="{signed.hostile}">')
    wait_state(page, "#i", "signed_synthetic")
    page.locator("avlabel-frame .badge").click()
    panel = page.locator("avlabel-frame .panel")
    panel.wait_for()
    assert HOSTILE in panel.inner_text()
    assert page.evaluate("window.__avl('#i').q('.panel').querySelectorAll('img').length") == 0
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.title() == "avlabel e2e"
    shot(page, "details-hostile-manifest")


def test_details_panel_lists_provenance(pages: PageHost, signed: Signed, server: Server) -> None:
    page = pages.open(f'<div lang="zh-CN">{video_tag(signed.video)}</div>')
    wait_state(page, "#v", "signed_synthetic")
    assert page.evaluate("window.__avl('#v').q('.badge').textContent") == "本内容由人工智能生成"
    page.locator("avlabel-frame .badge").focus()
    page.keyboard.press("Enter")
    text = page.locator("avlabel-frame .panel").inner_text()
    for expected in ("签发者", "avlabel", "生成工具", "e2e-gen 1.0", "签名状态", "有效", "Test Studio"):
        assert expected in text
    href = page.evaluate("window.__avl('#v').q('.panel a').href")
    assert href == f"{server.url}/verify/{signed.video}"
    assert httpx.get(href).status_code == 200
    page.keyboard.press("Escape")
    assert page.evaluate("window.__avl('#v').q('.panel').hidden")


def deep_focus(page: Page) -> str:
    """The focused element, looking into shadow roots: tag, class and, for buttons, their text."""
    return str(page.evaluate("""() => { let a = document.activeElement;
        while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
        if (!a) return '';
        return a.tagName.toLowerCase() + (a.className ? '.' + a.className : '')
          + (a.tagName === 'BUTTON' ? '|' + a.textContent : ''); }"""))


def test_report_dialog_focus_trap_escape_and_focus_return(pages: PageHost, signed: Signed) -> None:
    page = pages.open(video_tag(signed.video))
    wait_state(page, "#v", "signed_synthetic")
    page.locator("avlabel-frame .report").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("avlabel-frame dialog")
    dialog.wait_for()
    assert dialog.get_attribute("aria-modal") == "true"
    title_id = dialog.get_attribute("aria-labelledby")
    assert page.evaluate(f"window.__avl('#v').q('#{title_id}').textContent") == "Report this content"
    seen = [deep_focus(page)]
    for _ in range(5):
        page.keyboard.press("Tab")
        seen.append(deep_focus(page))
    assert seen == ["select", "textarea", "input", "button|Cancel", "button|Send report", "select"], seen
    page.keyboard.press("Shift+Tab")
    assert deep_focus(page) == "button|Send report"
    page.keyboard.press("Escape")
    wait_js(page, "() => !window.__avl('#v').q('dialog').open")
    assert deep_focus(page) == "button.tool report|Report"


def test_report_by_keyboard_alone_reaches_the_backend(pages: PageHost, signed: Signed, server: Server,
                                                      shot: Shot) -> None:
    if not reports_api_available(server):
        pytest.skip("POST /v1/reports is not on this build yet (issue 4)")
    page = pages.open(video_tag(signed.video))
    wait_state(page, "#v", "signed_synthetic")
    page.evaluate("""() => new Promise((ok) => { const v = window.__avl('#v').media;
        v.currentTime = 2.5; v.addEventListener('seeked', ok, {once: true}); })""")
    for _ in range(25):  # keyboard only: Tab until the report button has focus
        page.keyboard.press("Tab")
        if deep_focus(page) == "button.tool report|Report":
            break
    assert deep_focus(page) == "button.tool report|Report"
    page.keyboard.press("Enter")
    page.locator("avlabel-frame dialog").wait_for()
    page.keyboard.press("ArrowDown")  # second category: deepfake impersonation
    page.keyboard.press("Tab")
    page.keyboard.type("Face swap of a real person <script>x</script>")
    page.keyboard.press("Tab")
    page.keyboard.type("viewer@example.com")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert deep_focus(page) == "button|Send report"
    page.keyboard.press("Enter")
    receipt = page.locator("avlabel-frame dialog [data-report-id]")
    receipt.wait_for(timeout=10_000)
    shot(page, "report-sent")
    report_id = receipt.inner_text()
    secret = page.evaluate("window.__avl('#v').q('dialog code').textContent")
    resp = httpx.get(f"{server.url}/v1/reports/{report_id}", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report.get("content_id") == signed.video
    assert report.get("category") == "deepfake_impersonation"
    assert abs(float(report.get("playback_time")) - 2.5) < 0.3
    assert page.evaluate("window.__avl('#v').q('dialog a').href").startswith(server.url + "/reports/")


def test_blocked_content_stops_playback_without_reload(pages: PageHost, server: Server, media_dir: Path,
                                                       shot: Shot) -> None:
    content_id = sign_video(server, media_dir, "e2e-block")
    page = pages.open(video_tag(content_id, extra="loop"))
    wait_state(page, "#v", "signed_synthetic")
    page.evaluate("window.__avl('#v').media.play()")
    wait_js(page, "() => window.__avl('#v').media.currentTime > 0.5")
    set_label_state(server, content_id, "blocked", {"reason": "e2e: removed"})
    wait_state(page, "#v", "blocked", timeout=15_000)  # the default 5 s poll picks it up
    wait_js(page, "() => window.__avl('#v').media.paused")
    assert visible(page, "#v", ".cover")
    assert "This content has been removed" in page.evaluate("window.__avl('#v').q('.cover').textContent")
    stopped_at = page.evaluate("window.__avl('#v').media.currentTime")
    page.evaluate("window.__avl('#v').media.play().catch(() => {})")
    page.wait_for_timeout(800)
    assert page.evaluate("window.__avl('#v').media.paused")
    assert abs(page.evaluate("window.__avl('#v').media.currentTime") - stopped_at) < 0.3
    assert visible(page, "#v", ".report"), "the report button stays usable"
    shot(page, "blocked")


def test_pending_label_video_never_starts(pages: PageHost, server: Server, media_dir: Path, shot: Shot) -> None:
    content_id = sign_video(server, media_dir, "e2e-pending")
    set_label_state(server, content_id, "pending_label", {})
    page = pages.open(f'<div lang="zh">{video_tag(content_id, extra="autoplay")}</div>')
    wait_state(page, "#v", "pending_label")
    page.wait_for_timeout(800)
    assert page.evaluate("window.__avl('#v').media.currentTime") < 0.1
    assert "该内容待标识，暂停传播" in page.evaluate("window.__avl('#v').q('.cover').textContent")
    shot(page, "pending-label")


def test_refuted_and_possibly_synthetic_states(pages: PageHost, server: Server, media_dir: Path,
                                               shot: Shot) -> None:
    refuted = sign_video(server, media_dir, "e2e-refuted")
    set_label_state(server, refuted, "refuted", {"refutation": {
        "zh": "经核实，该视频系伪造", "en": "Verified: this video is fabricated", "url": "https://example.org/fact"}})
    possibly = sign_video(server, media_dir, "e2e-possibly")
    set_label_state(server, possibly, "possibly_synthetic", {})
    page = pages.open(video_tag(refuted) + video_tag(possibly).replace('id="v"', 'id="p"'))
    wait_state(page, "#v", "refuted")
    wait_state(page, "#p", "possibly_synthetic")
    assert visible(page, "#v", ".refute")
    assert page.evaluate("window.__avl('#v').q('.refute a').href") == "https://example.org/fact"
    assert "fabricated" in page.evaluate("window.__avl('#v').q('.refute').textContent")
    assert page.evaluate("window.__avl('#p').q('.badge').textContent") == "Possibly AI-generated"
    styles = page.evaluate("""() => ['#v', '#p'].map((s) => {
        const cs = getComputedStyle(window.__avl(s).q('.badge'));
        return cs.backgroundColor + cs.borderStyle; })""")
    assert styles[0] != styles[1], "possibly-synthetic must look different from a signed label"
    assert_legible(text_metrics(page, "#p", ".badge"))
    shot(page, "refuted-and-possibly")


def test_audio_notice_beside_the_player(pages: PageHost, signed: Signed, shot: Shot) -> None:
    page = pages.open(f'<audio id="a" src="/media/{signed.audio}.wav" controls muted '
                      f'data-avlabel="{signed.audio}" data-avlabel-audio-prompt></audio>')
    wait_state(page, "#a", "signed_synthetic")
    below = page.evaluate("""() => { const {media, q} = window.__avl('#a');
        return q('.badge').getBoundingClientRect().top >= media.getBoundingClientRect().bottom - 1; }""")
    assert below
    assert visible(page, "#a", ".badge")
    page.evaluate("window.__avl('#a').media.play()")
    wait_js(page, "() => window.__vis(window.__avl('#a').q('.notice'))", timeout=1000)
    wait_js(page, "() => window.__avl('#a').media.currentTime > 0.2", timeout=5000)  # after the prompt
    assert_legible(text_metrics(page, "#a", ".badge"))
    shot(page, "audio")


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
    page = pages.open(f'<section id="s">{video_tag(signed.video)}</section>')
    wait_state(page, "#v", "signed_synthetic")
    page.evaluate("window.avlabel.disconnect()")
    after = page.evaluate("document.getElementById('s').innerHTML")
    original = page.evaluate("(m) => { const t = document.createElement('template'); t.innerHTML = m; "
                             "return t.innerHTML; }", video_tag(signed.video))
    assert after == original
    assert page.evaluate("document.querySelectorAll('avlabel-frame').length") == 0
    assert page.evaluate("Object.prototype.hasOwnProperty.call(document.getElementById('v'), 'requestFullscreen')") \
        is False


def test_small_screen_keeps_a_legible_label(pages: PageHost, signed: Signed, shot: Shot) -> None:
    css = pages.add("/e2e/responsive.css", "video{max-width:100%;height:auto}", "text/css")
    page = pages.open(f'<link rel="stylesheet" href="{css}">{video_tag(signed.video)}', viewport=(360, 640))
    wait_state(page, "#v", "signed_synthetic")
    m = text_metrics(page, "#v", ".badge")
    assert m["mediaW"] <= 360
    assert_legible(m)
    assert visible(page, "#v", ".badge") and visible(page, "#v", ".report")
    shot(page, "small-screen")


def test_polling_revalidates_and_picks_up_changes(pages: PageHost, server: Server, media_dir: Path) -> None:
    content_id = sign_video(server, media_dir, "e2e-poll")
    statuses: list[int] = []
    sent_etag: list[bool] = []

    def on_response(resp: Any) -> None:
        if f"/v1/labels/{content_id}" in resp.url:
            statuses.append(resp.status)
            sent_etag.append("if-none-match" in resp.request.all_headers())

    pages.context.on("response", on_response)
    page = pages.open(video_tag(content_id, extra='data-avlabel-refresh="1"'))
    wait_state(page, "#v", "signed_synthetic")
    page.wait_for_timeout(3500)
    assert len(statuses) >= 3, statuses
    assert any(sent_etag[1:]), "later polls are conditional (If-None-Match)"
    assert 304 in statuses[1:], statuses
    set_label_state(server, content_id, "refuted", {"refutation": {"zh": "已辟谣", "en": "Refuted", "url": None}})
    wait_state(page, "#v", "refuted", timeout=5000)


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
    page.locator("avlabel-frame .badge").click()
    assert page.evaluate("window.__avl('#i').q('.panel a').href") == f"{api}/verify/{signed.image}"


def test_picture_element_stays_intact(pages: PageHost, signed: Signed) -> None:
    page = pages.open(f'<picture id="pic"><source srcset="/media/{signed.image}.png" type="image/png">'
                      f'<img id="i" src="/media/{signed.image}.png" width="400" height="250" alt="" '
                      f'data-avlabel="{signed.image}"></picture>')
    wait_state(page, "#i", "signed_synthetic")
    assert page.evaluate("document.getElementById('i').parentElement.id") == "pic"
    assert page.evaluate("document.getElementById('pic').parentElement.tagName") == "AVLABEL-FRAME"
    assert visible(page, "#i", ".badge")
    page.evaluate("window.avlabel.disconnect()")
    assert page.evaluate("document.getElementById('pic').parentElement.tagName") == "BODY"
