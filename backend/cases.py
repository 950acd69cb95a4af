"""Case handling (Art. 12-14): the moderators' queue with service levels, and actions with reasons.

`apply` is one transaction: the case, the content's label state (and every registered copy's, for a
refutation or block), the publisher's account status, the action record and audit entries commit
together. What must happen outside the transaction (label cache invalidation, webhooks, the
fingerprint lists) is returned as `Effects` for the caller to carry out after the commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from backend import audit, evidence, policy_catalogue, registry, reported_media, sessions, statements
from backend.domain_errors import Conflict, InvalidInput, NotFound
from backend.store.db import new_id, utcnow
from backend.store.schema import accounts, api_keys, case_actions, cases, reports
from backend.vocabulary import (
    ACCOUNT_ACTIONS,
    CONTENT_ACTIONS,
    OPEN_CASE_STATUSES,
    REPORT_CATEGORY_TEXT,
    CaseOrigin,
    CaseStatus,
    LabelState,
    ModerationAction,
    Tier,
)

# Content decisions close the case; `acknowledge` starts the clock on deciding.
ACTIONS = tuple(ModerationAction)
# The console's words for a tier (the player's come from manifests/labels.json through the label document).
TIER_TEXT: dict[str, str] = {Tier.AI_GENERATED: "ai_generated — AI生成 / AI-generated",
             Tier.DECLARED_POSSIBLY: "declared_possibly — 作者声明：内容可能由AI生成 / the creator says it may be AI",
             Tier.SUSPECTED: "suspected — 疑似AI生成 / only detection says so"}
MIN_REASONS = 10
MAX_REASONS = 4000
MAX_PUBLIC_STATEMENT = 500
MAX_REFUTATION_TEXT = 500
MAX_REFUTATION_URL = 2000
MAX_FACTS = statements.MAX_FACTS
MAX_RULE = 60


def origin_of(row: Any) -> CaseOrigin:
    """What opened the case. A case whose category is the detector flag is one whatever its origin
    column says (detection/pipeline.py may open them with the category alone)."""
    if row.category == CaseOrigin.DETECTOR_FLAG:
        return CaseOrigin.DETECTOR_FLAG
    return CaseOrigin(row.origin) if row.origin in tuple(CaseOrigin) else CaseOrigin.REPORT


@dataclass
class Effects:
    """Work for after the commit."""

    case_id: str
    action: ModerationAction
    content_ids: list[str] = field(default_factory=list)
    publisher_id: str | None = None
    fingerprint: tuple[str | None, str, str, str] | None = None  # (stored_path, mime, list_name, content_id)
    event: dict[str, Any] = field(default_factory=dict)
    decision_id: int | None = None  # the case_actions row
    # Fingerprint list entries to drop after the commit (an appeal's reversal): (list_name, ref).
    unlisted: list[tuple[str, str]] = field(default_factory=list)
    registered_urls: list[str] = field(default_factory=list)  # media URLs that now resolve (label caches)


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
        "category_text": REPORT_CATEGORY_TEXT.get(row.category, row.category),
        "severity": row.severity,
        "status": row.status,
        "content_id": row.content_id,
        "sha256": row.sha256,
        "media_url": row.media_url,
        "publisher_id": row.publisher_id,
        "report_count": row.report_count,
        "origin": origin_of(row),
        "details": row.details,
        "outcome": row.outcome,
        "outcome_reasons": row.outcome_reasons,
        "created_at": _iso(row.created_at),
        "acknowledged_at": _iso(row.acknowledged_at),
        "decided_at": _iso(row.decided_at),
        **service_levels(row, ack_hours, decide_hours, now),
    }


def queue(conn: Connection, ack_hours: float, decide_hours: float, status: str = "pending",
          limit: int = 100, offset: int = 0, origin: CaseOrigin | None = None) -> list[dict[str, Any]]:
    """Most severe first, then oldest first. `pending` means open or acknowledged; `origin` keeps only the
    cases a report, a detector flag or an appeal opened."""
    query = select(cases)
    if origin == CaseOrigin.DETECTOR_FLAG:
        query = query.where((cases.c.origin == origin) | (cases.c.category == origin))
    elif origin == CaseOrigin.REPORT:
        query = query.where((cases.c.origin == origin) | cases.c.origin.is_(None),
                            cases.c.category != CaseOrigin.DETECTOR_FLAG)
    elif origin is not None:
        query = query.where(cases.c.origin == origin)
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
         "created_at": _iso(r.created_at), **_report_details(r.details)}
        for r in conn.execute(select(reports).where(reports.c.case_id == case_id).order_by(reports.c.created_at))
    ]
    out["actions"] = [
        {"id": a.id, "action": a.action, "actor": a.actor, "reasons": a.reasons, "content_id": a.content_id,
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
                       "label_state": c.label_state, "signature": c.signature, "tier": c.effective_tier,
                       "tier_text": TIER_TEXT.get(c.effective_tier or ""), "origin": c.origin,
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


def _report_details(raw: Any) -> dict[str, Any]:
    """What a report's `details` adds for staff: the good-faith statement, the time range, the multi-item
    report it came in (the first item's id), and the attached file."""
    details = raw if isinstance(raw, dict) else {}
    span = details.get("time_range")
    if not (isinstance(span, dict) and all(isinstance(span.get(k), (int, float)) for k in ("start", "end"))):
        span = None
    group = details.get("group")
    return {"good_faith": details.get("good_faith") is True,
            "time_range": {"start": span["start"], "end": span["end"]} if span else None,
            "group": group if isinstance(group, str) else None,
            "attachment": _attachment(details.get("evidence"))}


def _attachment(raw: Any) -> dict[str, Any] | None:
    """A report's attached file as staff see it: type, size and SHA-256 (the store name stays inside)."""
    found = evidence.Evidence.from_details(raw)
    return None if found is None else {"mime": found.mime, "size": found.size, "sha256": found.sha256}


@dataclass(frozen=True)
class ActionRequest:
    action: ModerationAction
    reasons: str
    refutation: dict[str, str | None] | None = None
    # What players and the verify page show for a block or pause; the reasons stay internal.
    public_statement: str | None = None
    rule: str | None = None  # a policy catalogue id; None: the category's default rule
    facts: str | None = None  # the statement of reasons' facts (public); None: generated from the case


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
    rule = body.get("rule")
    if rule is not None and (not isinstance(rule, str) or not 0 < len(rule) <= MAX_RULE):
        raise InvalidInput("invalid_rule", "`rule` must be the id of a rule in the policy catalogue")
    facts = body.get("facts")
    if facts is not None and (not isinstance(facts, str) or len(facts.strip()) > MAX_FACTS):
        raise InvalidInput("invalid_facts", f"`facts` must be text of at most {MAX_FACTS} characters")
    facts = (facts or "").strip() or None
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
    return ActionRequest(action, reasons, refutation, statement, rule, facts)


def _stop_note(req: ActionRequest, case_id: str) -> dict[str, Any]:
    return {"reason": req.reasons, "public_statement": req.public_statement, "case_id": case_id}


def apply(conn: Connection, case_id: str, req: ActionRequest, actor: str,
          catalogue: policy_catalogue.Catalogue | None = None, appeal_days: int = 180,
          appeal_of: str | None = None, data_dir: Path | None = None) -> Effects:
    """`data_dir`: where a reporter's attached file (evidence.py) is found, so media registered from the
    case keeps it (the console's preview, the fingerprint lists)."""
    row = conn.execute(select(cases).where(cases.c.id == case_id).with_for_update()).first()
    if row is None:
        raise NotFound("unknown_case", "no such case")
    if row.origin == CaseOrigin.APPEAL and appeal_of is None and req.action != ModerationAction.ACKNOWLEDGE:
        raise Conflict("appeal_case", "an appeal case is decided with POST /v1/appeals/{id}/decision")
    catalogue = catalogue or policy_catalogue.load()
    rule = catalogue.rule_for(req.rule, row.category)
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
            # unsigned or unregistered media: it becomes a registry entry (by hash and/or URL) the action applies to
            content = reported_media.register(conn, row, actor, now, data_dir)
            details["registered"] = content.content_id
            effects.registered_urls = [row.media_url] if row.media_url else []
        if content is not None and req.action != ModerationAction.DISMISS:
            # What the decision replaces, so an appeal can put it back.
            details["before"] = registry.label_states(conn, registry.copies(conn, content))
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
                               synthetic=True, tier=content.effective_tier or Tier.AI_GENERATED)
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
    if req.action != ModerationAction.ACKNOWLEDGE:
        origin = origin_of(row)
        flagged = origin == CaseOrigin.DETECTOR_FLAG or bool((row.details or {}).get("automated_detection"))
        details["statement"] = statements.build(
            action=req.action, category=row.category, origin=origin, rule=rule,
            facts=req.facts or req.public_statement or statements.default_facts(
                origin, row.category, row.report_count, row.details),
            content_ids=effects.content_ids,
            account_change={"from": details.get("from"), "to": details.get("to")} if account_id else None,
            automated_detection=flagged, decided_at=now, appeal_days=appeal_days,
            mime=content.mime if content else None, synthetic=content.synthetic if content else None,
            content_date=_aware(content.created_at) if content else None, appeal_of=appeal_of)
    acted_on = content.content_id if content is not None else row.content_id
    effects.decision_id = int(conn.execute(case_actions.insert().values(
        case_id=case_id, action=req.action, actor=actor, reasons=req.reasons, content_id=acted_on,
        account_id=account_id, details=details, created_at=now).returning(case_actions.c.id)).scalar_one())
    audit.append(conn, actor, f"case.{req.action}", case_id,
                 {"reasons": req.reasons, "content_id": acted_on, **details})
    effects.event = {"event": f"case.{req.action}", "case_id": case_id, "category": row.category,
                     "content_id": acted_on, "content_ids": effects.content_ids,
                     "account_id": row.publisher_id, "reasons": req.reasons,
                     "details": {k: v for k, v in details.items() if k != "before"},
                     "decision_id": effects.decision_id, "at": now.isoformat()}
    return effects


def open_for_content(conn: Connection, content: registry.Content, category: str, severity: int, actor: str,
                     target_key: str, media_url: str | None) -> str:
    """A case opened by the service itself (the stream monitor), not by a report: the open case for the
    same target and category when there is one."""
    existing = conn.execute(select(cases.c.id).where(
        cases.c.target_key == target_key, cases.c.category == category, cases.c.status.in_(OPEN_CASE_STATUSES))
        .order_by(cases.c.created_at).limit(1)).scalar()
    if existing is not None:
        return str(existing)
    now = utcnow()
    case_id = new_id("case")
    conn.execute(cases.insert().values(
        id=case_id, target_key=target_key, category=category, severity=severity, status=CaseStatus.OPEN,
        content_id=content.content_id, sha256=content.sha256, media_url=media_url,
        publisher_id=content.publisher_id, report_count=0, created_at=now, updated_at=now))
    audit.append(conn, actor, "case.opened", case_id, {"category": category, "target": target_key})
    return case_id


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(cases.c.status, func.count()).group_by(cases.c.status)).all()
    return {status: int(n) for status, n in rows}
