"""Notices measured on the rendered page: timing, text size, contrast, fullscreen, hostile CSS, audio, small screens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import (
    PageHost,
    Signed,
    painted_share,
    part,
    wait_js,
    wait_state,
)
from tests.e2e.measure import assert_legible, text_metrics, video_tag, visible

pytestmark = pytest.mark.browser
Shot = Callable[[Page, str], Path]


def test_label_is_up_when_playback_starts_and_opening_notice_lasts_3s(pages: PageHost, signed: Signed,
                                                                     shot: Shot) -> None:
    page = pages.open(video_tag(signed.video))
    wait_state(page, "#v", "signed_synthetic")
    wait_js(page, "() => document.querySelector('#v').readyState >= 3")
    timings = page.evaluate(
        """() => new Promise((done) => {
          const {media, q} = window.__avl('#v');
          const notice = q('.notice'), badge = q('.badge');
          const vis = window.__vis;
          const t = {start: performance.now(), notice: null, badge: null, noticeEnd: null, atPlaying: null};
          // In stream terms, not wall-clock: both are painted when the first frame plays.
          media.addEventListener('playing', () => {
            t.atPlaying = {notice: vis(notice), badge: vis(badge), time: media.currentTime};
          }, {once: true});
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
    assert timings["atPlaying"] is not None and timings["atPlaying"]["notice"], timings
    assert timings["atPlaying"]["badge"], timings
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
    part(page, ".fullscreen").click()
    # The video itself goes fullscreen; the label comes back on top of it in the top layer.
    wait_js(page, "() => document.fullscreenElement === window.__avl('#v').media")
    box = wait_js(page, "() => { const r = window.__avl('#v').media.getBoundingClientRect(); "
                        "return r.width === innerWidth && r.height === innerHeight && [r.width, r.height]; }")
    assert box == [1400, 1000]
    # Chromium hit-tests nothing but a fullscreen <video>; what is painted on top is measured instead.
    page.wait_for_timeout(300)
    assert page.evaluate("window.__avl('#v').q('.badge').checkVisibility({opacityProperty: true})")
    assert_legible(text_metrics(page, "#v", ".badge"))
    assert painted_share(page, "#v", ".badge") > 0.3
    shot(page, "fullscreen")
    page.evaluate("document.exitFullscreen()")
    wait_js(page, "() => document.fullscreenElement === null")
    # The page asking the bare video to go fullscreen gets it with the label on top.
    page.mouse.click(2, 2)
    page.evaluate("window.__avl('#v').media.requestFullscreen()")
    wait_js(page, "() => document.fullscreenElement === window.__avl('#v').media")
    page.wait_for_timeout(300)
    assert painted_share(page, "#v", ".badge") > 0.3
    assert_legible(text_metrics(page, "#v", ".badge"))


HOSTILE_CSS = """
body > :not(video), body *::before, body *::after { display: none !important; visibility: hidden !important; }
avlabel-frame, avlabel-frame *, html > avlabel-frame { display: none !important; visibility: collapse !important;
  opacity: 0 !important; transform: scale(0) !important; clip-path: inset(50%) !important;
  font-size: 1px !important; zoom: 0.1 !important; position: static !important; width: 0 !important; }
"""


def test_label_survives_hostile_page_css(pages: PageHost, signed: Signed, shot: Shot) -> None:
    css = pages.add("/e2e/hostile.css", HOSTILE_CSS, "text/css")
    page = pages.open(f'<p id="own">page text</p>{video_tag(signed.video)}')
    wait_state(page, "#v", "signed_synthetic")
    page.evaluate("""(href) => new Promise((ok) => { const l = document.createElement('link');
        l.rel = 'stylesheet'; l.href = href; l.onload = ok; document.head.append(l); })""", css)
    # The page's own elements are gone ...
    assert page.evaluate("getComputedStyle(document.getElementById('own')).display") == "none"
    # ... but the overlay and its label are not.
    assert visible(page, "#v", ".badge")
    assert page.evaluate("window.__avl('#v').media.getBoundingClientRect().width") == 640
    page.evaluate("window.__avl('#v').media.play()")
    wait_js(page, "() => window.__vis(window.__avl('#v').q('.notice'))", timeout=2000)
    assert_legible(text_metrics(page, "#v", ".badge"))
    assert painted_share(page, "#v", ".badge") > 0.3
    shot(page, "hostile-css")
    # A page that hides the media itself shows nothing unlabelled; it cannot play it as bare sound either.
    page.evaluate("document.getElementById('v').style.setProperty('display', 'none', 'important')")
    wait_js(page, "() => window.__avl('#v').media.paused", timeout=2000)
    page.evaluate("window.__avl('#v').media.play().catch(() => {})")
    page.wait_for_timeout(600)
    assert page.evaluate("window.__avl('#v').media.paused")


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


def test_the_audio_prompt_is_the_gb45438_rhythm_the_service_uses(pages: PageHost) -> None:
    """The plugin's prompt, rendered by its own code into samples: short-long, short-short, as in the file."""
    from backend.signing.explicit_audio import PATTERN, TONE_HZ

    page = pages.open("<p>prompt</p>")
    runs = page.evaluate("""async () => {
        const rate = 48000, ctx = new OfflineAudioContext(1, rate * 2, rate);
        window.avlabel.schedulePrompt(ctx, 0);
        const x = (await ctx.startRendering()).getChannelData(0);
        const win = rate / 200, runs = [];  // 5 ms windows, on when their RMS is clearly above silence
        let on = false, start = 0, crossings = 0;
        for (let i = 0; i + win <= x.length; i += win) {
          let e = 0;
          for (let j = i; j < i + win; j++) e += x[j] * x[j];
          const now = Math.sqrt(e / win) > 0.05;
          if (now !== on) { if (on) runs.push([start / rate, (i - start) / rate]); on = now; start = i; }
        }
        for (let i = 1; i < rate * 0.12; i++) if (x[i - 1] < 0 && x[i] >= 0) crossings++;
        return {marks: runs, hz: crossings / 0.12};
    }""")
    expected, at = [], 0.0
    for sounding, seconds in PATTERN:
        if sounding:
            expected.append((at, seconds))
        at += seconds
    marks = runs["marks"]
    assert len(marks) == len(expected) == 4, marks
    for (start, length), (want_start, want_length) in zip(marks, expected, strict=True):
        assert abs(start - want_start) < 0.015 and abs(length - want_length) < 0.02, (marks, expected)
    lengths = [length for _, length in marks]
    assert lengths[1] > 2.5 * max(lengths[0], lengths[2], lengths[3])  # 短长 短短
    assert abs(runs["hz"] - TONE_HZ) < 0.03 * TONE_HZ, runs["hz"]


def test_small_screen_keeps_a_legible_label(pages: PageHost, signed: Signed, shot: Shot) -> None:
    css = pages.add("/e2e/responsive.css", "video{max-width:100%;height:auto}", "text/css")
    page = pages.open(f'<link rel="stylesheet" href="{css}">{video_tag(signed.video)}', viewport=(360, 640))
    wait_state(page, "#v", "signed_synthetic")
    m = text_metrics(page, "#v", ".badge")
    assert m["mediaW"] <= 360
    assert_legible(m)
    assert visible(page, "#v", ".badge") and visible(page, "#v", ".report")
    shot(page, "small-screen")


def test_language_follows_the_page_and_the_override(pages: PageHost, signed: Signed) -> None:
    img = (f'<img id="{{id}}" src="/media/{signed.image}.png" width="300" height="200" alt="" '
           f'data-avlabel="{signed.image}" {{extra}}>')
    page = pages.open(img.format(id="zh", extra="") + img.format(id="en", extra='data-avlabel-lang="en"'),
                      lang="zh-Hans")
    wait_state(page, "#zh", "signed_synthetic")
    wait_state(page, "#en", "signed_synthetic")
    assert page.evaluate("window.__avl('#zh').q('.badge').textContent") == "本内容由人工智能生成"
    assert page.evaluate("window.__avl('#zh').q('.report').textContent") == "举报"
    assert page.evaluate("window.__avl('#en').q('.badge').textContent") == "AI-generated content"
    assert page.evaluate("window.__avl('#en').q('.report').textContent") == "Report"
