"""Reporting to regulators: the periodic transparency report, the Art. 13 refutation filing records and
the DSA Transparency Database statements, each for a period [start, end).

Reads `reports`, `cases`, `case_actions` (owner: cases.py) and `appeals` (owner: appeals.py); writes
nothing. Times are in hours; percentiles are nearest-rank (the smallest value with at least p% of the
values at or below it), so every figure is one of the recorded durations.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import Counter
from typing import Any

from sqlalchemy import Connection, select

from backend import cases, registry_urls, statements
from backend.store.schema import appeals, case_actions
from backend.store.schema import cases as cases_table
from backend.store.schema import reports as reports_table
from backend.vocabulary import AppealOutcome, CaseOrigin, CaseStatus, ModerationAction, ReportCategory


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def nearest_rank(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def _durations(values: list[float]) -> dict[str, Any]:
    return {"count": len(values), "median_hours": nearest_rank(values, 50), "p90_hours": nearest_rank(values, 90)}


def _hours(a: dt.datetime, b: dt.datetime) -> float:
    return round((_aware(b) - _aware(a)).total_seconds() / 3600, 4)


def detector_models(details: dict[str, Any] | None) -> list[str]:
    return [m["name"] for m in statements.flag_models(details)]


def confirmed(outcome: str | None) -> bool:
    """A moderator agreed with the flag: any content decision other than dismissal."""
    return outcome is not None and outcome != ModerationAction.DISMISS


def agreement(rows: list[Any]) -> list[dict[str, Any]]:
    """Per model: cases it flagged, how many were decided, how many a moderator confirmed."""
    stats: dict[str, dict[str, Any]] = {}
    for row in rows:
        for name in detector_models(row.details):
            s = stats.setdefault(name, {"model": name, "flagged": 0, "decided": 0, "confirmed": 0, "cleared": 0})
            s["flagged"] += 1
            if row.status == CaseStatus.DECIDED:
                s["decided"] += 1
                s["confirmed" if confirmed(row.outcome) else "cleared"] += 1
    for s in stats.values():
        s["confirmation_rate"] = round(s["confirmed"] / s["decided"], 4) if s["decided"] else None
    return sorted(stats.values(), key=lambda s: s["model"])


def report(conn: Connection, start: dt.datetime, end: dt.datetime, ack_hours: float,
           decide_hours: float, now: dt.datetime) -> dict[str, Any]:
    by_category = Counter(conn.execute(select(reports_table.c.category).where(
        reports_table.c.created_at >= start, reports_table.c.created_at < end)).scalars())
    actions = Counter(conn.execute(select(case_actions.c.action).where(
        case_actions.c.created_at >= start, case_actions.c.created_at < end)).scalars())
    opened = conn.execute(select(cases_table).where(cases_table.c.created_at >= start,
                                                    cases_table.c.created_at < end)).all()
    to_ack = [_hours(r.created_at, r.acknowledged_at) for r in opened if r.acknowledged_at is not None]
    to_decide = [_hours(r.created_at, r.decided_at) for r in opened if r.decided_at is not None]
    levels = [cases.service_levels(r, ack_hours, decide_hours, now) for r in opened]
    late_ack = sum(1 for r in opened if _late(r.created_at, r.acknowledged_at, ack_hours, now))
    late_decide = sum(1 for r in opened if _late(r.created_at, r.decided_at, decide_hours, now))
    origins = Counter(cases.origin_of(r) for r in opened)
    flagged = [r for r in opened if cases.origin_of(r) == CaseOrigin.DETECTOR_FLAG]
    flagged_decided = [r for r in flagged if r.status == CaseStatus.DECIDED]
    flagged_confirmed = sum(1 for r in flagged_decided if confirmed(r.outcome))
    filed = conn.execute(select(appeals).where(appeals.c.created_at >= start, appeals.c.created_at < end)).all()
    outcomes = Counter(a.outcome for a in filed if a.outcome)
    decided_appeals = sum(outcomes.values())
    return {
        "from": start.isoformat(), "to_exclusive": end.isoformat(), "generated_at": now.isoformat(),
        "reports": {"total": sum(by_category.values()),
                    "by_category": {**{c: 0 for c in ReportCategory}, **by_category}},
        "cases": {"opened": len(opened), "by_origin": {o: origins.get(o, 0) for o in CaseOrigin},
                  "decided": sum(1 for r in opened if r.status == CaseStatus.DECIDED),
                  "pending": sum(1 for r in opened if r.status != CaseStatus.DECIDED)},
        "actions": {"total": sum(actions.values()), "by_type": dict(sorted(actions.items()))},
        "time_to_acknowledge": _durations(to_ack),
        "time_to_decide": _durations(to_decide),
        "overdue": {"acknowledge": late_ack, "decide": late_decide,
                    "pending_now": sum(1 for lv in levels if lv["overdue"]),
                    "service_levels": {"acknowledge_hours": ack_hours, "decide_hours": decide_hours}},
        "appeals": {"filed": len(filed), "by_kind": dict(sorted(Counter(a.kind for a in filed).items())),
                    "decided": decided_appeals, "by_outcome": {o: outcomes.get(o, 0) for o in AppealOutcome},
                    "reversal_rate": round((outcomes.get(AppealOutcome.REVERSED, 0)
                                            + outcomes.get(AppealOutcome.MODIFIED, 0)) / decided_appeals, 4)
                    if decided_appeals else None},
        "detector": {"opened": len(flagged), "decided": len(flagged_decided), "confirmed": flagged_confirmed,
                     "confirmation_rate": round(flagged_confirmed / len(flagged_decided), 4)
                     if flagged_decided else None, "by_model": agreement(flagged)},
    }


def _late(created: dt.datetime, done: dt.datetime | None, hours: float, now: dt.datetime) -> bool:
    """Handled after the service level, or still not handled past it."""
    return (_aware(done) if done is not None else now) > _aware(created) + dt.timedelta(hours=hours)


def to_csv(data: dict[str, Any]) -> str:
    """The report flattened to `metric,key,value` rows (one per figure)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["metric", "key", "value"])
    writer.writerow(["period", "from", data["from"]])
    writer.writerow(["period", "to_exclusive", data["to_exclusive"]])

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and "model" in item:
                    for k, v in item.items():
                        if k != "model":
                            writer.writerow([f"{prefix}.{k}", item["model"], v])
        else:
            metric, _, key = prefix.rpartition(".")
            writer.writerow([metric or prefix, key, "" if value is None else value])

    walk("", {k: v for k, v in data.items() if k not in ("from", "to_exclusive", "generated_at")})
    return buf.getvalue()


