"""A viewer checks an unsigned picture on /verify in real Chromium and reports it with "attach the file I
just checked" (ticked by default, since the file is not registered): the case exists with the file as its
evidence, which moderators see and the public does not."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from backend.web import demo_media
from tests.backend.casework import auth
from tests.conftest import Server
from tests.e2e.conftest import RESULT_SHOWN, wait_js

pytestmark = pytest.mark.browser
SENT = "() => { const d = document.getElementById('report-done'); return d && !d.hidden; }"


def test_check_an_unsigned_picture_and_report_it_with_the_file(page: Page, server: Server, tmp_path: Path) -> None:
    picture = demo_media.picture(tmp_path / "seen-online.png", 77, size=(320, 240))
    blob = picture.read_bytes()
    sha = hashlib.sha256(blob).hexdigest()
    page.goto(f"{server.url}/verify?lang=en")
    assert not page.locator("#report").is_visible()  # nothing to report before a check
    page.set_input_files("#file", str(picture))
    wait_js(page, RESULT_SHOWN, timeout=60_000)
    assert page.locator("#unregistered").is_visible()
    attach = page.locator("#report-attach")
    assert attach.is_visible() and attach.is_checked()  # unregistered: the file is what moderators need
    assert page.locator("#report-attach-row").inner_text().startswith("Attach the file I just checked")
    page.select_option("#report-category", "deepfake_impersonation")
    page.fill("#report-description", "This picture shows me, and I never posed for it")
    page.click("#report button[type=submit]")
    assert page.locator("#report-status").inner_text() == "Tick the good-faith statement to send the report."
    page.check("#report-good-faith")
    page.click("#report button[type=submit]")
    wait_js(page, SENT, timeout=30_000)
    assert page.locator("#report-status").inner_text() == "Report received."
    follow = page.locator("#report-follow").get_attribute("href") or ""
    report_id, secret = follow.removeprefix("/reports/").split("#secret=")

    with httpx.Client(base_url=server.url, timeout=60) as http:
        mine = http.get(f"/v1/reports/{report_id}", headers={"Authorization": f"Bearer {secret}"}).json()
        assert mine["category"] == "deepfake_impersonation" and mine["sha256"] == sha
        assert mine["attachment"] == {"mime": "image/png", "size": len(blob), "sha256": sha}
        cases = http.get("/v1/cases", params={"status": "all", "limit": 500}, headers=auth(server, "moderator"))
        case = next(c for c in cases.json()["cases"] if c["sha256"] == sha)
        detail = http.get(f"/v1/cases/{case['id']}", headers=auth(server, "moderator")).json()
        assert [r["attachment"] for r in detail["reports"]] == [{"mime": "image/png", "size": len(blob),
                                                                 "sha256": sha}]
        # The evidence is on disk, privately; the public gets nothing of it.
        kept = [p for p in (server.data_dir / "evidence").iterdir() if p.is_file() and p.read_bytes() == blob]
        assert len(kept) == 1
        assert http.get(f"/console/cases/{case['id']}/reports/{report_id}/file").status_code == 401
