"""An appeal end to end in real Chromium against the PostgreSQL + Redis server: a moderator blocks a video,
the publisher opens the notice link, reads the statement of reasons and appeals; the moderator who blocked
it is refused as the appeal's decider; a second moderator reverses the block in the console; and the page
playing the video un-blocks without a reload."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from tests.backend.casework import act, auth, report
from tests.conftest import Server
from tests.e2e.conftest import PageHost, unique_video, wait_js, wait_state
from tests.e2e.console_pages import sign_in, staff_password
from tests.e2e.measure import video_tag

pytestmark = pytest.mark.browser
Shot = Callable[[Page, str], Path]


def console_page(browser: Browser, server: Server, account: tuple[str, str], problems: list[str]) -> Page:
    page = browser.new_context().new_page()
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    sign_in(page, server, *account)
    return page


def test_publisher_appeals_a_block_and_a_second_moderator_reverses_it(pages: PageHost, browser: Browser,
                                                                      server: Server, media_dir: Path,
                                                                      shot: Shot) -> None:
    if "moderator2" not in server.keys:
        server.keys["moderator2"] = server.create_account("moderator", "Second Moderator")
    cid = unique_video(server, media_dir, "e2e-appeal")
    player = pages.open(video_tag(cid))
    wait_state(player, "#v", "signed_synthetic")
    with server.client() as http:
        case_id = report(http, content_id=cid, media_url=f"/media/{cid}.mp4").json()["case_id"]
        event = act(http, server, case_id, "block", public_statement="e2e: blocked pending review").json()
    wait_state(player, "#v", "blocked", timeout=15_000)

    # The publisher follows the notice link: the token is in the fragment, the page shows the statement.
    link = urlsplit(event["appeal_url"])
    notice = pages.context.new_page()
    notice.goto(f"{server.url}{link.path}#{link.fragment}")
    notice.wait_for_selector("#statement")
    assert "token=" not in notice.url  # the fragment is dropped once the token is posted
    assert notice.locator("[data-field=action]").inner_text() == "block"
    assert "e2e: blocked pending review" in notice.locator("[data-field=facts]").inner_text()
    assert "Labelling Measures Art. 4" in notice.locator("[data-field=rule]").inner_text()
    notice.fill("#grounds", "The AI label is burnt into the first frame; please look again.")
    notice.click("#appeal-form button[type=submit]")
    notice.wait_for_selector("#appeal-filed")
    assert notice.locator("[data-field=appeal_status]").inner_text() == "open"
    shot(notice, "publisher-appeal-filed")
    with server.client() as http:
        appeal = http.get(f"/v1/decisions/{event['decision_id']}", headers=auth(server, "publisher")).json()["appeal"]

    problems: list[str] = []
    # The moderator who blocked it sees that another moderator must decide, and is refused if they try.
    first = console_page(browser, server, staff_password(server, "moderator"), problems)
    first.goto(f"{server.url}/console/appeals/{appeal['id']}")
    assert first.locator("#same-decider").is_visible()
    first.select_option("#outcome", "reversed")
    first.fill("#reasons", "I blocked it; I now think I was wrong")
    first.click("#appeal-decision button[type=submit]")
    first.wait_for_selector("#appeal-error")
    assert "cannot decide its appeal" in first.locator("#appeal-error").inner_text()
    shot(first, "original-moderator-refused")
    wait_state(player, "#v", "blocked")

    second = console_page(browser, server, staff_password(server, "moderator2"), problems)
    second.goto(f"{server.url}/console/cases/{appeal['case_id']}")
    second.click("#appeal-link a[href^='/console/appeals/']")
    second.wait_for_url(f"**/console/appeals/{appeal['id']}")
    assert second.locator("#same-decider").count() == 0
    second.select_option("#outcome", "reversed")
    second.fill("#reasons", "The label is visible in frame 1: the block is lifted")
    second.click("#appeal-decision button[type=submit]")
    wait_js(second, "() => document.querySelector('[data-field=outcome]').textContent === 'Reversed'")
    shot(second, "second-moderator-reversed")

    # The open page picks the reversal up on its next poll, without a reload.
    wait_state(player, "#v", "signed_synthetic", timeout=15_000)
    assert player.evaluate("window.__avl('#v').q('.cover').hidden !== false")
    shot(player, "player-unblocked")
    # The publisher's notice page now shows the outcome.
    again = pages.context.new_page()
    again.goto(f"{server.url}{link.path}#{link.fragment}")
    again.wait_for_selector("#appeal-status")
    assert again.locator("[data-field=appeal_outcome]").inner_text() == "reversed"
    assert problems == []


def test_transparency_page_draws_its_charts(browser: Browser, server: Server, media_dir: Path, shot: Shot) -> None:
    cid = unique_video(server, media_dir, "e2e-transparency")
    with server.client() as http:
        case_id = report(http, content_id=cid, category="rumour").json()["case_id"]
        assert act(http, server, case_id, "dismiss").status_code == 201
    problems: list[str] = []
    page = console_page(browser, server, staff_password(server, "auditor"), problems)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.goto(f"{server.url}/console/transparency")
    for kind in ("reports", "actions", "appeals"):
        page.wait_for_selector(f"canvas[data-chart={kind}][data-drawn=true]", state="attached")
    assert page.evaluate("typeof window.Chart") == "function"
    # Each chart draws the page's own figures: the bars add up to the totals shown beside them.
    drawn = page.evaluate("""() => Object.fromEntries(['reports', 'actions'].map((k) => [k,
        window.Chart.getChart(document.querySelector(`canvas[data-chart=${k}]`)).data.datasets[0].data
          .reduce((a, b) => a + b, 0)]))""")
    assert drawn["reports"] == int(page.locator("[data-field=reports]").inner_text()) >= 1
    assert drawn["actions"] == int(page.locator("[data-field=actions]").inner_text()) >= 1
    shot(page, "transparency", full_page=True)  # type: ignore[call-arg]
    assert [p for p in problems if "Content Security Policy" in p or "pageerror" in p] == []