def refutations(conn: Connection, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Art. 13 filing records: what was refuted, where it spread, the refutation text and link, when."""
    rows = conn.execute(select(case_actions, cases_table.c.category, cases_table.c.sha256)
                        .join(cases_table, cases_table.c.id == case_actions.c.case_id)
                        .where(case_actions.c.action == ModerationAction.REFUTE,
                               case_actions.c.created_at >= start, case_actions.c.created_at < end)
                        .order_by(case_actions.c.id)).all()
    out = []
    for row in rows:
        details = row.details or {}
        copies = list(details.get("content_ids") or [])
        reported = sorted({u for u in conn.execute(select(reports_table.c.media_url).where(
            reports_table.c.case_id == row.case_id, reports_table.c.media_url.is_not(None))).scalars()})
        hosting = sorted({u for cid in copies for u in registry_urls.listed(conn, cid)})
        refutation = details.get("refutation") or {}
        out.append({"decision_id": row.id, "case_id": row.case_id, "category": row.category,
                    "content_id": row.content_id, "sha256": row.sha256,
                    "spread": {"registered_copies": copies, "hosting_urls": hosting, "reported_urls": reported},
                    "refutation": {"zh": refutation.get("zh"), "en": refutation.get("en"),
                                   "url": refutation.get("url")},
                    "refuted_at": _aware(row.created_at).isoformat()})
    return out


def dsa_statements(conn: Connection, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Every decision in the period that restricts something, as DSA Transparency Database statements."""
    rows = conn.execute(select(case_actions.c.id, case_actions.c.details).where(
        case_actions.c.created_at >= start, case_actions.c.created_at < end).order_by(case_actions.c.id)).all()
    out = []
    for row in rows:
        statement = (row.details or {}).get("statement")
        if statement:
            item = statements.dsa_statement(int(row.id), statement)
            if item is not None:
                out.append(item)
    return out


def appeal_records(conn: Connection, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    rows = conn.execute(select(appeals).where(appeals.c.created_at >= start, appeals.c.created_at < end)
                        .order_by(appeals.c.created_at)).mappings()
    return [dict(r) for r in rows]
