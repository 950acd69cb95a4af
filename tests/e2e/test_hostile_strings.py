"""Manifest strings carrying script, SQL, Unicode control/format characters and long unbroken payloads,
signed through the API, shown by the plugin's details panel and the moderation console as text, with
nothing run."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from backend.web import demo_media
from tests.backend.casework import report
from tests.conftest import Server
from tests.e2e.conftest import PageHost, part, sign_file, wait_part, wait_state
from tests.e2e.console_pages import sign_in, staff_password

pytestmark = pytest.mark.browser

SCRIPT = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><b>bold</b>'
PAYLOADS = {
    "script": f"{SCRIPT} 1.0",
    "sql": "x'); DROP TABLE contents; -- \" OR 1=1 -- 1.0",
    "format-chars": "RTL\u202eoverride\u200bzero\u2066width\u2069 标识 1.0",
    "long-unbroken": "W" * 196 + " 1.0",
}


@pytest.fixture(scope="module")
def hostile_signed(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """content ids signed with each hostile generator, the last by a publisher whose name is hostile too."""
    media = tmp_path_factory.mktemp("hostile-strings")
    publisher = (SCRIPT + " Studio " + "名" * 100)[:200]
    server.keys[publisher] = server.create_account("publisher", publisher)
    out: dict[str, tuple[str, str]] = {}
    for i, (kind, generator) in enumerate(PAYLOADS.items()):
        path = demo_media.picture(Path(media) / f"{kind}.png", 20 + i)
        content_id = sign_file(server, path, f"e2e-hs-{kind}-{secrets.token_hex(3)}", generator=generator,
                               key=publisher)
        out[kind] = (content_id, generator)
    out["publisher"] = (out["script"][0], publisher)
    return out


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_hostile_manifest_strings_are_shown_as_text(pages: PageHost, hostile_signed: dict[str, tuple[str, str]],
                                                    kind: str, shot: Callable[..., Path]) -> None:
    content_id, generator = hostile_signed[kind]
    publisher = hostile_signed["publisher"][1]
    page = pages.open(f'<img id="i" src="/media/{content_id}.png" width="640" height="400" alt="" '
                      f'data-avlabel="{content_id}">')
    wait_state(page, "#i", "signed_synthetic")
    part(page, ".badge").click()
    wait_part(page, ".panel")
    shown = page.evaluate("Array.from(window.__avl('#i').q('.panel').querySelectorAll('dd'), d => d.textContent)")
    assert generator in shown, shown
    assert publisher in shown, shown
    # Text only: nothing the strings carry became an element, and no script ran.
    counts = page.evaluate("(() => { const p = window.__avl('#i').q('.panel'); return {"
                           "img: p.querySelectorAll('img').length, script: p.querySelectorAll('script').length, "
                           "b: p.querySelectorAll('b').length}; })()")
    assert counts == {"img": 0, "script": 0, "b": 0}, counts
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None
    assert page.title() == "avlabel e2e"
    # Long and direction-changing strings stay inside the panel and the page.
    box = page.evaluate("""(() => { const p = window.__avl('#i').q('.panel'); const r = p.getBoundingClientRect();
        return {left: r.left, right: r.right, scroll: p.scrollWidth, client: p.clientWidth,
                vw: document.documentElement.clientWidth, tall: p.scrollHeight > p.clientHeight + 1,
                overflowY: getComputedStyle(p).overflowY}; })()""")
    assert box["scroll"] <= box["client"] + 1, box
    assert box["left"] >= 0 and box["right"] <= box["vw"] + 1, box
    if box["tall"]:  # what does not fit can be scrolled to, not cut off
        assert box["overflowY"] in ("auto", "scroll"), box
    shot(page, f"hostile-{kind}")


def test_hostile_manifest_strings_in_the_console_are_text(browser: Browser, server: Server,
                                                          hostile_signed: dict[str, tuple[str, str]],
                                                          shot: Callable[..., Path]) -> None:
    """A moderator opening a case on that content sees the generator and publisher strings as text."""
    content_id, generator = hostile_signed["script"]
    publisher = hostile_signed["publisher"][1]
    username, password = staff_password(server, "moderator")
    with server.client() as http:
        case_id = report(http, content_id=content_id, category="other",
                         description="hostile manifest strings").json()["case_id"]
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    try:
        sign_in(page, server, username, password)
        page.goto(f"{server.url}/console/cases/{case_id}")
        facts = page.locator("#verification").inner_text()
        assert generator in facts, facts
        assert publisher in page.locator("main").inner_text()
        assert page.locator("#verification img, #verification script, #verification b").count() == 0
        page.wait_for_timeout(200)
        assert page.evaluate("window.__pwned") is None and not problems, problems
        shot(page, "hostile-console-case")
    finally:
        context.close()
