"""Appeals (Art. 15; DSA Art. 20): a publisher appeals a decision on its content or account, a reporter
contests a dismissal. Each appeal opens its own case (origin `appeal`) that a moderator other than the
original decider decides: upheld, reversed (the decision is undone: label, block, refutation or account
status put back) or modified (undone and replaced by another action through `cases.apply`).

The publisher is recognised by its API key or by the link in the decision's notice (an HMAC of the
decision and the account under the service secret), so a suspended or closed account can still appeal.
Owns the `appeals` table; writes the appeal case through the `cases` table like `reports.py` does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, select
from sqlalchemy.exc import IntegrityError

from backend import audit, cases, policy_catalogue, registry, reports, sessions, statements
from backend.domain_errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.store.db import new_id, utcnow
from backend.store.schema import accounts, appeals, case_actions
from backend.store.schema import cases as cases_table
from backend.store.schema import reports as reports_table
from backend.vocabulary import (
    ACCOUNT_ACTIONS,
    AppealKind,
    AppealOutcome,
    AppealStatus,
    CaseOrigin,
    CaseStatus,
    ModerationAction,
)

T = TypeVar("T")
MIN_GROUNDS = 10
MAX_GROUNDS = 4000
SEVERITY_BONUS = 5  # an appeal waits less than a fresh report of the same category
UNLIST = {ModerationAction.BLOCK: "prohibited", ModerationAction.REFUTE: "refuted"}


def link_token(secret: str, decision_id: int, account_id: str) -> str:
    """The token in a notice's appeal link: it names one decision and one account."""
    return hmac.new(secret.encode(), f"appeal:{decision_id}:{account_id}".encode(), hashlib.sha256).hexdigest()[:40]


def appeal_path(decision_id: int) -> str:
    return f"/appeal/{decision_id}"


def parse_grounds(body: Any) -> str:
    if not isinstance(body, dict):
        raise InvalidInput("invalid_appeal", "the body must be a JSON object")
    grounds = body.get("grounds")
    grounds = grounds.strip() if isinstance(grounds, str) else ""
    if not MIN_GROUNDS <= len(grounds) <= MAX_GROUNDS:
        raise InvalidInput("invalid_grounds",
                           f"`grounds` must say why the decision is wrong ({MIN_GROUNDS}-{MAX_GROUNDS} characters)")
    return grounds


def _decision(conn: Connection, decision_id: int) -> Row[Any]:
    row = conn.execute(select(case_actions, cases_table.c.publisher_id, cases_table.c.category,
                              cases_table.c.severity, cases_table.c.origin, cases_table.c.sha256,
                              cases_table.c.media_url)
                       .join(cases_table, cases_table.c.id == case_actions.c.case_id)
                       .where(case_actions.c.id == decision_id)).first()
    if row is None or row.action == ModerationAction.ACKNOWLEDGE:
        raise NotFound("unknown_decision", "no such decision")
    return row


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def publisher_of(conn: Connection, decision_id: int) -> str | None:
    row = _decision(conn, decision_id)
    account: str | None = row.account_id or row.publisher_id
    return account


def check_link(conn: Connection, secret: str, decision_id: int, token: str) -> str:
    """The account a notice link was made for; a wrong token looks like no decision."""
    account_id = publisher_of(conn, decision_id)
    if not account_id or not hmac.compare_digest(link_token(secret, decision_id, account_id), token):
        raise NotFound("unknown_decision", "no decision for this link")
    return account_id


def _appeal_json(row: Row[Any]) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "decision_id": row.decision_id, "case_id": row.case_id,
            "original_case_id": row.original_case_id, "original_action": row.original_action,
            "status": row.status, "outcome": row.outcome, "new_action": row.new_action,
            "outcome_reasons": row.outcome_reasons,
            "decided_at": _aware(row.decided_at).isoformat() if row.decided_at else None,
            "created_at": _aware(row.created_at).isoformat()}


