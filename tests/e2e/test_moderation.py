"""The whole complaint loop in real Chromium against the PostgreSQL + Redis server: a viewer reports
from the plugin, the case reaches the queue, a moderator acts, the open page changes without a reload,
the reporter sees the outcome; and the moderation console (login, queue, hostile text, actions)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.backend.casework import act, auth, report
from tests.conftest import Server
from tests.e2e.conftest import PageHost, part, unique_video, wait_js, wait_part, wait_state
from tests.e2e.console_pages import sign_in, staff_password
from tests.e2e.measure import video_tag

pytestmark = pytest.mark.browser
Shot = Callable[[Page, str], Path]
HOSTILE_TEXT = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> fake news'


def report_from_plugin(page: Page, sel: str, description: str) -> tuple[str, str, str]:
    part(page, ".report", sel).click()
    wait_part(page, "dialog", sel)
    part(page, "dialog select", sel).select_option("rumour")
    part(page, "dialog textarea", sel).fill(description)
    part(page, "dialog input.gf", sel).check()  # the good-faith statement
    part(page, "dialog button[type=submit]", sel).click()
    receipt = wait_part(page, "dialog [data-report-id]", sel)
    secret = page.evaluate(f"window.__avl('{sel}').q('dialog code').textContent")
    follow = page.evaluate(f"window.__avl('{sel}').q('dialog a').href")
    page.keyboard.press("Escape")
    return receipt.inner_text(), secret, follow


def test_report_from_the_plugin_to_a_decision_seen_without_reload(pages: PageHost, server: Server, media_dir: Path,
                                                                  shot: Shot) -> None:
    refuted = unique_video(server, media_dir, "e2e-mod-refute")
    blocked = unique_video(server, media_dir, "e2e-mod-block")
    pending = unique_video(server, media_dir, "e2e-mod-pending")
    page = pages.open(video_tag(refuted) + video_tag(blocked).replace('id="v"', 'id="b"')
                      + video_tag(pending).replace('id="v"', 'id="p"'))
    for sel in ("#v", "#b", "#p"):
        wait_state(page, sel, "signed_synthetic")
    report_id, secret, follow = report_from_plugin(page, "#v", "This clip spreads a fabricated story")
    with server.client() as http:
        view = http.get(f"/v1/reports/{report_id}", headers={"Authorization": f"Bearer {secret}"}).json()
        queue = http.get("/v1/cases", headers=auth(server, "moderator")).json()["cases"]
        case = next(c for c in queue if c["content_id"] == refuted)
        assert case["category"] == "rumour" and case["status"] == "open"
        assert view["status"] == "received"
        refutation = {"zh": "经核实，该视频系伪造", "en": "Verified: this video is fabricated",
                      "url": "https://example.org/fact-check/e2e"}
        assert act(http, server, case["id"], "refute", refutation=refutation).status_code == 201
        for content_id in (blocked, pending):
            case_id = report(http, content_id=content_id, media_url=f"/media/{content_id}.mp4").json()["case_id"]
            action = "block" if content_id == blocked else "stop_until_labelled"
            assert act(http, server, case_id, action, reasons="e2e: internal reasons",
                       public_statement="e2e: removed after review").status_code == 201
    # The open page picks the decisions up on its next poll (default 5 s), without a reload.
    wait_state(page, "#v", "refuted", timeout=15_000)
    wait_state(page, "#b", "blocked", timeout=15_000)
    wait_state(page, "#p", "pending_label", timeout=15_000)
    assert page.evaluate("window.__avl('#v').q('.refute a').href") == refutation["url"]
    assert "fabricated" in page.evaluate("window.__avl('#v').q('.refute').textContent")
    cover = page.evaluate("window.__avl('#b').q('.cover').textContent")
    assert "e2e: removed after review" in cover and "internal reasons" not in cover  # the public statement only
    assert page.evaluate("window.__avl('#p').media.paused")
    shot(page, "moderated")
    # The reporter follows the link from the dialog and sees the outcome and its reasons.
    follow_page = pages.context.new_page()
    follow_page.goto(follow)
    wait_js(follow_page, "() => document.querySelector('[data-field=outcome]').textContent === 'refute'")
    assert "e2e decision: refute" in follow_page.locator("[data-field=reasons]").inner_text()
    shot(follow_page, "reporter-follow-page")


def test_label_action_lifts_a_stop_on_the_open_page(pages: PageHost, server: Server, media_dir: Path) -> None:
    content_id = unique_video(server, media_dir, "e2e-mod-label")
    with server.client() as http:
        case_id = report(http, content_id=content_id).json()["case_id"]
        act(http, server, case_id, "stop_until_labelled")
    page = pages.open(video_tag(content_id, extra="autoplay"))
    wait_state(page, "#v", "pending_label")
    with server.client() as http:
        assert act(http, server, case_id, "label").status_code == 201
    wait_state(page, "#v", "signed_synthetic", timeout=15_000)
    assert page.evaluate("window.__avl('#v').q('.badge').textContent") == "AI-generated content"
    assert not page.evaluate("window.__avl('#v').q('.cover').hidden === false")


@pytest.fixture
def console_user(server: Server) -> tuple[str, str]:
    return staff_password(server, "moderator")


@pytest.fixture
def console(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    yield page, problems
    context.close()


def test_console_login_queue_hostile_text_and_action(console: tuple[Page, list[str]], server: Server,
                                                     console_user: tuple[str, str], media_dir: Path,
                                                     shot: Shot) -> None:
    page, problems = console
    content_id = unique_video(server, media_dir, "e2e-console")
    with server.client() as http:
        case_id = report(http, content_id=content_id, category="illegal", description=HOSTILE_TEXT,
                         contact='<b onmouseover="x">me</b>').json()["case_id"]
        page_resp = httpx.get(f"{server.url}/console/login")
        csp = page_resp.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    page.goto(f"{server.url}/console/queue")
    assert page.url.endswith("/console/login")
    page.fill("#login", console_user[0])
    page.fill("#password", "wrong password!!")
    page.click("button[type=submit]")
    assert "密码不正确" in page.locator("[role=alert]").inner_text()
    sign_in(page, server, *console_user)
    row = page.locator(f"#queue tr[data-case-id='{case_id}']")
    assert row.count() == 1
    first = page.locator("#queue tbody tr").first.get_attribute("data-case-id")
    severities = [int(t) for t in page.locator("#queue tbody td:nth-child(3)").all_inner_texts()]
    assert severities == sorted(severities, reverse=True) and first is not None
    row.locator("a").click()
    page.wait_for_url(f"**/console/cases/{case_id}")
    description = page.locator("#reports .description").inner_text()
    assert description == HOSTILE_TEXT
    assert page.locator("#reports img, #reports script, #reports b").count() == 0
    assert page.evaluate("window.__pwned") is None
    wait_js(page, "() => { const v = document.querySelector('.preview video'); return v && v.readyState >= 1; }")
    shot(page, "console-case")
    page.click("label[for=reveal-media]")  # an illegal category's preview is blurred until clicked
    page.select_option("#destructive_action", "block")
    page.fill("#destructive_reasons", "illegal content: blocked on review")
    page.click("#act-destructive button[type=submit]")
    page.wait_for_selector("#confirm-scope")
    assert content_id in page.locator("#confirm-scope [data-field=scope]").inner_text()
    page.click("#confirm-button")
    page.wait_for_url(f"**/console/cases/{case_id}")
    assert page.locator("[data-field=status]").inner_text() == "Decided"
    assert "illegal content: blocked on review" in page.locator("#history").inner_text()
    with server.client() as http:
        assert http.get(f"/v1/labels/{content_id}").json()["state"] == "blocked"
        # Forms without the session's CSRF token are refused, and so is an anonymous post.
        jar = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
        forged = http.post(f"/console/cases/{case_id}/actions", data={"action": "dismiss", "reasons": "x" * 20},
                           headers={"Cookie": jar})
        assert forged.status_code == 403
    cookie = next(c for c in page.context.cookies() if c["name"] == "avlabel_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not [p for p in problems if "Content Security Policy" in p or "pageerror" in p], problems
