"""Streaming adapters in real Chromium (issue 12, item 5): hls.js, dash.js, Shaka Player, video.js (VHS)
and native HLS, each on one page with streams ffmpeg made from a signed MP4 and a loopback server serves.

Each page: an on-demand stream shows its label and the Report button (looked up by the manifest URL,
not the player's blob: src); a switch to a live stream follows the source; a moderator's block of the
live stream stops playback within one label refresh (counted in label requests, not in seconds).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.conftest import Server
from tests.e2e import streams
from tests.e2e.conftest import PageHost, moderate, part, sign_file, wait_js, wait_part, wait_state
from tests.e2e.measure import visible

pytestmark = pytest.mark.browser
Shot = Callable[[Page, str], Path]
REFRESH_SECONDS = 2
_SEEDS = iter(range(2, 100))


@dataclass
class Stream:
    content_id: str
    url: str


@dataclass
class Vod:
    content_id: str
    hls: str
    dash: str


def signed_clip(server: Server, host: streams.StreamHost, name: str, seconds: float) -> tuple[str, Path]:
    seed = next(_SEEDS)
    clip = streams.source_clip(host.root / f"{name}-src.mp4", seconds, seed)
    content_id = sign_file(server, clip, f"stream-{name}-{secrets.token_hex(3)}", generator="stream-gen 1.0")
    return content_id, streams.keyframed(streams.download_signed(server, content_id, host.root / f"{name}-signed.mp4"))


@pytest.fixture(scope="session")
def vod(server: Server, stream_host: streams.StreamHost) -> Vod:
    """One on-demand stream (never moderated), as HLS and as DASH, registered under both manifest URLs."""
    content_id, signed = signed_clip(server, stream_host, "vod", 6.0)
    hls = stream_host.url(streams.hls_vod(signed, stream_host.root / "vod-hls"))
    dash = stream_host.url(streams.dash_vod(signed, stream_host.root / "vod-dash"))
    streams.register_urls(server, content_id, hls, dash)
    return Vod(content_id, hls, dash)


@pytest.fixture
def live_stream(server: Server, stream_host: streams.StreamHost) -> Iterator[Callable[[str], Stream]]:
    """Starts a live stream of fresh content (its own bytes, so its block reaches nothing else)."""
    with ExitStack() as stack:
        def start(kind: str) -> Stream:
            name = f"live-{kind}-{secrets.token_hex(2)}"
            content_id, signed = signed_clip(server, stream_host, name, 4.0)
            target = stack.enter_context(streams.live(signed, stream_host.root / name, kind))
            url = stream_host.url(target)
            streams.register_urls(server, content_id, url)
            return Stream(content_id, url)

        yield start


# Shared by every adapter page: state events with in-page timestamps, a big resource-timing buffer.
PAGE_JS = """
performance.setResourceTimingBufferSize(100000);
window.__events = [];
document.addEventListener('avlabel:statechange', (e) => window.__events.push(
  {state: e.detail.state, id: e.detail.label && e.detail.label.content_id, t: performance.now()}), true);
"""

PLAYERS = {
    "hls.js": ("hls.min.js", "hls", """
const video = document.getElementById('v');
const hls = new Hls({enableWorker: false, liveSyncDurationCount: 2});
window.__adapter = avlabelAdapters.hls(hls, {refreshSeconds: %(refresh)s});
hls.attachMedia(video);
hls.loadSource(%(first)r);
window.__switch = (url) => hls.loadSource(url);
window.__player = hls;
"""),
    "dash.js": ("dash.all.min.js", "dash", """
const video = document.getElementById('v');
const player = dashjs.MediaPlayer().create();
player.updateSettings({debug: {logLevel: 0}, streaming: {utcSynchronization: {enabled: false}}});
player.initialize(video, %(first)r, true);
window.__adapter = avlabelAdapters.dash(player, {refreshSeconds: %(refresh)s});
window.__switch = (url) => player.attachSource(url);
window.__player = player;
"""),
    "shaka": ("shaka-player.compiled.js", "shaka", """
shaka.polyfill.installAll();
const video = document.getElementById('v');
const player = new shaka.Player();
window.__adapter = avlabelAdapters.shaka(player, {refreshSeconds: %(refresh)s});
window.__player = player;
window.__switch = (url) => player.load(url).catch((e) => window.__shakaError = String(e && e.code));
player.attach(video).then(() => player.load(%(first)r)).catch((e) => window.__shakaError = String(e && e.code));
"""),
    "video.js": ("video.min.js", "videojs", """