def decision_view(conn: Connection, decision_id: int, appellant: str, appeal_days: int) -> dict[str, Any]:
    """The decision's statement of reasons and the appellant's appeal of it, if any."""
    row = _decision(conn, decision_id)
    statement = (row.details or {}).get("statement")
    existing = conn.execute(select(appeals).where(appeals.c.decision_id == decision_id,
                                                  appeals.c.appellant == appellant)).first()
    deadline = _aware(row.created_at) + dt.timedelta(days=appeal_days)
    final = row.origin == CaseOrigin.APPEAL
    return {"decision_id": decision_id, "case_id": row.case_id, "action": row.action, "category": row.category,
            "content_id": row.content_id, "decided_at": _aware(row.created_at).isoformat(),
            "statement": statement, "appeal_until": deadline.isoformat(),
            "can_appeal": existing is None and not final and utcnow() <= deadline,
            "appeal": _appeal_json(existing) if existing is not None else None}


def _open(conn: Connection, decision: Row[Any], kind: AppealKind, appellant: str, grounds: str,
          appeal_days: int) -> dict[str, Any]:
    if decision.origin == CaseOrigin.APPEAL:
        raise Conflict("appeal_decision_final", "a decision on an appeal cannot be appealed again here")
    now = utcnow()
    if now > _aware(decision.created_at) + dt.timedelta(days=appeal_days):
        raise Conflict("appeal_window_closed", f"decisions can be appealed within {appeal_days} days")
    taken = conn.execute(select(appeals.c.id).where(appeals.c.decision_id == decision.id,
                                                    appeals.c.appellant == appellant)).first()
    if taken is not None:
        raise Conflict("already_appealed", f"this decision was already appealed (appeal {taken.id})")
    appeal_id = new_id("ap")
    case_id = new_id("case")
    conn.execute(cases_table.insert().values(
        id=case_id, target_key=f"appeal:{appeal_id}", category=decision.category,
        severity=decision.severity + SEVERITY_BONUS, status=CaseStatus.OPEN, content_id=decision.content_id,
        sha256=decision.sha256, media_url=decision.media_url, publisher_id=decision.publisher_id, report_count=0,
        created_at=now, updated_at=now, origin=CaseOrigin.APPEAL,
        details={"appeal": {"id": appeal_id, "kind": kind, "decision_id": decision.id,
                            "original_case_id": decision.case_id, "original_action": decision.action,
                            "original_actor": decision.actor, "grounds": grounds},
                 "automated_detection": bool(((decision.details or {}).get("statement") or {})
                                             .get("automated_detection"))}))
    conn.execute(appeals.insert().values(
        id=appeal_id, kind=kind, decision_id=decision.id, original_case_id=decision.case_id, case_id=case_id,
        appellant=appellant, original_actor=decision.actor, original_action=decision.action, grounds=grounds,
        status=AppealStatus.OPEN, created_at=now))
    audit.append(conn, appellant if kind == AppealKind.PUBLISHER else "public", "appeal.filed", appeal_id, {
        "kind": kind, "decision_id": decision.id, "case_id": case_id, "original_case_id": decision.case_id,
        "grounds_sha256": hashlib.sha256(grounds.encode()).hexdigest()})
    row = conn.execute(select(appeals).where(appeals.c.id == appeal_id)).one()
    return _appeal_json(row)


def once(fn: Callable[[], T]) -> T:
    """Runs a filing transaction; two filings of the same decision at once meet the unique index, and
    the loser is told the decision is already appealed (not a 500)."""
    try:
        return fn()
    except IntegrityError as exc:
        raise Conflict("already_appealed", "this decision was already appealed") from exc


def file_publisher(conn: Connection, decision_id: int, account_id: str, grounds: str,
                   appeal_days: int) -> dict[str, Any]:
    decision = _decision(conn, decision_id)
    if account_id not in (decision.account_id, decision.publisher_id):
        raise NotFound("unknown_decision", "no decision on your content or account has this id")
    return _open(conn, decision, AppealKind.PUBLISHER, account_id, grounds, appeal_days)


def file_reporter(conn: Connection, report_id: str, secret: str, grounds: str, appeal_days: int) -> dict[str, Any]:
    """A reporter contests the dismissal of their report's case."""
    report = conn.execute(select(reports_table).where(reports_table.c.id == report_id)).first()
    if report is None or not hmac.compare_digest(report.secret_digest, reports.secret_digest(secret)):
        raise NotFound("unknown_report", "no report with this id and secret")
    dismissal = conn.execute(select(case_actions.c.id).where(
        case_actions.c.case_id == report.case_id, case_actions.c.action == ModerationAction.DISMISS)
        .order_by(case_actions.c.id.desc()).limit(1)).scalar()
    if dismissal is None:
        raise Conflict("not_dismissed", "only a dismissal of your report can be contested")
    return _open(conn, _decision(conn, int(dismissal)), AppealKind.REPORTER, report_id, grounds, appeal_days)


