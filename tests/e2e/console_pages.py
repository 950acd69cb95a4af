"""Signing in to the console in Chromium: username + password (+ a TOTP code), then the staff member's language."""

from __future__ import annotations

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tests.backend.casework import set_console_password
from tests.conftest import Server


def staff_password(server: Server, role: str) -> tuple[str, str]:
    """(username, password) of the staff account behind the role's key, with a fresh password."""
    return set_console_password(server, role)


def sign_in(page: Page, server: Server, login: str, password: str, lang: str = "en") -> None:
    """Signs in from the sign-in page and switches the console to `lang` with its language button."""
    page.goto(f"{server.url}/console/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    try:
        page.wait_for_url("**/console/queue")
    except PlaywrightError as exc:  # say what the console answered instead (a 401 or 429 page), not only "timeout"
        raise AssertionError(f"sign-in as {login!r} stayed at {page.url}: {page.inner_text('body')[:400]!r}") from exc
    if page.get_attribute("html", "lang") != lang:
        page.click("#locale-switch")
        page.wait_for_url("**/console/queue**")
    assert page.get_attribute("html", "lang") == lang
