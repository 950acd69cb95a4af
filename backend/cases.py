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

from sqlalchemy import Connection, func, or_, select

from backend import audit
from backend.errors import ApiError
from backend.store.db import utcnow
from backend.store.schema import accounts, api_keys, case_actions, cases, contents, reports

# Content decisions close the case; `acknowledge` starts the clock on deciding.
CONTENT_ACTIONS = ("dismiss", "stop_until_labelled", "label", "block", "refute")
ACCOUNT_ACTIONS = {"warn": "warned", "restrict": "restricted", "suspend": "suspended", "close": "closed",
                   "reinstate": "active"}
ACTIONS = ("acknowledge", *CONTENT_ACTIONS, *ACCOUNT_ACTIONS)
MIN_REASONS = 10
MAX_REASONS = 4000
MAX_REFUTATION_TEXT = 500
MAX_REFUTATION_URL = 2000


@dataclass
class Effects:
    """Work for after the commit."""

    case_id: str
    action: str
    content_ids: list[str] = field(default_factory=list)
    publisher_id: str | None = None
    fingerprint: tuple[str, str, str, str] | None = None  # (stored_path, mime, list_name, content_id)
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
        "overdue": row.status != "decided" and (
            (acked is None and overdue_ack) or overdue_decide),
        "overdue_acknowledge": acked is None and overdue_ack and row.status == "open",
        "overdue_decide": row.status != "decided" and overdue_decide,
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
        query = query.where(cases.c.status.in_(("open", "acknowledged")))
    elif status != "all":
        query = query.where(cases.c.status == status)
    query = query.order_by(cases.c.severity.desc(), cases.c.created_at.asc(), cases.c.id).limit(limit).offset(offset)
    now = utcnow()
    return [summary(r, ack_hours, decide_hours, now) for r in conn.execute(query)]