def reporter_contest(conn: Connection, report_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(appeals).where(appeals.c.appellant == report_id)
                       .order_by(appeals.c.created_at.desc()).limit(1)).first()
    return _appeal_json(row) if row is not None else None


@dataclass(frozen=True)
class Decision:
    outcome: AppealOutcome
    reasons: str
    replacement: cases.ActionRequest | None  # modified, or a reversed dismissal


def parse_decision(body: Any) -> Decision:
    if not isinstance(body, dict):
        raise InvalidInput("invalid_decision", "the body must be a JSON object")
    outcome = body.get("outcome")
    if outcome not in tuple(AppealOutcome):
        raise InvalidInput("invalid_outcome", f"`outcome` must be one of {', '.join(AppealOutcome)}")
    reasons = body.get("reasons")
    reasons = reasons.strip() if isinstance(reasons, str) else ""
    if not cases.MIN_REASONS <= len(reasons) <= cases.MAX_REASONS:
        raise InvalidInput("reasons_required",
                           f"a statement of reasons ({cases.MIN_REASONS}-{cases.MAX_REASONS} characters) is required")
    replacement = None
    if body.get("action") is not None:
        replacement = cases.parse_action({**body, "reasons": reasons})
        if replacement.action == ModerationAction.ACKNOWLEDGE:
            raise InvalidInput("invalid_action", "`acknowledge` is not a decision")
    if outcome == AppealOutcome.MODIFIED and replacement is None:
        raise InvalidInput("action_required", "`modified` needs `action`: the decision that replaces the original")
    if outcome == AppealOutcome.UPHELD and replacement is not None:
        raise InvalidInput("invalid_action", "`upheld` keeps the original decision; give no `action`")
    return Decision(AppealOutcome(outcome), reasons, replacement)


def _undo(conn: Connection, original: Row[Any], actor: str, now: dt.datetime, effects: cases.Effects) -> None:
    """Puts back what the original decision changed."""
    details = original.details or {}
    if original.action in ACCOUNT_ACTIONS:
        before = details.get("from")
        if original.account_id and before:
            conn.execute(accounts.update().where(accounts.c.id == original.account_id).values(status=before))
            audit.append(conn, actor, "account.restored", original.account_id,
                         {"decision_id": original.id, "from": details.get("to"), "to": before})
            if before in ("suspended", "closed"):
                sessions.revoke_account(conn, original.account_id, f"account_{before}")
        effects.event["account_status"] = before
        return
    before = details.get("before") or {}
    if before:
        effects.content_ids = registry.restore_labels(conn, before, now)
    list_name = UNLIST.get(ModerationAction(original.action)) if original.action in tuple(ModerationAction) else None
    if list_name and original.content_id:
        effects.unlisted.append((list_name, original.content_id))


