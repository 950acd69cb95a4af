"""Case handling (Art. 12-14): the moderators' queue with service levels, and actions with reasons.

`apply` is one transaction: the case, the content's label state (and every registered copy's, for a
refutation or block), the publisher's account status, the action record and audit entries commit
together. What must happen outside the transaction (label cache invalidation, webhooks, the
fingerprint lists) is returned as `Effects` for the caller to carry out after the commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from backend import audit, registry, sessions
from backend.domain_errors import Conflict, InvalidInput, NotFound
from backend.store.db import utcnow
from backend.store.schema import accounts, api_keys, case_actions, cases, reports
from backend.vocabulary import (
    ACCOUNT_ACTIONS,
    CONTENT_ACTIONS,
    OPEN_CASE_STATUSES,
    CaseStatus,
    LabelState,
    ModerationAction,
)

# Content decisions close the case; `acknowledge` starts the clock on deciding.
ACTIONS = tuple(ModerationAction)
MIN_REASONS = 10
MAX_REASONS = 4000
MAX_PUBLIC_STATEMENT = 500
MAX_REFUTATION_TEXT = 500
MAX_REFUTATION_URL = 2000


@dataclass
class Effects:
    """Work for after the commit."""

    case_id: str
    action: ModerationAction
    content_ids: list[str] = field(default_factory=list)
    publisher_id: str | None = None
    fingerprint: tuple[str | None, str, str, str] | None = None  # (stored_path, mime, list_name, content_id)
    event: dict[str, Any] = field(default_factory=dict)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    aware = _aware(value)
    return aware.isoformat() if aware else None


def service_levels(row: Any, ack_hours: float, decide_hours: float, now: dt.datetime) -> dict[str, Any]:
    created = _aware(row.created_at)
    assert created is not None
    ack_due = created + dt.timedelta(hours=ack_hours)
    decide_due = created + dt.timedelta(hours=decide_hours)
    acked = _aware(row.acknowledged_at)
    decided = _aware(row.decided_at)
    overdue_ack = (acked or now) > ack_due
    overdue_decide = (decided or now) > decide_due
    return {
        "acknowledge_due": ack_due.isoformat(),
        "decide_due": decide_due.isoformat(),
        # Overdue while still pending, or if it was handled late.
        "overdue": row.status != CaseStatus.DECIDED and (
            (acked is None and overdue_ack) or overdue_decide),
        "overdue_acknowledge": acked is None and overdue_ack and row.status == CaseStatus.OPEN,
        "overdue_decide": row.status != CaseStatus.DECIDED and overdue_decide,
    }


def summary(row: Any, ack_hours: float, decide_hours: float, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "category": row.category,
        "severity": row.severity,
        "status": row.status,
        "content_id": row.content_id,
        "sha256": row.sha256,
        "media_url": row.media_url,
        "publisher_id": row.publisher_id,
        "report_count": row.report_count,
        "outcome": row.outcome,
        "outcome_reasons": row.outcome_reasons,
        "created_at": _iso(row.created_at),
        "acknowledged_at": _iso(row.acknowledged_at),
        "decided_at": _iso(row.decided_at),
        **service_levels(row, ack_hours, decide_hours, now),
    }


def queue(conn: Connection, ack_hours: float, decide_hours: float, status: str = "pending",
          limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Most severe first, then oldest first. `pending` means open or acknowledged."""
    query = select(cases)
    if status == "pending":
        query = query.where(cases.c.status.in_(OPEN_CASE_STATUSES))
    elif status != "all":
        query = query.where(cases.c.status == status)
    query = query.order_by(cases.c.severity.desc(), cases.c.created_at.asc(), cases.c.id).limit(limit).offset(offset)
    now = utcnow()
    return [summary(r, ack_hours, decide_hours, now) for r in conn.execute(query)]


