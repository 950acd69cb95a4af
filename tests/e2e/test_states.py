"""Moderation states reaching open pages: blocked and pending content does not play, refuted and
possibly-synthetic labels, polling."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.conftest import Server
from tests.e2e.conftest import (
    PageHost,
    moderate,
    set_label_state,
    sign_video,
    unique_video,
    wait_js,
    wait_state,
)
from tests.e2e.measure import assert_legible, text_metrics, video_tag, visible

pytestmark = pytest.mark.browser
Shot = Callable[[Page, str], Path]


def test_blocked_content_stops_playback_without_reload(pages: PageHost, server: Server, media_dir: Path,
                                                       shot: Shot) -> None:
    content_id = unique_video(server, media_dir, "e2e-block")
    page = pages.open(video_tag(content_id, extra="loop"))
    wait_state(page, "#v", "signed_synthetic")
    page.evaluate("window.__avl('#v').media.play()")
    wait_js(page, "() => window.__avl('#v').media.currentTime > 0.5")
    moderate(server, content_id, "block", reasons="e2e: removed")
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
    content_id = unique_video(server, media_dir, "e2e-pending")
    moderate(server, content_id, "stop_until_labelled")
    page = pages.open(f'<div lang="zh">{video_tag(content_id, extra="autoplay")}</div>')
    wait_state(page, "#v", "pending_label")
    page.wait_for_timeout(800)
    assert page.evaluate("window.__avl('#v').media.currentTime") < 0.1
    assert "该内容待标识，暂停传播" in page.evaluate("window.__avl('#v').q('.cover').textContent")
    shot(page, "pending-label")


def test_refuted_and_possibly_synthetic_states(pages: PageHost, server: Server, media_dir: Path,
                                               shot: Shot) -> None:
    refuted = unique_video(server, media_dir, "e2e-refuted")
    moderate(server, refuted, "refute", refutation={
        "zh": "经核实，该视频系伪造", "en": "Verified: this video is fabricated", "url": "https://example.org/fact"})
    possibly = sign_video(server, media_dir, "e2e-possibly")
    set_label_state(server, possibly, "possibly_synthetic", {})
    page = pages.open(video_tag(refuted) + video_tag(possibly).replace('id="v"', 'id="p"'))
    wait_state(page, "#v", "refuted")
    wait_state(page, "#p", "possibly_synthetic")
    assert visible(page, "#v", ".refute")
    assert page.evaluate("window.__avl('#v').q('.refute a').href") == "https://example.org/fact"
    assert "fabricated" in page.evaluate("window.__avl('#v').q('.refute').textContent")
    assert page.evaluate("window.__avl('#p').q('.badge').textContent") == "Suspected AI-generated — treat with care"
    styles = page.evaluate("""() => ['#v', '#p'].map((s) => {
        const cs = getComputedStyle(window.__avl(s).q('.badge'));
        return cs.backgroundColor + cs.borderStyle; })""")
    assert styles[0] != styles[1], "possibly-synthetic must look different from a signed label"
    assert_legible(text_metrics(page, "#p", ".badge"))
    shot(page, "refuted-and-possibly")


def test_polling_revalidates_and_picks_up_changes(pages: PageHost, server: Server, media_dir: Path) -> None:
    content_id = unique_video(server, media_dir, "e2e-poll")
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
    moderate(server, content_id, "refute", refutation={"zh": "已辟谣", "en": "Refuted", "url": "https://example.org/r"})
    wait_state(page, "#v", "refuted", timeout=5000)