def detail(conn: Connection, case_id: str, ack_hours: float, decide_hours: float) -> dict[str, Any]:
    row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
    if row is None:
        raise ApiError(404, "unknown_case", "no such case")
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
        c = conn.execute(select(contents).where(contents.c.content_id == row.content_id)).first()
        if c is not None:
            content = {"content_id": c.content_id, "sha256": c.sha256, "mime": c.mime, "title": c.title,
                       "generator": c.generator, "publisher": c.publisher_name, "publisher_id": c.publisher_id,
                       "label_state": c.label_state, "signature": c.signature,
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
    action: str
    reasons: str
    refutation: dict[str, str | None] | None = None


def parse_action(body: Any) -> ActionRequest:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_action", "the body must be a JSON object")
    action = body.get("action")
    if action not in ACTIONS:
        raise ApiError(400, "invalid_action", f"`action` must be one of {', '.join(ACTIONS)}")
    reasons = body.get("reasons")
    reasons = reasons.strip() if isinstance(reasons, str) else ""
    if action != "acknowledge" and len(reasons) < MIN_REASONS:
        raise ApiError(400, "reasons_required",
                       f"a statement of reasons (at least {MIN_REASONS} characters) is required for `{action}`")
    if len(reasons) > MAX_REASONS:
        raise ApiError(400, "reasons_too_long", f"reasons must be at most {MAX_REASONS} characters")
    refutation = None
    if action == "refute":
        raw = body.get("refutation")
        if not isinstance(raw, dict):
            raise ApiError(400, "refutation_required",
                           "`refute` needs `refutation`: {\"zh\", \"en\" (the notice), \"url\" (the correction)}")
        url = raw.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > MAX_REFUTATION_URL:
            raise ApiError(400, "invalid_refutation_url", "`refutation.url` must be the http(s) URL of the correction")
        texts = {k: raw.get(k) for k in ("zh", "en")}
        if any(v is not None and (not isinstance(v, str) or len(v) > MAX_REFUTATION_TEXT) for v in texts.values()) \
                or not any(isinstance(v, str) and v.strip() for v in texts.values()):
            raise ApiError(400, "invalid_refutation_text",
                           "`refutation` needs the notice text in `zh` and/or `en` (at most 500 characters each)")
        refutation = {"zh": (texts["zh"] or "").strip() or None, "en": (texts["en"] or "").strip() or None,
                      "url": url}
    return ActionRequest(action, reasons, refutation)


def _copies(conn: Connection, content: Any) -> list[str]:
    """The content and every registered copy of it: same signed or input bytes."""
    hashes = {h for h in (content.sha256, content.input_sha256) if h}
    rows = conn.execute(select(contents.c.content_id).where(
        or_(contents.c.sha256.in_(hashes), contents.c.input_sha256.in_(hashes)))).scalars()
    return sorted({content.content_id, *rows})


def _set_label(conn: Connection, content_ids: list[str], state: str | None, note: dict[str, Any] | None,
               now: dt.datetime, **extra: Any) -> None:
    conn.execute(contents.update().where(contents.c.content_id.in_(content_ids))
                 .values(label_state=state, label_note=note, updated_at=now, **extra))


def apply(conn: Connection, case_id: str, req: ActionRequest, actor: str) -> Effects:
    row = conn.execute(select(cases).where(cases.c.id == case_id).with_for_update()).first()
    if row is None:
        raise ApiError(404, "unknown_case", "no such case")
    now = utcnow()
    effects = Effects(case_id, req.action, publisher_id=row.publisher_id)
    content: Any = None
    if row.content_id:
        content = conn.execute(select(contents).where(contents.c.content_id == row.content_id)).first()
    details: dict[str, Any] = {}
    account_id = None
    if req.action == "acknowledge":
        if row.status != "open":
            raise ApiError(409, "case_not_open", f"the case is {row.status}, not open")
        conn.execute(cases.update().where(cases.c.id == case_id)
                     .values(status="acknowledged", acknowledged_at=now, updated_at=now))
    elif req.action in CONTENT_ACTIONS:
        if req.action != "dismiss" and content is None:
            raise ApiError(409, "no_registered_content",
                           "this case's media is not in the registry; only `dismiss` or account actions apply")
        if req.action == "stop_until_labelled":
            effects.content_ids = [content.content_id]
            _set_label(conn, effects.content_ids, "pending_label", {"reason": req.reasons}, now)
        elif req.action == "label":
            # The content now carries an AI-generated label: the signed-synthetic display, with the
            # signature field still saying whether a signature backs it.
            effects.content_ids = [content.content_id]
            _set_label(conn, effects.content_ids, None, {"labelled": {"by": actor, "case": case_id}}, now,
                       synthetic=True)
        elif req.action == "block":
            effects.content_ids = _copies(conn, content)
            _set_label(conn, effects.content_ids, "blocked", {"reason": req.reasons}, now)
            effects.fingerprint = (content.stored_path, content.mime, "prohibited", content.content_id)
        elif req.action == "refute":
            effects.content_ids = _copies(conn, content)
            _set_label(conn, effects.content_ids, "refuted",
                       {"reason": req.reasons, "refutation": req.refutation}, now)
            effects.fingerprint = (content.stored_path, content.mime, "refuted", content.content_id)
            details["refutation"] = req.refutation
        details["content_ids"] = effects.content_ids
        conn.execute(cases.update().where(cases.c.id == case_id).values(
            status="decided", outcome=req.action, outcome_reasons=req.reasons, decided_at=now,
            acknowledged_at=row.acknowledged_at or now, updated_at=now))
    else:
        account_id = row.publisher_id
        if account_id is None:
            raise ApiError(409, "no_publisher", "this case's media has no registered publisher to act on")
        new_status = ACCOUNT_ACTIONS[req.action]
        old = conn.execute(select(accounts.c.status).where(accounts.c.id == account_id)).scalar()
        conn.execute(accounts.update().where(accounts.c.id == account_id).values(status=new_status))
        if req.action == "close":
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