const player = videojs('v', {muted: true, autoplay: 'muted', width: 640, height: 360,
  html5: {vhs: {overrideNative: true}, nativeAudioTracks: false, nativeVideoTracks: false}});
window.__adapter = avlabelAdapters.videojs(player, {refreshSeconds: %(refresh)s});
player.src({src: %(first)r, type: 'application/x-mpegURL'});
window.__switch = (url) => player.src({src: url, type: 'application/x-mpegURL'});
window.__player = player;
"""),
    "native": ("", "native", """
const video = document.getElementById('v');
window.__adapter = avlabelAdapters.native(video, {refreshSeconds: %(refresh)s});
video.src = %(first)r;
window.__switch = (url) => { video.src = url; video.play().catch(() => undefined); };
"""),
}


def open_player(pages: PageHost, host: streams.StreamHost, player: str, first: str) -> Page:
    lib, adapter, script = PLAYERS[player]
    js = pages.add(f"/e2e/{adapter}-{secrets.token_hex(3)}.js",
                   PAGE_JS + script % {"first": first, "refresh": REFRESH_SECONDS}, "text/javascript")
    tag = "video-js" if player == "video.js" else "video"
    head = (f'<link rel="stylesheet" href="{host.origin}/vendor/video-js.min.css">' if player == "video.js" else "")
    head += (f'<script src="{host.origin}/vendor/{lib}"></script>' if lib else "")
    head += (f'<script src="/plugin/avlabel-player.js"></script>'
             f'<script src="/plugin/adapters/avlabel-{adapter}.js"></script>')
    body = (f'<{tag} id="v" width="640" height="360" muted autoplay playsinline controls '
            f'data-avlabel="auto"></{tag}><script src="{js}"></script>')
    return pages.open(body, head=head, csp=host.csp())


def playing(page: Page) -> None:
    """The media plays: its time advances."""
    start = page.evaluate("document.querySelector('video').currentTime")
    try:
        wait_js(page, "(t) => { const v = document.querySelector('video'); "
                "return !v.paused && v.currentTime > t + 0.3; }", start, timeout=20_000)
    except AssertionError as exc:
        state = page.evaluate("() => { const v = document.querySelector('video'); return {paused: v.paused, "
                              "t: v.currentTime, ready: v.readyState, net: v.networkState, src: v.currentSrc, "
                              "error: v.error && [v.error.code, v.error.message], "
                              "label: window.avlabel.handleOf(v) && window.avlabel.handleOf(v).state}; }")
        raise AssertionError(f"the media does not play: {state}") from exc


def label_requests_between(page: Page, since: float, until: float) -> int:
    return int(page.evaluate("""([a, b]) => performance.getEntriesByType('resource').filter(
        (e) => e.name.includes('/v1/labels') && e.startTime > a && e.startTime < b).length""", [since, until]))


def exercise(page: Page, server: Server, vod: Vod, vod_url: str, live: Stream, player: str, shot: Shot) -> None:
    # On demand: the label of the content registered under the manifest URL, and the Report button.
    wait_state(page, "video", "signed_synthetic", timeout=20_000)
    assert page.evaluate("window.__avl('video').handle.label.content_id") == vod.content_id
    assert page.evaluate("window.__adapter.player") == player
    assert page.evaluate("window.__adapter.source()") == vod_url
    if player != "native":
        assert page.evaluate("document.querySelector('video').currentSrc").startswith("blob:")
    playing(page)
    wait_part(page, ".badge", "video")
    assert visible(page, "video", ".badge") and visible(page, "video", ".report")
    shot(page, "vod")

    # A source switch to a live stream: the label follows the manifest URL.
    page.evaluate("(u) => window.__switch(u)", live.url)
    wait_js(page, "(id) => { const h = window.__avl('video').handle; return h && h.label && "
            "h.label.content_id === id; }", live.content_id, timeout=20_000)
    wait_js(page, "() => window.__adapter.live()", timeout=20_000)
    assert page.evaluate("window.__adapter.source()") == live.url
    playing(page)
    assert visible(page, "video", ".badge") and visible(page, "video", ".report")
    shot(page, "live")

    # A moderator blocks the live stream: the next label refresh stops playback and covers it.
    moderate(server, live.content_id, "block")
    since = page.evaluate("performance.now()")  # counted from when the block is in effect (a busy CI is slow)
    wait_state(page, "video", "blocked", timeout=(REFRESH_SECONDS + 5) * 1000)
    blocked_at = page.evaluate("window.__events.find((e) => e.state === 'blocked').t")
    assert label_requests_between(page, since, blocked_at) <= 1, "blocked within one refresh"
    assert page.evaluate("document.querySelector('video').paused")
    assert visible(page, "video", ".cover")
    frozen = page.evaluate("document.querySelector('video').currentTime")
    page.evaluate("document.querySelector('video').play().catch(() => undefined)")  # the page tries to resume
    page.wait_for_timeout(1500)
    assert page.evaluate("document.querySelector('video').paused")
    assert page.evaluate("document.querySelector('video').currentTime") - frozen < 0.5
    if player == "hls.js":  # the adapter also stops hls.js downloading the blocked stream's segments
        fetched = page.evaluate("(t) => performance.getEntriesByType('resource').filter((e) => "
                                "e.name.endsWith('.m4s') && e.startTime > t + 250).length", blocked_at)
        assert fetched == 0
    shot(page, "blocked")


@pytest.mark.parametrize("player", ["hls.js", "dash.js", "shaka", "video.js", "native"])
def test_adapter_labels_a_stream_follows_switches_and_a_live_block(
        pages: PageHost, server: Server, stream_host: streams.StreamHost, vod: Vod,
        live_stream: Callable[[str], Stream], player: str, shot: Shot) -> None:
    kind = "dash" if player == "dash.js" else "hls"
    live = live_stream(kind)
    first = vod.dash if player in ("dash.js", "shaka") else vod.hls
    streams.wait_live(stream_host.root / live.url.rsplit("/", 2)[-2] / live.url.rsplit("/", 1)[-1])
    page = open_player(pages, stream_host, player, first)
    exercise(page, server, vod, first, live, player, shot)
    if player == "hls.js":
        # A report from a blocked stream names the playlist the viewer watched, not the blob: URL.
        part(page, ".report", "video").click()
        wait_part(page, "dialog", "video")
        part(page, "dialog textarea", "video").fill("live stream report")
        part(page, "dialog input.gf", "video").check()  # the good-faith statement
        part(page, "dialog button[type=submit]", "video").click()
        report_id = wait_part(page, "dialog [data-report-id]", "video").inner_text()
        secret = page.evaluate("window.__avl('video').q('dialog code').textContent")
        with server.client() as http:
            report = http.get(f"/v1/reports/{report_id}", headers={"Authorization": f"Bearer {secret}"}).json()
        assert report["media_url"] == live.url and report["content_id"] == live.content_id
        page.keyboard.press("Escape")
        page.evaluate("window.__adapter.dispose()")
        wait_js(page, "() => document.querySelectorAll('avlabel-frame').length === 0")


def test_videojs_without_an_adapter_labels_a_vhs_stream_by_its_source(
        pages: PageHost, server: Server, stream_host: streams.StreamHost, vod: Vod, shot: Shot) -> None:
    """The core's own video.js plugin (`data-avlabel` on the player) looks a VHS stream up by the source
    given to the player, not by the tech's blob: URL."""
    setup = ("videojs('v', {muted: true, autoplay: 'muted', width: 640, height: 360, html5: {vhs: "
             "{overrideNative: true}, nativeAudioTracks: false, nativeVideoTracks: false}})"
             ".src({src: " + json.dumps(vod.hls) + ", type: 'application/x-mpegURL'});")
    js = pages.add(f"/e2e/vjs-core-{secrets.token_hex(3)}.js", setup, "text/javascript")
    page = pages.open(f'<video-js id="v" width="640" height="360" muted data-avlabel="auto"></video-js>'
                      f'<script src="{js}"></script>',
                      head=f'<link rel="stylesheet" href="{stream_host.origin}/vendor/video-js.min.css">'
                      f'<script src="{stream_host.origin}/vendor/video.min.js"></script>'
                      '<script src="/plugin/avlabel-player.js"></script>', csp=stream_host.csp())
    wait_state(page, "video", "signed_synthetic", timeout=20_000)
    assert page.evaluate("window.__avl('video').handle.label.content_id") == vod.content_id
    assert page.evaluate("document.querySelector('video').currentSrc").startswith("blob:")
    playing(page)
    assert visible(page, "video", ".badge") and visible(page, "video", ".report")
    shot(page, "vhs-core")
