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
    for _ in range(5):
        page.keyboard.press("Tab")
        seen.append(deep_focus(page))
    assert seen == ["select", "textarea", "input", "button|Cancel", "button|Send report", "select"], seen
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
    page.keyboard.press("ArrowDown")  # second category: deepfake impersonation
    page.keyboard.press("Tab")
    page.keyboard.type("Face swap of a real person <script>x</script>")
    page.keyboard.press("Tab")
    page.keyboard.type("viewer@example.com")
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
    assert report.get("category") == "deepfake_impersonation"
    assert abs(float(report.get("playback_time")) - 2.5) < 0.3
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
