"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright against a running avlabel server.

Host pages are fulfilled by the test at the server's own origin (so they share its CSP-friendly
'self'), while the plugin, the label documents, the reports API and the media come from the server.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import redis
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, ElementHandle, Page, Route, sync_playwright

from backend.web import demo_media
from tests.conftest import ROOT, Server, make_server
from tests.e2e import streams

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--autoplay-policy=no-user-gesture-required",
        # Pages fulfilled by the test have no address; let them reach the loopback server.
        "--disable-features=LocalNetworkAccessChecks"]
ARTIFACTS = ROOT / "test-artifacts"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'")
HOSTILE = '<img src=x onerror="window.__pwned=1;document.title=\'pwned\'"> hostile-gen 1.0'

# In-page measurement: is this element rendered and the topmost thing at its centre?
VISIBLE_JS = """(el) => {
  if (!el || el.hidden) return false;
  const r = el.getBoundingClientRect();
  if (r.width < 1 || r.height < 1) return false;
  if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) return false;
  const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
  const root = el.getRootNode();
  const host = root.host;
  // Labels ignore the pointer so the player stays usable; hit-test them as if they did not.
  const saved = el.style.pointerEvents;
  el.style.pointerEvents = 'auto';
  const hit = root.elementFromPoint(x, y);
  const outer = document.elementFromPoint(x, y);
  el.style.pointerEvents = saved;
  return !!hit && (hit === el || el.contains(hit)) && (!host || outer === host || host.contains(outer));
}"""

# The plugin's shadow roots are closed. Like any script that runs before the plugin, the test harness
# can keep a reference to them: this init script records each <avlabel-frame>'s root (page script that
# runs after the plugin cannot; tests/e2e/test_hostile_page.py checks).
ROOTS_JS = """(() => { const attach = Element.prototype.attachShadow; const roots = new WeakMap();
  Object.defineProperty(window, '__roots', {value: roots});
  Element.prototype.attachShadow = function (init) { const r = attach.call(this, init);
    if (this.localName === 'avlabel-frame') roots.set(this, r); return r; }; })();"""

# Finds the plugin's parts for a media element: avlabel.handleOf(media) and the overlay's shadow root.
# The overlay is not inside the media's parent (no DOM surgery): it is the one drawn over the media box
# (below it for audio), or the one inside the video.js player.
PARTS_JS = "() => { window.__vis = " + VISIBLE_JS + """;
window.__hostOf = (media) => {
  const vjs = media.closest('.video-js');
  const hosts = Array.from((vjs || document).querySelectorAll('avlabel-frame'));
  const m = (vjs || media).getBoundingClientRect();
  const audio = media.tagName === 'AUDIO';
  let host = null, best = Infinity;
  for (const h of hosts) {
    const box = window.__roots.get(h) && window.__roots.get(h).querySelector('.box');
    if (!box) continue;
    const r = box.getBoundingClientRect();
    const d = Math.abs(r.left - m.left) + Math.abs(r.top - (audio ? m.bottom + 4 : m.top))
      + (audio ? 0 : Math.abs(r.width - m.width) + Math.abs(r.height - m.height));
    if (d < best) { best = d; host = h; }
  }
  window.__hostDistance = best;
  return host;
};
// True once some overlay sits on the media's box: after a scroll or resize the overlays follow a frame later.
window.__placed = (sel) => { window.__hostOf(document.querySelector(sel)); return window.__hostDistance < 3; };
window.__avl = (sel) => {
  const media = document.querySelector(sel);
  const host = window.__hostOf(media);
  const root = host && window.__roots.get(host);
  return {media, host, root, handle: window.avlabel.handleOf(media),
          q: (s) => root && root.querySelector(s)};
}; }
"""


def part(page: Page, css: str, sel: str = "") -> ElementHandle:
    """An element inside the overlay of `sel` (default: the first overlay that has one), as a handle
    Playwright can click, focus, fill and read (its locators do not enter closed shadow roots)."""
    if sel:  # match the overlay by geometry only once it has followed the media (a scroll just happened)
        with contextlib.suppress(AssertionError):
            wait_js(page, "(s) => window.__placed(s)", sel, timeout=3000)
    handle = page.evaluate_handle("""([s, c]) => { if (s) return window.__avl(s).q(c);
        for (const h of document.querySelectorAll('avlabel-frame')) {
          const r = window.__roots.get(h); const el = r && r.querySelector(c); if (el) return el; }
        return null; }""", [sel, css]).as_element()
    assert handle is not None, f"no {css} in the overlay of {sel or 'any media'}"
    return handle


