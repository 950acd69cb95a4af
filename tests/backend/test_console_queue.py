"""The console queue's filters (status, category, overdue, assignee) and assigning a case (issue 14)."""

from __future__ import annotations

import contextlib
import re
import secrets

from backend import case_queue
from tests.backend.casework import auth, console_login, report
from tests.conftest import InProcess, Server


def _ids(html: str) -> set[str]:
    return set(re.findall(r'<tr data-case-id="([^"]+)"', html))


def test_filters_and_assignment_in_the_console(embedded_server: Server) -> None:
    srv = embedded_server
    with srv.client() as http:
        illegal = report(http, sha256=secrets.token_hex(32), category="illegal", description="q1").json()["case_id"]
        rumour = report(http, sha256=secrets.token_hex(32), category="rumour", description="q2").json()["case_id"]
        publisher = http.get("/v1/accounts/me", headers=auth(srv, "publisher")).json()["id"]
    moderator, csrf = console_login(srv, "moderator")
    with contextlib.closing(moderator):
        by_category = moderator.get("/console/queue", params={"category": "illegal", "status": "all"}).text
        assert illegal in _ids(by_category) and rumour not in _ids(by_category)
        assert '<option value="illegal" selected>Illegal content</option>' in by_category
        done = moderator.post(f"/console/cases/{illegal}/assign", data={"csrf": csrf, "assignee": "me"})
        assert done.status_code == 200 and '<dd data-field="assignee">Test Moderator</dd>' in done.text
        mine = moderator.get("/console/queue", params={"assignee": "me"}).text
        assert _ids(mine) >= {illegal} and rumour not in _ids(mine)
        unassigned = moderator.get("/console/queue", params={"assignee": "none"}).text
        assert rumour in _ids(unassigned) and illegal not in _ids(unassigned)
        refused = moderator.post(f"/console/cases/{rumour}/assign", data={"csrf": csrf, "assignee": publisher})
        assert refused.status_code == 400 and "active moderator or admin" in refused.text
        assert moderator.post(f"/console/cases/{rumour}/assign", data={"assignee": "me"}).status_code == 403
        queue = moderator.get("/console/queue").text
        assert 'src="/static/console_queue.js"' in queue and 'id="shortcuts"' in queue
    auditor, auditor_csrf = console_login(srv, "auditor")
    with contextlib.closing(auditor):
        assert auditor.post(f"/console/cases/{rumour}/assign",
                            data={"csrf": auditor_csrf, "assignee": "me"}).status_code == 403
    with srv.client() as http:
        entries = http.get("/v1/audit/entries", params={"limit": 1000}, headers=auth(srv, "auditor")).json()
        assigned = [e for e in entries["entries"] if e.get("action") == "case.assigned" and e.get("subject") == illegal]
        assert assigned, [e.get("action") for e in entries["entries"]][-5:]


def test_the_overdue_filter_keeps_pending_cases_past_a_due_time(in_process: InProcess) -> None:
    with in_process.client() as http:
        late = report(http, sha256=secrets.token_hex(32), category="other", description="q3").json()["case_id"]
    db = in_process.http.app.state.services.db  # type: ignore[attr-defined]
    with db.read() as conn:
        # With service levels of a few nanoseconds every pending case is overdue; with a year, none is.
        tiny = case_queue.queue(conn, 1e-12, 1e-12, case_queue.Filters(overdue=True))
        year = case_queue.queue(conn, 24 * 365, 24 * 365, case_queue.Filters(overdue=True))
    assert late in {c["id"] for c in tiny} and all(c["overdue"] for c in tiny)
    assert late not in {c["id"] for c in year}
