"""Issue 15 in real Chromium: a live HLS stream (ffmpeg, loopback) played with hls.js and the plugin's
hls.js adapter shows the publisher's declaration, follows a change of it within one label refresh, and
is stopped in the player when the monitor finds a prohibited clip mid-stream."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page

from tests.conftest import Server, require_shared
from tests.e2e.conftest import PageHost, part, wait_js, wait_part, wait_state  # noqa: F401

# The stream fixtures are imported here (one Chromium per run lives in tests/e2e/conftest.py).
from tests.streams.conftest import (  # noqa: F401
    Monitor,
    live_server,
    monitors,
    prohibit,
    register,
    stream_publisher,
    stream_view,
    wait_for,
)
from tests.streams.live_hls import LiveServer, LiveStream
from tests.streams.test_monitor import clips, cut  # noqa: F401

REFRESH_SECONDS = 5
# How long to wait for the monitor's block after the prohibited clip goes live: a hang guard, not a speed
# claim. The stated time is asserted in stream terms (the block lands on the clip's first or second segment,
# the player stops within one label refresh), counted, not timed: the test machine is shared.
BLOCK_WAIT_SECONDS = 90

PAGE_JS = """
performance.setResourceTimingBufferSize(100000);
window.__events = [];
document.addEventListener('avlabel:statechange', (e) => window.__events.push(
  {state: e.detail.state, t: performance.now()}), true);
