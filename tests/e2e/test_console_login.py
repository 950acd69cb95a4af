"""The console in real Chromium (issue 14, "a console moderators can live in"): staff sign in by username
and password with a TOTP code computed by pyotp from the enrolled secret; a replayed code is refused; an
admin without a second factor is made to enrol before anything else; a suspension shows a confirmation
naming the account before it takes effect, and cancelling leaves the account active; and the zh console
(queue, a case, metrics) shows no stored enum word."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from playwright.sync_api import Browser, Page

from backend.web import demo_media
from tests.backend.casework import act, auth, new_staff, raw_enum_words, report
from tests.conftest import Server
from tests.e2e.conftest import sign_file
from tests.e2e.console_pages import sign_in, staff_password

pytestmark = pytest.mark.browser
Shot = Callable[..., Path]


def _page(browser: Browser, problems: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("console", lambda m: m.type == "error" and "Content Security Policy" in m.text
            and problems.append(f"console: {m.text}"))
    return page


def _password_step(page: Page, server: Server, login: str, password: str) -> None:
    page.goto(f"{server.url}/console/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")


def test_totp_sign_in_and_a_replayed_code_is_refused(browser: Browser, server: Server, shot: Shot) -> None:
    name = "e2e-mod-" + secrets.token_hex(3)
    account_id, password = new_staff(server, "moderator", name)
    uri = server.cli("accounts", "totp-enrol", account_id).stdout.strip()
    totp = pyotp.TOTP(parse_qs(urlsplit(uri).query)["secret"][0])
    used = totp.now()
    server.cli("accounts", "totp-confirm", account_id, used)  # the enrolment's first code, now spent
    problems: list[str] = []
    page = _page(browser, problems)
    try:
        _password_step(page, server, name, password)
        page.wait_for_url("**/console/login/code")
        assert page.locator("#code").is_visible()
        page.fill("#code", used)
        page.click("#code-form button[type=submit]")
        alert = page.locator("[role=alert]")
        alert.wait_for()
        assert "已使用" in alert.inner_text()
        assert page.url.endswith("/console/login/code")
        shot(page, "replayed-code-refused")
        page.goto(f"{server.url}/console/queue")
        assert urlsplit(page.url).path == "/console/login"  # no session from a refused code
        _password_step(page, server, name, password)
        page.wait_for_url("**/console/login/code")
        page.fill("#code", totp.at(time.time() + 30))  # the next step's code: within the ±1 step window
        page.click("#code-form button[type=submit]")
        page.wait_for_url("**/console/queue")
        assert page.locator("#queue").is_visible() and page.get_attribute("html", "lang") == "zh"
        shot(page, "signed-in-with-totp")
    finally:
        page.context.close()
    assert problems == []


def test_an_admin_without_totp_is_made_to_enrol(browser: Browser, server: Server, shot: Shot) -> None:
    name = "e2e-admin-" + secrets.token_hex(3)
    _, password = new_staff(server, "admin", name)
    problems: list[str] = []
    page = _page(browser, problems)
    try:
        _password_step(page, server, name, password)
        page.wait_for_url("**/console/login/enrol")
        assert page.locator("#enrol-required").is_visible()
        shot(page, "admin-asked-to-enrol")
        page.goto(f"{server.url}/console/queue")
        assert urlsplit(page.url).path == "/console/login"  # refused until enrolled
        _password_step(page, server, name, password)
        page.wait_for_url("**/console/login/enrol")
        secret = page.locator("#totp-secret").inner_text()
        assert page.locator("#otpauth-uri").get_attribute("href") == pyotp.TOTP(secret).provisioning_uri(
            name=name, issuer_name="avlabel console")
        page.fill("#code", pyotp.TOTP(secret).now())
        page.click("#enrol-form button[type=submit]")
        page.wait_for_url("**/console/queue")
        assert page.locator("#queue").is_visible()
        shot(page, "admin-enrolled-and-signed-in")
    finally:
        page.context.close()
    assert problems == []


def test_a_suspension_shows_the_account_before_it_takes_effect(browser: Browser, server: Server, media_dir: Path,
                                                               shot: Shot) -> None:
    studio = f"E2E Suspend Studio {secrets.token_hex(3)}"
    server.keys[studio] = server.create_account("publisher", studio)
    path = demo_media.picture(media_dir / f"suspend-{secrets.token_hex(3)}.png", 5000 + secrets.randbelow(10**6))
    cid = sign_file(server, path, f"e2e-suspend-{secrets.token_hex(3)}", key=studio)
    with server.client() as http:
        case_id = report(http, content_id=cid, category="deepfake_impersonation",
                         description="冒充他人的视频").json()["case_id"]
        publisher = http.get("/v1/accounts/me", headers=auth(server, studio)).json()["id"]

    def status() -> str:
        with server.client() as http:
            value: str = http.get(f"/v1/accounts/{publisher}", headers=auth(server, "admin")).json()["status"]
        return value

    problems: list[str] = []
    page = _page(browser, problems)
    try:
        sign_in(page, server, *staff_password(server, "moderator"), lang="zh")
        page.goto(f"{server.url}/console/cases/{case_id}")
        # Dismiss is one click away in the ordinary form; suspend is not among its choices.
        assert page.locator("#action option[value=dismiss]").count() == 1
        assert page.locator("#action option[value=suspend]").count() == 0
        page.select_option("#destructive_action", "suspend")
        page.fill("#destructive_reasons", "反复上传未添加标识的冒充视频")
        page.click("#act-destructive button[type=submit]")
        page.wait_for_selector("#confirm-scope")
        scope = page.locator("#confirm-scope").inner_text()
        assert studio in scope and publisher in scope and "正常" in scope and "暂停" in scope
        assert status() == "active"  # nothing happened yet
        shot(page, "suspension-confirmation", full_page=True)
        page.click("#cancel")
        page.wait_for_url(f"**/console/cases/{case_id}")
        assert status() == "active"
        page.select_option("#destructive_action", "suspend")
        page.fill("#destructive_reasons", "反复上传未添加标识的冒充视频")
        page.click("#act-destructive button[type=submit]")
        page.wait_for_selector("#confirm-scope")
        page.click("#confirm-button")
        page.wait_for_url(f"**/console/cases/{case_id}")
        assert status() == "suspended"
        assert "已暂停" in page.locator("[data-field=publisher]").inner_text()
        shot(page, "suspended")
    finally:
        page.context.close()
    assert problems == []


def test_the_zh_console_shows_no_raw_enum(browser: Browser, server: Server, media_dir: Path, shot: Shot) -> None:
    path = demo_media.picture(media_dir / f"zh-{secrets.token_hex(3)}.png", 5000 + secrets.randbelow(10**6))
    cid = sign_file(server, path, f"e2e-zh-{secrets.token_hex(3)}")
    with server.client() as http:
        case_id = report(http, content_id=cid, category="unlabelled_ai", description="没有AI标识").json()["case_id"]
        paused = act(http, server, case_id, "stop_until_labelled", reasons="暂停传播，等待发布者添加标识")
        assert paused.status_code == 201
        report(http, sha256=secrets.token_hex(32), category="illegal", description="违法内容举报")
    problems: list[str] = []
    page = _page(browser, problems)
    try:
        sign_in(page, server, *staff_password(server, "moderator"), lang="zh")
        for label, url in (("queue", "/console/queue?status=all"), ("case", f"/console/cases/{case_id}"),
                           ("metrics", "/console/metrics")):
            page.goto(f"{server.url}{url}")
            assert page.get_attribute("html", "lang") == "zh"
            text = page.locator("body").inner_text()
            assert raw_enum_words(text) == set(), (label, raw_enum_words(text))
            shot(page, f"zh-{label}", full_page=True)
        page.goto(f"{server.url}/console/cases/{case_id}")
        facts = page.locator("main").inner_text()
        assert "未添加AI标识" in facts and "暂停传播，待添加标识" in facts and "已处理" in facts
    finally:
        page.context.close()
    assert problems == []


def test_queue_filters_keys_and_a_blurred_illegal_preview(browser: Browser, server: Server, media_dir: Path,
                                                         shot: Shot) -> None:
    path = demo_media.picture(media_dir / f"blur-{secrets.token_hex(3)}.png", 5000 + secrets.randbelow(10**6))
    cid = sign_file(server, path, f"e2e-blur-{secrets.token_hex(3)}")
    with server.client() as http:
        case_id = report(http, content_id=cid, category="illegal", description="违法内容").json()["case_id"]
    problems: list[str] = []
    page = _page(browser, problems)
    try:
        sign_in(page, server, *staff_password(server, "moderator"), lang="zh")
        page.select_option("#filter-category", "illegal")
        page.click("#filters button[type=submit]")
        page.wait_for_url("**/console/queue?*category=illegal*")
        categories = set(page.locator("#queue tbody td[data-field=category]").all_inner_texts())
        assert categories == {"违法内容"}
        ids = [r.get_attribute("data-case-id") for r in page.locator("#queue tbody tr[data-case-id]").all()]
        assert case_id in ids
        page.locator("body").click(position={"x": 5, "y": 300})  # focus on the page, not a form field
        for _ in range(ids.index(case_id) + 1):
            page.keyboard.press("j")
        assert page.locator("#queue tr.selected").get_attribute("data-case-id") == case_id
        shot(page, "queue-filtered-selected")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/console/cases/{case_id}")
        image = page.locator("#preview img")
        image.wait_for()
        assert "blur" in image.evaluate("el => getComputedStyle(el).filter")
        shot(page, "illegal-preview-blurred")
        page.click("label[for=reveal-media]")
        assert image.evaluate("el => getComputedStyle(el).filter") == "none"
        shot(page, "illegal-preview-shown")
    finally:
        page.context.close()
    assert problems == []