def wait_part(page: Page, css: str, sel: str = "", timeout: float = 10_000) -> ElementHandle:
    """Waits until `part(page, css, sel)` exists and is rendered, then returns it."""
    wait_js(page, """([s, c]) => { const roots = s ? [window.__avl(s).root]
        : Array.from(document.querySelectorAll('avlabel-frame'), (h) => window.__roots.get(h));
        return roots.some((r) => { const el = r && r.querySelector(c);
          return el && el.checkVisibility({visibilityProperty: true}); }); }""", [sel, css], timeout)
    return part(page, css, sel)


@dataclass
class Signed:
    video: str
    audio: str
    image: str
    hostile: str


def sign_file(srv: Server, path: Path, content_id: str, generator: str = "e2e-gen 1.0", title: str = "",
              key: str = "publisher") -> str:
    data = {"generator": generator, "content_id": content_id, **({"title": title} if title else {})}
    with srv.client() as http, path.open("rb") as fh:
        resp = http.post("/v1/sign", headers={"Authorization": f"Bearer {srv.keys[key]}"},
                         files={"file": (path.name, fh)}, data=data)
    assert resp.status_code == 200, resp.text
    return resp.headers["X-Content-Id"]


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-media")


@pytest.fixture(scope="session")
def signed(server: Server, media_dir: Path) -> Signed:
    tag = secrets.token_hex(3)
    video = demo_media.video(media_dir / "clip.mp4", seconds=8.0)
    return Signed(
        video=sign_file(server, video, f"e2e-video-{tag}"),
        audio=sign_file(server, demo_media.melody(media_dir / "tune.wav"), f"e2e-audio-{tag}"),
        image=sign_file(server, demo_media.picture(media_dir / "pic.png", 3), f"e2e-image-{tag}"),
        hostile=sign_file(server, demo_media.picture(media_dir / "evil.png", 4), f"e2e-hostile-{tag}",
                          generator=HOSTILE, title=HOSTILE),
    )


def sign_video(server: Server, media_dir: Path, prefix: str) -> str:
    """A fresh signed video, for tests that change its label state."""
    path = media_dir / "clip.mp4"
    if not path.exists():
        demo_media.video(path, seconds=8.0)
    return sign_file(server, path, f"{prefix}-{secrets.token_hex(3)}")


def publisher_with_complaint_contact(server: Server, contact: str) -> str:
    """A second verified publisher whose complaint contact an admin sets through the accounts API."""
    name = f"Contact Studio {secrets.token_hex(3)}"
    server.keys[name] = server.create_account("publisher", name)
    with server.client() as http:
        me = http.get("/v1/accounts/me", headers={"Authorization": f"Bearer {server.keys[name]}"}).json()
        resp = http.patch(f"/v1/accounts/{me['id']}", json={"complaint_contact": contact},
                          headers={"Authorization": f"Bearer {server.keys['admin']}"})
        assert resp.status_code == 200, resp.text
    return name


_VIDEO_VARIANTS = itertools.count(1)


def unique_video(server: Server, media_dir: Path, prefix: str) -> str:
    """A signed video with bytes of its own. Blocks and refutations reach every registered copy of the
    same media, so moderated videos must not share bytes with other tests' clip.mp4."""
    variant = next(_VIDEO_VARIANTS)  # a different length per call, so different bytes
    path = demo_media.video(media_dir / f"{prefix}-{variant}.mp4", seconds=3.0 + 0.1 * variant, size=(480, 272))
    return sign_file(server, path, f"{prefix}-{secrets.token_hex(3)}")


def moderate(server: Server, content_id: str, action: str, reasons: str = "e2e: decided on review",
             **fields: Any) -> str:
    """A viewer's report and a moderator's action on it, through the API; returns the case id."""
    with server.client() as http:
        case = http.post("/v1/reports", json={"category": "other", "description": "e2e report", "good_faith": True,
                                              "content_id": content_id})
        assert case.status_code == 201, case.text
        case_id: str = case.json()["case_id"]
        done = http.post(f"/v1/cases/{case_id}/actions", json={"action": action, "reasons": reasons, **fields},
                         headers={"Authorization": f"Bearer {server.keys['moderator']}"})
        assert done.status_code == 201, done.text
    return case_id


