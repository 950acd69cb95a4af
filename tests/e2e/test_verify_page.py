"""The verification pages in real Chromium: upload a signed and an unsigned file on /verify (file input and
drag and drop), read the answer in words, follow the link to /verify/{id} with its thumbnail, tier words and
issuer; hostile manifest strings stay text."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from backend.web import demo_media
from tests.conftest import Server
from tests.e2e.conftest import HOSTILE, RESULT_SHOWN, Signed, wait_js

pytestmark = pytest.mark.browser
Shot = Callable[..., Path]


def _signed_bytes(server: Server, content_id: str, ext: str, dest: Path) -> Path:
    dest.write_bytes(httpx.get(f"{server.url}/media/{content_id}.{ext}").raise_for_status().content)
    return dest


def _field(page: Page, name: str) -> str:
    return page.locator(f'#result [data-field="{name}"]').inner_text()


def test_upload_a_signed_file_shows_its_tier_and_links_its_page(page: Page, server: Server, signed: Signed,
                                                                media_dir: Path, shot: Shot) -> None:
    path = _signed_bytes(server, signed.image, "png", media_dir / "upload-signed.png")
    page.goto(f"{server.url}/verify?lang=en")
    page.set_input_files("#file", str(path))
    wait_js(page, RESULT_SHOWN, timeout=30_000)
    assert page.locator("#result").get_attribute("data-tier") == "ai_generated"
    assert page.locator("#result-tier").inner_text() == "AI-generated content"
    assert page.locator("#result-tier-other").inner_text() == "本内容由人工智能生成"
    assert _field(page, "trust") == "trusted"
    assert "avlabel" in _field(page, "issuer").lower()
    link = page.locator("#details-link")
    assert link.is_visible()
    assert link.get_attribute("href") == f"/verify/{signed.image}?lang=en"
    shot(page, "verify-upload-signed", full_page=True)

    link.click()
    page.wait_for_url(f"**/verify/{signed.image}?lang=en")
    wait_js(page, "() => { const i = document.getElementById('thumbnail'); return i && i.complete "
                  "&& i.naturalWidth > 0; }")
    assert page.locator("#tier-words").inner_text() == "AI-generated content"
    facts = page.locator("#facts").inner_text()
    assert "Issuer" in facts and "Test Studio" in facts and "trusted" in facts
    assert page.locator("#report-button").is_visible()
    assert page.locator("#model-cards tbody tr").count() >= 1
    shot(page, "verify-detail-en", full_page=True)
    page.click("#lang-switch")
    page.wait_for_url("**lang=zh")
    assert page.locator("#tier-words").inner_text() == "本内容由人工智能生成"
    assert "签发方" in page.locator("#facts").inner_text()
    shot(page, "verify-detail-zh", full_page=True)

    # The Report button leads to the report form, which posts to the report flow and links its tracking page.
    page.click("#report-button")
    page.select_option("#report-category", "wrong_ai_label")
    assert page.locator("#report-category option:checked").inner_text() == "AI标识错误"
    page.fill("#report-description", "这张图片并非AI生成")
    page.click("#report button[type=submit]")
    assert page.locator("#report-status").inner_text() == "请勾选善意声明后再提交。"
    page.check("#report-good-faith")
    page.click("#report button[type=submit]")
    page.wait_for_selector("#report-done:not([hidden])")
    assert page.locator("#report-status").inner_text() == "举报已收到。"
    assert (page.locator("#report-follow").get_attribute("href") or "").startswith("/reports/r_")


def test_drop_an_unsigned_file_shows_no_label(page: Page, server: Server, media_dir: Path, shot: Shot) -> None:
    plain = demo_media.picture(media_dir / "unsigned-upload.png", 21, size=(320, 200))
    page.goto(f"{server.url}/verify?lang=zh")
    # A real drop event carrying the file, as a person dragging it from their desktop sends.
    page.evaluate("""(b64) => { const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer(); dt.items.add(new File([bytes], 'plain.png', {type: 'image/png'}));
        const zone = document.getElementById('upload');
        zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
        zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})); }""",
                  base64.b64encode(plain.read_bytes()).decode())
    wait_js(page, RESULT_SHOWN, timeout=60_000)
    assert page.locator("#result").get_attribute("data-verdict") == "unsigned"
    assert page.locator("#result").get_attribute("data-tier") == "none"
    assert page.locator("#result-tier").inner_text().startswith("未检测到AI标识")
    assert _field(page, "verdict") == "未签名：没有内容凭证"
    assert _field(page, "trust") == "无（没有内容凭证）"
    assert page.locator("#unregistered").is_visible() and not page.locator("#registered").is_visible()
    shot(page, "verify-upload-unsigned", full_page=True)


def test_hostile_manifest_strings_render_as_text(page: Page, server: Server, signed: Signed, media_dir: Path,
                                                 shot: Shot) -> None:
    path = _signed_bytes(server, signed.hostile, "png", media_dir / "upload-hostile.png")
    page.goto(f"{server.url}/verify?lang=en")
    page.set_input_files("#file", str(path))
    wait_js(page, RESULT_SHOWN, timeout=30_000)
    assert _field(page, "generator") == HOSTILE
    assert page.locator("#result img").count() == 0
    page.goto(f"{server.url}/verify/{signed.hostile}?lang=en")
    assert HOSTILE in page.locator("#facts").inner_text()
    assert HOSTILE in page.locator("#chain").inner_text()  # the manifest's title, as text
    assert page.locator("main img").count() == 1  # only the thumbnail
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert "pwned" not in page.title()
    shot(page, "verify-detail-hostile", full_page=True)