def decide(conn: Connection, appeal_id: str, decision: Decision, actor: str,
           catalogue: policy_catalogue.Catalogue | None = None, appeal_days: int = 180) -> cases.Effects:
    appeal = conn.execute(select(appeals).where(appeals.c.id == appeal_id).with_for_update()).first()
    if appeal is None:
        raise NotFound("unknown_appeal", "no such appeal")
    if actor == appeal.original_actor:
        raise Forbidden("same_decider", "the moderator who made the original decision cannot decide its appeal")
    if appeal.status != AppealStatus.OPEN:
        raise Conflict("appeal_decided", f"this appeal was already decided ({appeal.outcome})")
    original = conn.execute(select(case_actions).where(case_actions.c.id == appeal.decision_id)).one()
    if decision.outcome == AppealOutcome.REVERSED and original.action == ModerationAction.DISMISS \
            and decision.replacement is None:
        raise InvalidInput("action_required", "reversing a dismissal needs `action`: the decision to take instead")
    now = utcnow()
    case_row = conn.execute(select(cases_table).where(cases_table.c.id == appeal.case_id)).one()
    effects = cases.Effects(appeal.case_id, ModerationAction.DISMISS, publisher_id=case_row.publisher_id)
    effects.event = {}
    if decision.outcome != AppealOutcome.UPHELD:
        _undo(conn, original, actor, now, effects)
    restored = list(effects.content_ids)
    undo_event = dict(effects.event)
    if decision.replacement is not None:
        replaced = cases.apply(conn, appeal.case_id, decision.replacement, actor, catalogue, appeal_days,
                               appeal_of=appeal_id)
        replaced.content_ids = sorted({*restored, *replaced.content_ids})
        replaced.unlisted = effects.unlisted
        statement = (replaced.event.get("details") or {}).get("statement")
        effects = replaced
    else:
        rule = (catalogue or policy_catalogue.load()).rule_for(None, case_row.category)
        statement = statements.build(
            action=f"appeal_{decision.outcome}", category=case_row.category, origin=CaseOrigin.APPEAL, rule=rule,
            facts=statements.default_facts(CaseOrigin.APPEAL, case_row.category, 0, None), content_ids=restored,
            account_change=None, automated_detection=False, decided_at=now, appeal_days=0, mime=None,
            synthetic=None, content_date=None, appeal_of=appeal_id)
        effects.decision_id = int(conn.execute(case_actions.insert().values(
            case_id=appeal.case_id, action=f"appeal_{decision.outcome}", actor=actor, reasons=decision.reasons,
            content_id=case_row.content_id, account_id=original.account_id,
            details={"appeal_id": appeal_id, "restored": restored, "statement": statement},
            created_at=now).returning(case_actions.c.id)).scalar_one())
        conn.execute(cases_table.update().where(cases_table.c.id == appeal.case_id).values(
            status=CaseStatus.DECIDED, outcome=f"appeal_{decision.outcome}", outcome_reasons=decision.reasons,
            decided_at=now, acknowledged_at=case_row.acknowledged_at or now, updated_at=now))
    conn.execute(appeals.update().where(appeals.c.id == appeal_id).values(
        status=AppealStatus.DECIDED, outcome=decision.outcome,
        new_action=decision.replacement.action if decision.replacement else None,
        outcome_reasons=decision.reasons, decided_by=actor, decided_at=now))
    audit.append(conn, actor, "appeal.decided", appeal_id, {
        "outcome": decision.outcome, "decision_id": appeal.decision_id, "case_id": appeal.case_id,
        "restored": restored, "new_action": decision.replacement.action if decision.replacement else None,
        "reasons": decision.reasons})
    effects.event = {"event": "appeal.decided", "appeal_id": appeal_id, "case_id": appeal.case_id,
                     "decision_id": appeal.decision_id, "outcome": decision.outcome,
                     "new_action": decision.replacement.action if decision.replacement else None,
                     "content_ids": effects.content_ids, "account_id": case_row.publisher_id,
                     "reasons": decision.reasons, "statement": statement, **undo_event, "at": now.isoformat()}
    return effects


def detail(conn: Connection, appeal_id: str) -> dict[str, Any]:
    row = conn.execute(select(appeals).where(appeals.c.id == appeal_id)).first()
    if row is None:
        raise NotFound("unknown_appeal", "no such appeal")
    out = _appeal_json(row)
    out.update(grounds=row.grounds, original_actor=row.original_actor, appellant_kind=row.kind,
               decided_by=row.decided_by)
    return out


def by_case(conn: Connection, case_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(appeals.c.id).where(appeals.c.case_id == case_id)).first()
    return detail(conn, row.id) if row is not None else None


def reporter_extras(conn: Connection, report_id: str, appeal_days: int) -> dict[str, Any]:
    """What the reporter sees of the decision beyond its outcome: the statement of reasons (without the
    publisher's account details) and whether the dismissal can be, or was, contested."""
    case_id = conn.execute(select(reports_table.c.case_id).where(reports_table.c.id == report_id)).scalar()
    last = conn.execute(select(case_actions).where(
        case_actions.c.case_id == case_id, case_actions.c.action != ModerationAction.ACKNOWLEDGE)
        .order_by(case_actions.c.id.desc()).limit(1)).first() if case_id else None
    statement = dict((last.details or {}).get("statement") or {}) if last is not None else None
    if statement:
        statement["scope"] = {"kind": (statement.get("scope") or {}).get("kind")}
    contest = reporter_contest(conn, report_id)
    can_contest = bool(last is not None and last.action == ModerationAction.DISMISS and contest is None
                       and utcnow() <= _aware(last.created_at) + dt.timedelta(days=appeal_days))
    return {"statement": statement or None, "contest": contest, "can_contest": can_contest}