def detail(conn: Connection, case_id: str, ack_hours: float, decide_hours: float) -> dict[str, Any]:
    row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
    if row is None:
        raise NotFound("unknown_case", "no such case")
    out = summary(row, ack_hours, decide_hours, utcnow())
    out["reports"] = [
        {"id": r.id, "category": r.category, "description": r.description, "content_id": r.content_id,
         "media_url": r.media_url, "sha256": r.sha256, "playback_time": r.playback_time, "contact": r.contact,
         "created_at": _iso(r.created_at)}
        for r in conn.execute(select(reports).where(reports.c.case_id == case_id).order_by(reports.c.created_at))
    ]
    out["actions"] = [
        {"action": a.action, "actor": a.actor, "reasons": a.reasons, "content_id": a.content_id,
         "account_id": a.account_id, "details": a.details, "at": _iso(a.created_at)}
        for a in conn.execute(select(case_actions).where(case_actions.c.case_id == case_id)
                              .order_by(case_actions.c.id))
    ]
    content = None
    if row.content_id:
        c = registry.by_id(conn, row.content_id)
        if c is not None:
            content = {"content_id": c.content_id, "sha256": c.sha256, "mime": c.mime, "title": c.title,
                       "generator": c.generator, "publisher": c.publisher_name, "publisher_id": c.publisher_id,
                       "label_state": c.label_state, "signature": c.signature,
                       # The console shows both: the reasons stay internal, the statement is public.
                       "internal_reason": (c.label_note or {}).get("reason"),
                       "public_statement": (c.label_note or {}).get("public_statement"),
                       "created_at": _iso(c.created_at), "has_media": bool(c.stored_path)}
    out["content"] = content
    publisher = None
    if row.publisher_id:
        p = conn.execute(select(accounts).where(accounts.c.id == row.publisher_id)).first()
        if p is not None:
            publisher = {"id": p.id, "name": p.name, "status": p.status,
                         "identity_verified": bool(p.identity_verified)}
    out["publisher"] = publisher
    return out


@dataclass(frozen=True)
class ActionRequest:
    action: ModerationAction
    reasons: str
    refutation: dict[str, str | None] | None = None
    # What players and the verify page show for a block or pause; the reasons stay internal.
    public_statement: str | None = None


def parse_action(body: Any) -> ActionRequest:
    if not isinstance(body, dict):
        raise InvalidInput("invalid_action", "the body must be a JSON object")
    action = body.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise InvalidInput("invalid_action", f"`action` must be one of {', '.join(ACTIONS)}")
    action = ModerationAction(action)
    reasons = body.get("reasons")
    reasons = reasons.strip() if isinstance(reasons, str) else ""
    if action != ModerationAction.ACKNOWLEDGE and len(reasons) < MIN_REASONS:
        raise InvalidInput("reasons_required",
                           f"a statement of reasons (at least {MIN_REASONS} characters) is required for `{action}`")
    if len(reasons) > MAX_REASONS:
        raise InvalidInput("reasons_too_long", f"reasons must be at most {MAX_REASONS} characters")
    statement = body.get("public_statement")
    if statement is not None and (not isinstance(statement, str) or len(statement.strip()) > MAX_PUBLIC_STATEMENT):
        raise InvalidInput("invalid_public_statement",
                           f"`public_statement` must be text of at most {MAX_PUBLIC_STATEMENT} characters")
    statement = (statement or "").strip() or None
    refutation = None
    if action == ModerationAction.REFUTE:
        raw = body.get("refutation")
        if not isinstance(raw, dict):
            raise InvalidInput("refutation_required",
                               "`refute` needs `refutation`: {\"zh\", \"en\" (the notice), \"url\" (the correction)}")
        url = raw.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > MAX_REFUTATION_URL:
            raise InvalidInput("invalid_refutation_url", "`refutation.url` must be the http(s) URL of the correction")
        texts = {k: raw.get(k) for k in ("zh", "en")}
        if any(v is not None and (not isinstance(v, str) or len(v) > MAX_REFUTATION_TEXT) for v in texts.values()) \
                or not any(isinstance(v, str) and v.strip() for v in texts.values()):
            raise InvalidInput("invalid_refutation_text",
                               "`refutation` needs the notice text in `zh` and/or `en` (at most 500 characters each)")
        refutation = {"zh": (texts["zh"] or "").strip() or None, "en": (texts["en"] or "").strip() or None,
                      "url": url}
    return ActionRequest(action, reasons, refutation, statement)


def _stop_note(req: ActionRequest, case_id: str) -> dict[str, Any]:
    return {"reason": req.reasons, "public_statement": req.public_statement, "case_id": case_id}


