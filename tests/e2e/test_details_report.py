"""The provenance panel and the report dialog: manifest strings as text, keyboard use, complaints
reaching the backend."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from backend.web import demo_media
from tests.conftest import Server
from tests.e2e.conftest import (
    HOSTILE,
    PageHost,
    Signed,
    part,
    publisher_with_complaint_contact,
    sign_file,
    wait_js,
    wait_part,
    wait_state,
)
from tests.e2e.measure import deep_focus, video_tag

pytestmark = pytest.mark.browser
Shot = Callable[[Page, str], Path]


def test_manifest_markup_is_shown_as_text(pages: PageHost, signed: Signed, shot: Shot) -> None:
    page = pages.open(f'<img id="i" src="/media/{signed.hostile}.png" width="800" height="500" alt="" '
                      f'data-avlabel="{signed.hostile}">')
    wait_state(page, "#i", "signed_synthetic")
    part(page, ".badge").click()
    panel = wait_part(page, ".panel")
    assert HOSTILE in panel.inner_text()
    assert page.evaluate("window.__avl('#i').q('.panel').querySelectorAll('img').length") == 0
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.title() == "avlabel e2e"
    shot(page, "details-hostile-manifest")


def test_details_panel_lists_provenance(pages: PageHost, signed: Signed, server: Server) -> None:
    page = pages.open(f'<div lang="zh-CN">{video_tag(signed.video)}</div>')
    wait_state(page, "#v", "signed_synthetic")
    assert page.evaluate("window.__avl('#v').q('.badge').textContent") == "本内容由人工智能生成"
    part(page, ".badge").focus()
    page.keyboard.press("Enter")
    text = wait_part(page, ".panel").inner_text()
    for expected in ("签发者", "avlabel", "生成工具", "e2e-gen 1.0", "签名状态", "有效", "Test Studio"):
        assert expected in text
    href = page.evaluate("window.__avl('#v').q('.panel a').href")
    assert href == f"{server.url}/verify/{signed.video}"
    assert httpx.get(href).status_code == 200
    page.keyboard.press("Escape")
    assert page.evaluate("window.__avl('#v').q('.panel').hidden")


def test_report_dialog_focus_trap_escape_and_focus_return(pages: PageHost, signed: Signed, shot: Shot) -> None:
    page = pages.open(video_tag(signed.video))
    wait_state(page, "#v", "signed_synthetic")
    part(page, ".report").focus()
    page.keyboard.press("Enter")
    dialog = wait_part(page, "dialog")
    assert dialog.get_attribute("aria-modal") == "true"
    shot(page, "report-dialog")
    title_id = dialog.get_attribute("aria-labelledby")
    assert page.evaluate(f"window.__avl('#v').q('#{title_id}').textContent") == "Report this content"
    seen = [deep_focus(page)]
    for _ in range(8):
        page.keyboard.press("Tab")
        seen.append(deep_focus(page))
    # category, description, contact, time range start and end, the good-faith statement, the buttons
    assert seen == ["select", "textarea", "input", "input", "input", "input.gf", "button|Cancel",
                    "button|Send report", "select"], seen
    page.keyboard.press("Shift+Tab")
    assert deep_focus(page) == "button|Send report"
    page.keyboard.press("Escape")
    wait_js(page, "() => !window.__avl('#v').q('dialog').open")
    assert deep_focus(page) == "button.tool report|Report"


def test_report_by_keyboard_alone_reaches_the_backend(pages: PageHost, signed: Signed, server: Server,
                                                      shot: Shot) -> None:
    page = pages.open(video_tag(signed.video))
    wait_state(page, "#v", "signed_synthetic")
    page.evaluate("""() => new Promise((ok) => { const v = window.__avl('#v').media;
        v.currentTime = 2.5; v.addEventListener('seeked', ok, {once: true}); })""")
    for _ in range(25):  # keyboard only: Tab until the report button has focus
        page.keyboard.press("Tab")
        if deep_focus(page) == "button.tool report|Report":
            break
    assert deep_focus(page) == "button.tool report|Report"
    page.keyboard.press("Enter")
    wait_part(page, "dialog")
    page.keyboard.press("ArrowDown")  # second category: wrong AI label (beside unlabelled AI)
    page.keyboard.press("Tab")
    page.keyboard.type("Face swap of a real person <script>x</script>")
    page.keyboard.press("Tab")
    page.keyboard.type("viewer@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("2")  # the time range: from 2 s
    page.keyboard.press("Tab")
    page.keyboard.type("6.5")  # to 6.5 s
    page.keyboard.press("Tab")
    assert deep_focus(page) == "input.gf"
    page.keyboard.press("Space")  # the good-faith statement
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert deep_focus(page) == "button|Send report"
    page.keyboard.press("Enter")
    receipt = wait_part(page, "dialog [data-report-id]")
    shot(page, "report-sent")
    report_id = receipt.inner_text()
    secret = page.evaluate("window.__avl('#v').q('dialog code').textContent")
    resp = httpx.get(f"{server.url}/v1/reports/{report_id}", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report.get("content_id") == signed.video
    assert report.get("category") == "wrong_ai_label"
    assert abs(float(report.get("playback_time")) - 2.5) < 0.3
    assert report.get("time_range") == {"start": 2.0, "end": 6.5} and report.get("good_faith") is True
    assert page.evaluate("window.__avl('#v').q('dialog a').href").startswith(server.url + "/reports/")


def test_report_dialog_shows_the_publisher_complaint_contact(pages: PageHost, server: Server,
                                                             media_dir: Path) -> None:
    contact = "abuse+e2e@example.com <b>not markup</b>"
    key = publisher_with_complaint_contact(server, contact)
    path = media_dir / "contact.png"
    demo_media.picture(path, 11)
    content_id = sign_file(server, path, f"e2e-contact-{secrets.token_hex(3)}", key=key)
    page = pages.open(f'<img id="i" src="/media/{content_id}.png" width="400" height="250" alt="" '
                      f'data-avlabel="{content_id}">')
    wait_state(page, "#i", "signed_synthetic")
    part(page, ".report").click()
    meta = wait_part(page, "dialog .meta").inner_text()
    assert f"Publisher's complaint contact: {contact}" in meta
    assert "Playback time" not in meta  # an image has none
    assert page.evaluate("window.__avl('#i').q('dialog .meta').querySelectorAll('b').length") == 0


def test_a_refused_report_is_shown_translated_and_a_sent_one_fires_avlabel_report(
        pages: PageHost, signed: Signed, shot: Shot) -> None:
    # The service refuses a report on content it does not know (404 unknown_content): the dialog shows
    # the Chinese text for that code, never the server's English message. A sent report fires the event.
    missing = f"no-such-{secrets.token_hex(3)}"
    page = pages.open(video_tag(missing, extra='id="missing"').replace('id="v" ', "", 1)
                      + video_tag(signed.video), lang="zh-CN")
    page.evaluate("() => { window.__reports = []; document.addEventListener('avlabel:report', "
                  "(e) => window.__reports.push({target: e.target.id, ...e.detail})); }")
    wait_state(page, "#v", "signed_synthetic")
    for sel, text in (("#missing", "问题一"), ("#v", "问题二")):
        wait_part(page, ".report", sel).click()
        wait_part(page, "dialog", sel)
        part(page, "dialog textarea", sel).fill(text)
        part(page, "dialog input.gf", sel).check()
        part(page, "dialog button[type=submit]", sel).click()
        if sel == "#missing":
            error = wait_part(page, "dialog .status .error", sel).inner_text()
            assert "未找到该内容，请刷新页面后重试" in error and "no registered content" not in error
            shot(page, "report-refused")
            assert page.evaluate("window.__reports") == []
            page.keyboard.press("Escape")
            wait_js(page, "() => !window.__avl('#missing').q('dialog').open")
    receipt = wait_part(page, "dialog [data-report-id]", "#v").inner_text()
    events = wait_js(page, "() => window.__reports.length && window.__reports")
    assert events == [{"target": "v", "id": receipt, "status": events[0]["status"], "contentId": signed.video}]
    assert events[0]["status"]  # the new report's status, e.g. "received"


def test_zh_dialog_good_faith_time_range_feed_items_and_translated_server_error(
        pages: PageHost, signed: Signed, server: Server, shot: Shot) -> None:
    # A feed of two videos: the dialog of the first offers the second as a further item of the same report.
    page = pages.open(video_tag(signed.video) + video_tag(signed.video, extra='id="w"').replace('id="v" ', "", 1),
                      lang="zh-CN")
    wait_state(page, "#v", "signed_synthetic")
    wait_part(page, ".report", "#v").click()
    wait_part(page, "dialog", "#v")
    q = lambda css: part(page, f"dialog {css}", "#v")  # noqa: E731
    q("textarea").fill("画面中的人物是AI换脸")
    text = q("form").inner_text()
    for words in ("我确认本举报出于善意", "问题出现的时间段", "同时举报本页其他媒体"):
        assert words in text, words
    q("button[type=submit]").click()  # the good-faith statement is not ticked: refused in the dialog
    assert wait_part(page, "dialog .status .error", "#v").inner_text() == "请先勾选善意声明。"
    q("input.gf").check()
    inputs = page.evaluate_handle("window.__avl('#v').q('dialog .range')").as_element()
    assert inputs is not None
    start, end = inputs.query_selector_all("input")
    start.fill("8")
    end.fill("3")  # the end before the start: refused in the dialog, in Chinese
    q("button[type=submit]").click()
    assert wait_part(page, "dialog .status .error", "#v").inner_text() == "时间段无效：结束时间须晚于开始时间"
    end.fill("20000000")  # past the server's bound: the server's 400 invalid_time_range, shown translated
    q("button[type=submit]").click()
    wait_js(page, "() => /提交失败/.test(window.__avl('#v').q('dialog .status').textContent)")
    error = part(page, "dialog .status .error", "#v").inner_text()
    assert "时间段无效" in error and "time_range" not in error and "seconds" not in error, error
    shot(page, "report-zh-translated-error")
    end.fill("12")
    q("fieldset.others input[type=checkbox]").check()
    q("button[type=submit]").click()
    report_id = wait_part(page, "dialog [data-report-id]", "#v").inner_text()
    secret = page.evaluate("window.__avl('#v').q('dialog code').textContent")
    shot(page, "report-zh-sent")
    view = httpx.get(f"{server.url}/v1/reports/{report_id}", headers={"Authorization": f"Bearer {secret}"}).json()
    assert view["time_range"] == {"start": 8.0, "end": 12.0} and view["good_faith"] is True
    assert [s["step"] for s in view["steps"]] == ["received", "in_review", "decided"]
    # The tracking page (the dialog's link, secret in the fragment) shows the steps and the deadline.
    follow = pages.context.new_page()
    follow.goto(page.evaluate("window.__avl('#v').q('dialog a').href"))
    follow.wait_for_selector("#steps li")
    assert follow.locator("#steps li").count() == 3
    assert follow.locator("#steps li.done").inner_text().startswith("已收到 · Received")
    assert view["service_levels"]["decide_due"] in follow.locator("#service-level").inner_text()
    assert "72 小时内作出处理决定" in follow.locator("#service-level").inner_text()
    shot(follow, "report-follow-steps")