const video = document.getElementById('v');
const hls = new Hls({enableWorker: false, liveSyncDurationCount: 2});
window.__adapter = avlabelAdapters.hls(hls, {refreshSeconds: %(refresh)s});
hls.attachMedia(video);
hls.loadSource(%(url)r);
"""


def open_live(host: PageHost, live_origin: str, url: str) -> Page:
    js = host.add(f"/e2e/live-{secrets.token_hex(3)}.js", PAGE_JS % {"url": url, "refresh": REFRESH_SECONDS},
                   "text/javascript")
    csp = (f"default-src 'self'; script-src 'self' {live_origin}; style-src 'self'; img-src 'self' data:; "
           f"media-src 'self' blob: {live_origin}; connect-src 'self' {live_origin}; object-src 'none'; "
           "base-uri 'none'")
    head = (f'<script src="{live_origin}/vendor/hls.min.js"></script><script src="/plugin/avlabel-player.js">'
            '</script><script src="/plugin/adapters/avlabel-hls.js"></script>')
    body = (f'<video id="v" width="640" height="360" muted autoplay playsinline controls data-avlabel="auto">'
            f'</video><script src="{js}"></script>')
    return host.open(body, head=head, csp=csp)


def label_requests_between(page: Page, since: float, until: float) -> int:
    return int(page.evaluate("""([a, b]) => performance.getEntriesByType('resource').filter(
        (e) => e.name.includes('/v1/labels') && e.startTime > a && e.startTime < b).length""", [since, until]))


def test_a_live_stream_is_stopped_in_the_player_when_a_prohibited_clip_starts(
        server: Server, live_server: LiveServer, stream_publisher: dict[str, str], clips: dict[str, Path],  # noqa: F811
        monitors: Callable[..., Monitor], pages: PageHost, shot: Callable[..., Path], tmp_path: Path) -> None:  # noqa: F811
    prohibit(server, clips["prohibited"], f"p_player_{secrets.token_hex(3)}")
    folder, durations = cut(tmp_path, clips["long"], clips["prohibited"], clips["prohibited"])
    switch = 12  # the 24 s programme is 12 segments; the prohibited clip starts with segment 12
    live = LiveStream(folder, durations, end=False)
    url = live_server.add(f"p{secrets.token_hex(3)}", live)
    content_id = register(server, stream_publisher, url, "ai_presenter")
    m = monitors("a")

    page = open_live(pages, live_server.origin, url)
    wait_state(page, "video", "signed_synthetic", timeout=30_000)
    assert page.evaluate("window.__avl('video').handle.label.content_id") == content_id
    wait_js(page, "() => { const v = document.querySelector('video'); return !v.paused && v.currentTime > 1; }",
            timeout=30_000)
    badge = wait_part(page, ".badge", "video")
    assert "AI presenter" in (badge.text_content() or "")
    shot(page, "live-ai-presenter")

    # The publisher changes the declaration while live: the player follows at its next refresh.
    since = page.evaluate("performance.now()")
    with server.client() as http:
        assert http.patch(f"/v1/streams/{content_id}", json={"declaration": "synthetic_voice"},
                          headers=stream_publisher).status_code == 200
    wait_js(page, "() => (window.__avl('video').handle.label.display || {}).en === 'Synthetic voice'",
            timeout=(REFRESH_SECONDS + 5) * 1000)
    changed_at = page.evaluate("performance.now()")
    assert label_requests_between(page, since, changed_at) <= 2  # one refresh (and its cache revalidation)

    # The switch: the monitor blocks the stream; the player stops at its next label refresh.
    switch_live_at = live.started + switch * live.segment_seconds
    wait_for(lambda: httpx.get(f"{server.url}/v1/labels/{content_id}").json()["state"] == "blocked",
             max(5.0, switch_live_at - time.monotonic()) + BLOCK_WAIT_SECONDS, "the monitor to block the stream", [m])
    blocked_on_server = page.evaluate("performance.now()")
    # The stated time, in stream terms: the block's evidence is the prohibited clip's first or second segment
    # (one sampling interval), and the player stops within one label refresh of it (counted below).
    match = [n for n in stream_view(server, stream_publisher, content_id)["notes"] if n["kind"] == "prohibited_match"]
    assert len(match) == 1, match
    sequence = int(match[0]["segment_url"].rsplit("seg-", 1)[1].split(".")[0])
    assert sequence in (switch, switch + 1), match[0]
    wait_state(page, "video", "blocked", timeout=(REFRESH_SECONDS + 5) * 1000)
    blocked_at = page.evaluate("window.__events.find((e) => e.state === 'blocked').t")
    assert label_requests_between(page, blocked_on_server, blocked_at) <= 1, "blocked within one refresh"
    assert page.evaluate("document.querySelector('video').paused")
    wait_part(page, ".cover", "video")
    frozen = page.evaluate("document.querySelector('video').currentTime")
    page.evaluate("document.querySelector('video').play().catch(() => undefined)")
    page.wait_for_timeout(1500)
    assert page.evaluate("document.querySelector('video').paused")
    assert page.evaluate("document.querySelector('video').currentTime") - frozen < 0.5
    shot(page, "live-blocked")


def test_the_player_shows_the_verification_of_a_c2pa_signed_fragmented_stream(
        server: Server, live_server: LiveServer, stream_publisher: dict[str, str],  # noqa: F811
        monitors: Callable[..., Monitor], pages: PageHost, shot: Callable[..., Path], tmp_path: Path) -> None:  # noqa: F811
    fixtures = require_shared()
    folder = tmp_path / "signed-fmp4"
    folder.mkdir()
    (folder / "init.mp4").write_bytes((fixtures / "dashinit.mp4").read_bytes())  # c2pa's per-fragment-signed
    (folder / "seg-0.m4s").write_bytes((fixtures / "dash1.m4s").read_bytes())
    url = live_server.add(f"v{secrets.token_hex(3)}", LiveStream(folder, [2.0], fmp4=True))
    content_id = register(server, stream_publisher, url, "ai_presenter")
    m = monitors("a")
    wait_for(lambda: (httpx.get(f"{server.url}/v1/labels/{content_id}").json()["stream"] or {}).get("c2pa"), 60,
             "the fragment's verification", [m])

    page = pages.open(f'<video id="v" width="640" height="360" muted data-avlabel="{content_id}"></video>')
    wait_state(page, "#v", "signed_synthetic", timeout=20_000)
    part(page, ".badge").click()
    text = wait_part(page, ".panel").inner_text()
    assert "Stream segment credentials" in text and "valid, issuer not trusted" in text
    assert "Media Publisher Company" in text
    shot(page, "fmp4-credentials")