def apply(conn: Connection, case_id: str, req: ActionRequest, actor: str) -> Effects:
    row = conn.execute(select(cases).where(cases.c.id == case_id).with_for_update()).first()
    if row is None:
        raise NotFound("unknown_case", "no such case")
    now = utcnow()
    effects = Effects(case_id, req.action, publisher_id=row.publisher_id)
    content = registry.by_id(conn, row.content_id) if row.content_id else None
    details: dict[str, Any] = {}
    account_id = None
    if req.action == ModerationAction.ACKNOWLEDGE:
        if row.status != CaseStatus.OPEN:
            raise Conflict("case_not_open", f"the case is {row.status}, not open")
        conn.execute(cases.update().where(cases.c.id == case_id)
                     .values(status=CaseStatus.ACKNOWLEDGED, acknowledged_at=now, updated_at=now))
    elif req.action in CONTENT_ACTIONS:
        if req.action != ModerationAction.DISMISS and content is None:
            raise Conflict("no_registered_content",
                           "this case's media is not in the registry; only `dismiss` or account actions apply")
        if content is None:
            pass
        elif req.action == ModerationAction.STOP_UNTIL_LABELLED:
            effects.content_ids = [content.content_id]
            registry.set_label(conn, effects.content_ids, LabelState.PENDING_LABEL, _stop_note(req, case_id), now)
        elif req.action == ModerationAction.LABEL:
            # The content now carries an AI-generated label: the signed-synthetic display, with the
            # signature field still saying whether a signature backs it.
            effects.content_ids = [content.content_id]
            registry.set_label(conn, effects.content_ids, None, {"labelled": {"by": actor, "case": case_id}}, now,
                               synthetic=True)
        elif req.action == ModerationAction.BLOCK:
            effects.content_ids = registry.copies(conn, content)
            registry.set_label(conn, effects.content_ids, LabelState.BLOCKED, _stop_note(req, case_id), now)
            effects.fingerprint = (content.stored_path, content.mime, "prohibited", content.content_id)
        elif req.action == ModerationAction.REFUTE:
            effects.content_ids = registry.copies(conn, content)
            registry.set_label(conn, effects.content_ids, LabelState.REFUTED,
                               {"reason": req.reasons, "refutation": req.refutation, "case_id": case_id}, now)
            effects.fingerprint = (content.stored_path, content.mime, "refuted", content.content_id)
            details["refutation"] = req.refutation
        details["content_ids"] = effects.content_ids
        conn.execute(cases.update().where(cases.c.id == case_id).values(
            status=CaseStatus.DECIDED, outcome=req.action, outcome_reasons=req.reasons, decided_at=now,
            acknowledged_at=row.acknowledged_at or now, updated_at=now))
    else:
        account_id = row.publisher_id
        if account_id is None:
            raise Conflict("no_publisher", "this case's media has no registered publisher to act on")
        new_status = ACCOUNT_ACTIONS[req.action]
        old = conn.execute(select(accounts.c.status).where(accounts.c.id == account_id)).scalar()
        conn.execute(accounts.update().where(accounts.c.id == account_id).values(status=new_status))
        if new_status in ("suspended", "closed"):
            sessions.revoke_account(conn, account_id, f"account_{new_status}")
        if req.action == ModerationAction.CLOSE:
            conn.execute(api_keys.update().where(api_keys.c.account_id == account_id,
                                                 api_keys.c.revoked_at.is_(None)).values(revoked_at=now))
        details.update({"from": old, "to": new_status})
        audit.append(conn, actor, f"account.{req.action}", account_id,
                     {"case_id": case_id, "reasons": req.reasons, "from": old, "to": new_status})
    conn.execute(case_actions.insert().values(
        case_id=case_id, action=req.action, actor=actor, reasons=req.reasons, content_id=row.content_id,
        account_id=account_id, details=details, created_at=now))
    audit.append(conn, actor, f"case.{req.action}", case_id,
                 {"reasons": req.reasons, "content_id": row.content_id, **details})
    effects.event = {"event": f"case.{req.action}", "case_id": case_id, "category": row.category,
                     "content_id": row.content_id, "content_ids": effects.content_ids,
                     "account_id": row.publisher_id, "reasons": req.reasons, "details": details,
                     "at": now.isoformat()}
    return effects


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(cases.c.status, func.count()).group_by(cases.c.status)).all()
    return {status: int(n) for status, n in rows}
