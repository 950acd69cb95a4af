"""The case page's history: reports, actions, appeals and webhooks of a case on one timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from backend.store.schema import appeals, webhook_outbox
from backend.web.console_words import word

HISTORY_LIMIT = 200


def timeline(conn: Any, case: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Reports, actions, appeals and webhooks of a case, oldest first, in the reader's words."""
    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    events: list[dict[str, Any]] = []
    for r in case["reports"]:
        events.append({"kind": "report", "at": r["created_at"], "by": None, "text": r["description"],
                       "title": t("收到举报", "Report received") + " · " + word("Category", r["category"], lang)})
    for a in case["actions"]:
        events.append({"kind": "action", "at": a["at"], "by": a["actor"], "text": a["reasons"],
                       "title": word("Action", a["action"], lang)})
    rows = conn.execute(select(appeals).where(or_(appeals.c.original_case_id == case["id"],
                                                  appeals.c.case_id == case["id"])).limit(HISTORY_LIMIT))
    for ap in rows:
        events.append({"kind": "appeal", "at": ap.created_at.isoformat(), "by": None, "text": ap.grounds,
                       "title": word("AppealKind", ap.kind, lang) + " · " + word("AppealStatus", ap.status, lang)})
        if ap.decided_at is not None:
            events.append({"kind": "appeal_decided", "at": ap.decided_at.isoformat(), "by": ap.decided_by,
                           "text": ap.outcome_reasons, "title": t("申诉决定", "Appeal decided") + " · "
                           + word("AppealOutcome", ap.outcome, lang)})
    publisher = case["publisher_id"]
    if publisher:
        hooks = conn.execute(select(webhook_outbox).where(webhook_outbox.c.account_id == publisher)
                             .order_by(webhook_outbox.c.id.desc()).limit(HISTORY_LIMIT))
        for h in hooks:
            payload = h.payload or {}
            if payload.get("case_id") != case["id"]:
                continue
            action = str(h.event).split(".", 1)[-1]
            events.append({"kind": "webhook", "at": h.created_at.isoformat(), "by": None, "text": None,
                           "title": t("通知发布者", "Publisher notified") + " · " + word("Action", action, lang)
                           + " · " + word("DeliveryStatus", h.status, lang)})
    events.sort(key=lambda e: str(e["at"]))
    return events