def set_label_state(server: Server, content_id: str, state: str, note: dict[str, Any]) -> None:
    """A detector-derived state no moderator action sets (possibly_synthetic), written straight into the
    server's database; the cached label document is dropped so the next poll sees it."""
    with psycopg.connect(server.env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("UPDATE contents SET label_state = %s, label_note = %s, updated_at = now() "
                     "WHERE content_id = %s", (state, json.dumps(note), content_id))
    r = redis.Redis.from_url(server.env["REDIS_URL"])
    r.delete(server.env["AVLABEL_REDIS_PREFIX"] + f"label:{content_id}")
    r.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Chromium is missing: apt-get install chromium (scripts/install.sh does)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class PageHost:
    """Serves test pages with a strict CSP and records what went wrong. Pages live at the server's
    origin, or at a second origin (localhost instead of 127.0.0.1) for cross-origin embedding."""

    def __init__(self, context: BrowserContext, base: str) -> None:
        self.context = context
        self.base = base
        self.other_origin = base.replace("127.0.0.1", "localhost")
        self.pages: dict[str, tuple[str, str, str]] = {}
        self.errors: list[str] = []
        context.add_init_script(ROOTS_JS)
        context.route(f"{base}/e2e/**", self._fulfil)
        context.route(f"{self.other_origin}/e2e/**", self._fulfil)

    def _fulfil(self, route: Route) -> None:
        url = route.request.url
        if url not in self.pages:
            route.fulfill(status=404, body="not found", content_type="text/plain")
            return
        body, ctype, csp = self.pages[url]
        route.fulfill(status=200, body=body, content_type=ctype, headers={"Content-Security-Policy": csp})

    def add(self, path: str, body: str, ctype: str = "text/html; charset=utf-8", origin: str = "",
            csp: str = CSP) -> str:
        url = (origin or self.base) + path
        self.pages[url] = (body, ctype, csp)
        return url

    def open(self, body: str, lang: str = "en", viewport: tuple[int, int] = (1400, 1000), origin: str = "",
             head: str = '<script src="/plugin/avlabel-player.js"></script>', csp: str = CSP) -> Page:
        html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>avlabel e2e</title>'
                f"{head}</head><body>{body}</body></html>")
        url = self.add(f"/e2e/{secrets.token_hex(4)}.html", html, origin=origin, csp=csp)
        page = self.context.new_page()
        page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
                and self.errors.append(f"console: {m.text}"))
        page.goto(url)
        wait_js(page, "() => window.avlabel !== undefined")
        page.evaluate(PARTS_JS)
        return page


# The verification page's answer is on screen (static/verify.js shows #result when a check returns).
RESULT_SHOWN = "() => { const r = document.getElementById('result'); return r && !r.hidden; }"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab for the service's own pages (/verify): any uncaught script error fails the test."""
    context = browser.new_context(viewport={"width": 1200, "height": 1400})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    yield tab
    context.close()
    assert problems == []


@pytest.fixture
def pages(browser: Browser, server: Server) -> Iterator[PageHost]:
    context = browser.new_context()
    host = PageHost(context, server.url)
    yield host
    context.close()
    assert host.errors == [], host.errors


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[..., Path]:
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page: Page, state: str, full_page: bool = False) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{state}.png".replace("/", "_")
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


def wait_js(page: Page, fn: str, arg: Any = None, timeout: float = 10_000) -> Any:
    """Polls a JS function until it returns something truthy (Playwright's wait_for_function needs
    eval, which the pages' strict CSP forbids)."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(fn, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} ms waiting for {fn}")
        time.sleep(0.05)


def wait_state(page: Page, sel: str, state: str, timeout: float = 10_000) -> None:
    wait_js(page, "([s, st]) => window.__avl(s).handle && window.__avl(s).handle.state === st", [sel, state],
            timeout)


def painted_share(page: Page, sel: str, part: str) -> float:
    """Share of the element's on-screen pixels that have its background colour: measured on a
    screenshot, so it counts only what is really painted on top."""
    box = page.evaluate("([s, p]) => { const r = window.__avl(s).q(p).getBoundingClientRect(); "
                        "return {x: r.left, y: r.top, width: r.width, height: r.height, "
                        "bg: getComputedStyle(window.__avl(s).q(p)).backgroundColor}; }", [sel, part])
    png = page.screenshot(clip={k: box[k] for k in ("x", "y", "width", "height")})
    want = [int(v) for v in re.findall(r"\d+", box["bg"])[:3]]
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    close = (np.abs(pixels - np.array(want, dtype=np.int16)) <= 12).all(axis=-1)
    return float(close.mean()) if close.size else 0.0


@pytest.fixture(scope="session")
def stream_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[streams.StreamHost]:
    """A loopback origin (not the service's) for streams, hosted images and the player libraries."""
    with streams.serve(tmp_path_factory.mktemp("streams")) as host:
        yield host


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("demo"), False, AVLABEL_DEMO="true")
    srv.start()
    yield srv
    srv.stop()
