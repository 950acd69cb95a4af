"""Fail closed: media waits for its label document, the opening notice comes however late the answer,
and with the label API down the viewer sees "Label information unavailable" while the plugin retries.
The label API is slowed or cut with Playwright's network interception (the real server answers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route

from tests.conftest import Server
from tests.e2e.conftest import PageHost, sign_video, wait_js, wait_state
from tests.e2e.measure import video_tag, visible

pytestmark = pytest.mark.browser
Shot = Callable[[Page, str], Path]


def test_slow_api_holds_playback_then_shows_the_opening_notice(pages: PageHost, server: Server, media_dir: Path,
                                                                shot: Shot) -> None:
    content_id = sign_video(server, media_dir, "e2e-slow")
    held: list[Route] = []
    pages.context.route(f"**/v1/labels/{content_id}", lambda r: held.append(r) if not held else r.continue_())
    page = pages.open(video_tag(content_id, extra='autoplay loop data-avlabel-hold="15"'))
    page.wait_for_timeout(4000)  # the label API takes 4 s
    assert len(held) == 1
    before = page.evaluate("document.getElementById('v').currentTime")
    page.wait_for_timeout(500)
    assert page.evaluate("document.getElementById('v').paused"), "no playback before the answer"
    assert page.evaluate("document.getElementById('v').currentTime") == before < 0.5
    held[0].continue_()
    wait_state(page, "#v", "signed_synthetic")
    wait_js(page, "() => !document.getElementById('v').paused && document.getElementById('v').currentTime > 0.2")
    assert visible(page, "#v", ".notice"), "the opening notice appears when the held playback starts"
    assert visible(page, "#v", ".badge")
    shot(page, "slow-api-notice")


def test_answer_later_than_the_hold_still_brings_the_notice(pages: PageHost, server: Server, media_dir: Path,
                                                            shot: Shot) -> None:
    content_id = sign_video(server, media_dir, "e2e-late")
    held: list[Route] = []
    pages.context.route(f"**/v1/labels/{content_id}", lambda r: held.append(r) if not held else r.continue_())
    page = pages.open(video_tag(content_id, extra='autoplay loop data-avlabel-hold="1"'))
    # After the 1 s hold the video plays, saying the label is not known yet.
    wait_js(page, "() => document.getElementById('v').currentTime > 0.3", timeout=6000)
    assert page.evaluate("window.__avl('#v').q('.badge').textContent") == "Label information unavailable"
    assert visible(page, "#v", ".badge") and visible(page, "#v", ".report")
    shot(page, "late-unavailable")
    held[0].continue_()
    wait_state(page, "#v", "signed_synthetic")
    wait_js(page, "() => window.__vis(window.__avl('#v').q('.notice'))", timeout=2000)
    assert page.evaluate("window.__avl('#v').q('.notice').textContent") == "AI-generated content"
    shot(page, "late-notice")


def test_api_down_shows_unavailable_retries_and_recovers(pages: PageHost, server: Server, media_dir: Path,
                                                         shot: Shot) -> None:
    content_id = sign_video(server, media_dir, "e2e-down")
    tries: list[str] = []

    def down(route: Route) -> None:
        tries.append(route.request.url)
        route.fulfill(status=503, body='{"error":{"code":"unavailable","message":"down"}}',
                      content_type="application/json")

    pattern = f"**/v1/labels/{content_id}"
    pages.context.route(pattern, down)
    page = pages.open(f'<div lang="zh-CN">{video_tag(content_id, extra="autoplay loop data-avlabel-hold=2")}</div>')
    wait_js(page, "() => window.__avl('#v').q('.badge') && !window.__avl('#v').q('.badge').hidden")
    assert page.evaluate("window.__avl('#v').q('.badge').textContent") == "标识信息暂不可用"
    assert page.evaluate("window.__avl('#v').handle.state") == "unavailable"
    assert page.evaluate("document.getElementById('v').currentTime") < 0.1, "held while the API is down"
    assert visible(page, "#v", ".report")
    wait_js(page, "() => document.getElementById('v').currentTime > 0.3", timeout=6000)
    assert visible(page, "#v", ".badge"), "plays after the hold only with the unavailable label shown"
    shot(page, "api-down")
    wait_js(page, "(n) => true", len(tries))
    assert len(tries) >= 2, "the plugin retries"
    pages.context.unroute(pattern)
    wait_state(page, "#v", "signed_synthetic", timeout=15_000)
    assert page.evaluate("window.__avl('#v').q('.badge').textContent") == "本内容由人工智能生成"
