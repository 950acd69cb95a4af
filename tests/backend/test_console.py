"""The console over HTTP: who may sign in, what each role may see and do, CSRF and the records page."""

from __future__ import annotations

import contextlib
import secrets

from tests.backend.casework import auth, console_login, console_sign_in, report
from tests.conftest import Server


def test_roles_in_the_console(embedded_server: Server) -> None:
    srv = embedded_server
    with srv.client() as http:
        case_id = report(http, sha256=secrets.token_hex(32), category="illegal",
                         description="<script>alert(1)</script>").json()["case_id"]
        assert http.get("/console/queue").headers["location"] == "/console/login"
        assert console_sign_in(http, "acct_nope", "x" * 12).status_code == 401
    auditor, auditor_csrf = console_login(srv, "auditor")
    with contextlib.closing(auditor):
        case_page = auditor.get(f"/console/cases/{case_id}")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in case_page.text and "<script>alert" not in case_page.text
        assert 'id="act"' not in case_page.text  # read-only: no action form
        refused = auditor.post(f"/console/cases/{case_id}/actions",
                               data={"csrf": auditor_csrf, "action": "dismiss", "reasons": "auditor tries to act"})
        assert refused.status_code == 403
        records = auditor.get("/console/records")
        assert records.status_code == 200 and "Audit chain intact" in records.text
        bundle = auditor.get("/console/records/export", params={"from": "2026-01-01", "to": "2099-12-31"})
        assert bundle.headers["content-type"] == "application/zip"
    moderator, csrf = console_login(srv, "moderator")
    with contextlib.closing(moderator):
        assert moderator.get("/console/records").status_code == 403
        no_token = moderator.post(f"/console/cases/{case_id}/actions",
                                  data={"action": "dismiss", "reasons": "no token in this form"})
        assert no_token.status_code == 403
        cross_site = moderator.post(f"/console/cases/{case_id}/actions", headers={"Origin": "https://evil.example"},
                                    data={"csrf": csrf, "action": "dismiss", "reasons": "posted from elsewhere"})
        assert cross_site.status_code == 403
        short = moderator.post(f"/console/cases/{case_id}/actions", data={"csrf": csrf, "action": "dismiss"})
        assert short.status_code == 400 and "statement of reasons" in short.text
        done = moderator.post(f"/console/cases/{case_id}/actions",
                              data={"csrf": csrf, "action": "dismiss", "reasons": "not illegal after review"})
        assert done.status_code == 200 and "not illegal after review" in done.text
        moderator.post("/console/logout", data={"csrf": csrf})
        assert moderator.get("/console/queue").url.path == "/console/login"
    # Publishers have no console.
    with srv.client() as http:
        me = http.get("/v1/accounts/me", headers=auth(srv, "publisher")).json()
        assert console_sign_in(http, me["id"], "x" * 12).status_code == 401
