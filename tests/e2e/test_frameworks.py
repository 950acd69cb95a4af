"""Pages that manage their DOM like React and Vue do, links around media, events, double loading and
video.js players created after page load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import CSP, PARTS_JS, PageHost, Signed, part, wait_js, wait_state
from tests.e2e.measure import video_tag, visible

pytestmark = pytest.mark.browser
Shot = Callable[[Page, str], Path]

# What React's and Vue's renderers do to a keyed list: insertBefore with their own reference nodes
# (moves), removeChild of nodes they created, replaceChild, comment anchors (Vue fragments).
FRAMEWORK_JS = """
window.__errors = [];
const list = document.getElementById('list');
const make = (id, cid) => { const li = document.createElement('li'); li.dataset.key = id;
  const v = document.createElement('video'); v.id = id; v.src = '/media/' + cid + '.mp4'; v.muted = true;
  v.width = 320; v.height = 180; v.dataset.avlabel = cid; li.append(v); return li; };
window.__render = (cid, step) => { try {
  const items = Array.from(list.children);
  if (step === 0) { const anchor = document.createComment('v-if'); list.append(anchor);
    for (const k of ['a', 'b', 'c']) list.insertBefore(make(k, cid), anchor); }
  if (step === 1) { list.insertBefore(items[2], items[0]); }                    // move c before a
  if (step === 2) { list.removeChild(list.querySelector('[data-key=b]')); }       // unmount b
  if (step === 3) { const old = list.querySelector('[data-key=a]');               // replace a by d
    list.replaceChild(make('d', cid), old); }
  if (step === 4) { const c = list.querySelector('[data-key=c]'); list.insertBefore(c, null); } // move to end
} catch (e) { window.__errors.push(String(e)); } };
"""


@pytest.mark.parametrize("style", ["react", "vue"])
def test_framework_dom_updates_keep_working_and_labelled(pages: PageHost, signed: Signed, style: str,
                                                         shot: Shot) -> None:
    script = pages.add(f"/e2e/{style}.js", "window.__boot = () => {" + FRAMEWORK_JS + "};", "text/javascript")
    page = pages.open('<ul id="list"></ul>', head=f'<script src="{script}"></script>'
                      '<script src="/plugin/avlabel-player.js"></script>')
    page.evaluate("window.__boot()")
    for step in range(5):
        page.evaluate("([c, s]) => window.__render(c, s)", [signed.video, step])
        page.wait_for_timeout(150)
    page.evaluate(PARTS_JS)
    assert page.evaluate("window.__errors") == []
    keys = page.evaluate("Array.from(document.querySelectorAll('#list li'), (li) => li.dataset.key)")
    assert keys == ["d", "c"] if style == "react" else keys == ["d", "c"]
    for key in keys:
        wait_state(page, f"#{key}", "signed_synthetic")
        assert visible(page, f"#{key}", ".badge")
        # The page's video is still the child of the framework's <li>.
        assert page.evaluate(f"document.getElementById('{key}').parentElement.dataset.key") == key
    wait_js(page, "() => document.querySelectorAll('avlabel-frame').length === 2")
    shot(page, style)


def test_links_events_and_double_loading(pages: PageHost, signed: Signed) -> None:
    entry = pages.add("/e2e/twice.mjs", "import * as a from '/plugin/avlabel-player.mjs'; a.observe();\n",
                      "text/javascript")
    body = (f'<a id="card" href="/e2e/elsewhere.html">{video_tag(signed.video)}</a>')
    page = pages.open(body, head='<script src="/plugin/avlabel-player.js"></script>'
                      '<script src="/plugin/avlabel-player.js"></script>'
                      f'<script type="module" src="{entry}"></script>')
    page.evaluate("() => { window.__states = []; document.getElementById('v').addEventListener("
                  "'avlabel:statechange', (e) => window.__states.push(e.detail.state)); "
                  "window.__clicks = 0; document.getElementById('card').addEventListener('click', "
                  "() => window.__clicks++); }")
    wait_state(page, "#v", "signed_synthetic")
    page.wait_for_timeout(500)
    assert page.evaluate("document.querySelectorAll('avlabel-frame').length") == 1, "loaded 3 times, labelled once"
    url = page.url
    part(page, ".badge").click()
    part(page, ".report").click()
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert page.url == url and page.evaluate("window.__clicks") == 0, "plugin clicks never follow the link"
    page.evaluate("window.avlabel.handleOf(document.getElementById('v')).refresh()")
    # statechange fires on changes only (it may have fired before the listener was added).
    assert page.evaluate("window.__states").count("signed_synthetic") <= 1


VJS_PLAYERS = """(cid) => {
  const out = [];
  for (let i = 0; i < 4; i++) {
    const el = document.createElement(i % 2 ? 'video-js' : 'video');
    el.id = 'p' + i; el.className = 'video-js'; el.setAttribute('width', '320'); el.setAttribute('height', '180');
    el.dataset.avlabel = cid;
    const s = document.createElement('source'); s.src = '/media/' + cid + '.mp4'; s.type = 'video/mp4';
    el.append(s); document.body.append(el);
    out.push(window.videojs(el, {width: 320, height: 180, controls: true}).id());
  }
  return out;
}"""


def test_videojs_players_created_later_are_all_labelled(pages: PageHost, signed: Signed, shot: Shot) -> None:
    config = pages.add("/e2e/vjs-config.js", "window.VIDEOJS_NO_DYNAMIC_STYLE = true;", "text/javascript")
    page = pages.open("<p>players come later</p>",
                      head=f'<link rel="stylesheet" href="/plugin/vendor/video-js.min.css">'
                      f'<script src="{config}"></script><script src="/plugin/vendor/video.min.js"></script>'
                      '<script src="/plugin/avlabel-player.js"></script>',
                      csp=CSP.replace("img-src", "font-src 'self' data:; img-src"))
    page.wait_for_timeout(300)
    ids = page.evaluate(VJS_PLAYERS, signed.video)
    assert len(ids) == 4
    for pid in ids:
        wait_state(page, f"#{pid} video", "signed_synthetic")
        assert not page.evaluate(f"window.__avl('#{pid} video').q('.badge').hidden")
        assert page.evaluate(f"!window.__avl('#{pid} video').q('.report').hidden")
    assert page.evaluate("document.querySelectorAll('.video-js avlabel-frame').length") == 4
    shot(page, "videojs-late")
    # Disposing a player removes its labels and its listener; the others stay.
    page.evaluate(f"videojs('{ids[0]}').dispose()")
    wait_js(page, "() => document.querySelectorAll('avlabel-frame').length === 3")
