"""Complaints from viewers (Art. 15): validation, folding duplicates into one case, the reporter's view.

A report is committed together with its audit entry before the caller answers 201, so an
acknowledged report survives a crash. The reporter's secret is shown once; only its SHA-256 is kept
(it is a 192-bit random token, so a plain digest is a safe stored form).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, select, text

from backend import audit, registry, registry_urls
from backend import cases as case_rules
from backend.domain_errors import InvalidInput, NotFound
from backend.store.db import new_id, utcnow
from backend.store.schema import cases, reports
from backend.vocabulary import OPEN_CASE_STATUSES, CaseOrigin, CaseStatus, ReportCategory, ReportStatus

# Severity decides queue order; illegal content and deepfakes of real people come first.
SEVERITY = {
    ReportCategory.ILLEGAL: 100,
    ReportCategory.DEEPFAKE_IMPERSONATION: 90,
    ReportCategory.RUMOUR: 80,
    ReportCategory.UNLABELLED_AI: 60,
    ReportCategory.WRONG_AI_LABEL: 60,
    ReportCategory.PRIVACY_PORTRAIT: 50,
    ReportCategory.INTELLECTUAL_PROPERTY: 30,
    ReportCategory.OTHER: 10,
}
CATEGORIES = tuple(SEVERITY)
MAX_BODY_BYTES = 16 * 1024
MAX_DESCRIPTION = 4000
MAX_CONTACT = 200
MAX_URL = 2000
MAX_PLAYBACK_TIME = 1e7  # seconds
MAX_ITEMS = 20  # media items in one report (a feed): the report's own target and up to 19 more
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# What the reporter sees for each case status.
REPORT_STATUS = {CaseStatus.OPEN: ReportStatus.RECEIVED, CaseStatus.ACKNOWLEDGED: ReportStatus.IN_REVIEW,
                 CaseStatus.DECIDED: ReportStatus.DECIDED}
_PG_CASE_LOCK = "avlabel-case:"


@dataclass(frozen=True)
class Target:
    """One media item a report is about, and optionally the part of its playback (seconds)."""

    content_id: str | None
    media_url: str | None
    sha256: str | None
    time_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class ReportInput:
    category: ReportCategory
    description: str
    content_id: str | None
    media_url: str | None
    sha256: str | None
    playback_time: float | None
    contact: str | None
    good_faith: bool = True
    time_range: tuple[float, float] | None = None
    more: tuple[Target, ...] = ()  # further items of the same report (a feed)

    def each(self) -> list[ReportInput]:
        """One report input per item: this one, then each further item with the same reason and statement."""
        return [self, *(replace(self, content_id=t.content_id, media_url=t.media_url, sha256=t.sha256,
                                time_range=t.time_range, playback_time=None, more=()) for t in self.more)]


@dataclass(frozen=True)
class _CaseTimes:
    """What `cases.service_levels` reads of a case."""

    created_at: Any
    acknowledged_at: Any
    decided_at: Any
    status: str


@dataclass(frozen=True)
class Receipt:
    id: str
    secret: str
    case_id: str
    folded: bool


def _optional_str(body: dict[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"invalid_{name}", f"`{name}` must be a string")
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"invalid_{name}", f"`{name}` must be at most {limit} characters")
    return value or None


def parse(body: Any) -> ReportInput:
    """Checks a report body; every problem is a 400 naming the field."""
    if not isinstance(body, dict):
        raise InvalidInput("invalid_report", "the body must be a JSON object")
    category = body.get("category")
    if not isinstance(category, str) or category not in SEVERITY:
        raise InvalidInput("invalid_category", f"`category` must be one of {', '.join(CATEGORIES)}")
    description = body.get("description")
    if not isinstance(description, str) or not description.strip():
        raise InvalidInput("invalid_description", "`description` is required: say what is wrong")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput("invalid_description", f"`description` must be at most {MAX_DESCRIPTION} characters")
    first = _target(body, "")
    items = body.get("items")
    more: list[Target] = []
    if items is not None:
        if not isinstance(items, list):
            raise InvalidInput("invalid_items", "`items` must be a list of media items")
        if len(items) + 1 > MAX_ITEMS:
            raise InvalidInput("too_many_items", f"a report covers at most {MAX_ITEMS} media items")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise InvalidInput("invalid_items", f"`items[{index}]` must be an object")
            more.append(_target(item, f"items[{index}]."))
    playback = body.get("playback_time")
    if playback is not None:
        if isinstance(playback, bool) or not isinstance(playback, int | float) or not math.isfinite(playback) \
                or not 0 <= playback <= MAX_PLAYBACK_TIME:
            raise InvalidInput("invalid_playback_time", "`playback_time` must be seconds between 0 and 10,000,000")
        playback = float(playback)
    contact = _optional_str(body, "contact", MAX_CONTACT)
    if body.get("good_faith") is not True:
        raise InvalidInput("good_faith_required", "`good_faith` must be true: state that the report is made in "
                                                  "good faith and is accurate")
    return ReportInput(ReportCategory(category), description.strip(), first.content_id, first.media_url,
                       first.sha256, playback, contact, True, first.time_range, tuple(more))


def _target(body: dict[str, Any], where: str) -> Target:
    """The media reference (`content_id`, `media_url` or `sha256`) and optional `time_range` of one item."""
    content_id = _optional_str(body, "content_id", registry.LOOKUP_ID_MAX)
    if content_id is not None and not registry.valid_content_id(content_id, lookup=True):
        raise InvalidInput("invalid_content_id", f"`{where}content_id` must be 3-64 letters, digits, '_', '-' or '.'")
    media_url = _optional_str(body, "media_url", MAX_URL)
    if media_url is not None and not media_url.startswith(("http://", "https://", "/")):
        raise InvalidInput("invalid_media_url", f"`{where}media_url` must be an http(s) URL or an absolute path")
    sha = _optional_str(body, "sha256", 64)
    if sha is not None:
        sha = sha.lower()
        if not SHA256.match(sha):
            raise InvalidInput("invalid_sha256", f"`{where}sha256` must be 64 hexadecimal characters")
    if not (content_id or media_url or sha):
        raise InvalidInput("missing_media_reference",
                           f"{where or 'the report'}: give at least one of `content_id`, `media_url`, `sha256`")
    return Target(content_id, media_url, sha, _time_range(body.get("time_range"), where))


def _time_range(value: Any, where: str) -> tuple[float, float] | None:
    """`{"start": s, "end": e}` in playback seconds, 0 <= start < end <= MAX_PLAYBACK_TIME."""
    if value is None:
        return None
    raw = [value.get(k) for k in ("start", "end")] if isinstance(value, dict) else []
    # A huge JSON integer is refused before float() could overflow on it.
    bounds = [float(v) for v in raw if not isinstance(v, bool) and isinstance(v, int | float)
              and -1 <= v <= MAX_PLAYBACK_TIME]
    if len(bounds) != 2 or any(not math.isfinite(v) or not 0 <= v <= MAX_PLAYBACK_TIME for v in bounds) \
            or not bounds[0] < bounds[1]:
        raise InvalidInput("invalid_time_range", f"`{where}time_range` must be {{\"start\": s, \"end\": e}} in "
                                                 "seconds, 0 <= start < end <= 10,000,000")
    return bounds[0], bounds[1]


def resolve_content(conn: Connection, rep: ReportInput, own_origins: set[str]) -> registry.Content | None:
    """The registered content the report is about, if any: by id, then by hash, then by hosting URL."""
    if rep.content_id:
        row = registry.by_id(conn, rep.content_id)
        if row is None:
            raise NotFound("unknown_content", "no registered content has this `content_id`")
        return row
    if rep.sha256:
        row = registry.by_sha256(conn, rep.sha256)
        if row is not None:
            return row
    if rep.media_url:
        content_id = registry_urls.resolve(conn, rep.media_url, own_origins)
        if content_id is not None:
            return registry.by_id(conn, content_id)
    return None


def target_key(rep: ReportInput, content: registry.Content | None) -> str:
    if content is not None:
        return f"content:{content.content_id}"
    if rep.sha256:
        return f"sha256:{rep.sha256}"
    url_digest = hashlib.sha256((rep.media_url or "").encode()).hexdigest()
    return f"url:{url_digest}"


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def client_digest(secret_key: str, address: str) -> str:
    return hmac.new(secret_key.encode(), f"client:{address}".encode(), hashlib.sha256).hexdigest()


def create(conn: Connection, rep: ReportInput, client: str, content: registry.Content | None,
           secret: str | None = None, group: str | None = None, evidence: dict[str, Any] | None = None) -> Receipt:
    """Stores the report, folding it into the open case for the same media and category. The items of one
    report (a feed) share one `secret` and name the first item's report as their `group`. `evidence`: the
    reporter's attached file as `evidence.Evidence.details()`."""
    key = target_key(rep, content)
    if conn.dialect.name == "postgresql":
        # Two reports on the same media at once must not open two cases.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": _PG_CASE_LOCK + key + rep.category})
    now = utcnow()
    existing = conn.execute(
        select(cases.c.id, cases.c.report_count).where(
            cases.c.target_key == key, cases.c.category == rep.category, cases.c.status.in_(OPEN_CASE_STATUSES))
        .order_by(cases.c.created_at).limit(1)
    ).first()
    if existing is not None:
        case_id = existing.id
        conn.execute(cases.update().where(cases.c.id == case_id)
                     .values(report_count=cases.c.report_count + 1, updated_at=now))
    else:
        case_id = new_id("case")
        conn.execute(cases.insert().values(
            id=case_id, target_key=key, category=rep.category, severity=SEVERITY[rep.category], status=CaseStatus.OPEN,
            content_id=content.content_id if content is not None else None,
            sha256=content.sha256 if content is not None else rep.sha256,
            media_url=rep.media_url, publisher_id=content.publisher_id if content is not None else None,
            report_count=1, created_at=now, updated_at=now, origin=CaseOrigin.REPORT,
        ))
        audit.append(conn, "public", "case.opened", case_id, {"category": rep.category, "target": key})
    secret = secret or secrets.token_urlsafe(24)
    report_id = new_id("r")
    details: dict[str, Any] = {"good_faith": rep.good_faith}
    if rep.time_range is not None:
        details["time_range"] = {"start": rep.time_range[0], "end": rep.time_range[1]}
    if group is not None:
        details["group"] = group
    if evidence is not None:
        details["evidence"] = evidence
    conn.execute(reports.insert().values(
        id=report_id, case_id=case_id, secret_digest=secret_digest(secret), category=rep.category,
        description=rep.description, content_id=rep.content_id or (content.content_id if content else None),
        media_url=rep.media_url, sha256=rep.sha256, playback_time=rep.playback_time, contact=rep.contact,
        client_digest=client, created_at=now, details=details,
    ))
    # The description itself stays in the reports table; its digest makes later edits evident.
    audit.append(conn, "public", "report.received", report_id, {
        "case_id": case_id, "category": rep.category, "target": key, "content_id": rep.content_id,
        "good_faith": rep.good_faith, "time_range": details.get("time_range"), "group": group,
        "evidence": evidence,
        "description_sha256": hashlib.sha256(rep.description.encode()).hexdigest(),
    })
    return Receipt(report_id, secret, case_id, existing is not None)


def reporter_view(conn: Connection, report_id: str, secret: str, ack_hours: float = 24.0,
                  decide_hours: float = 72.0) -> dict[str, Any]:
    """What the reporter may see: their own report, the handling steps with the service-level deadlines, and
    the outcome. A wrong secret looks like no report."""
    row = conn.execute(
        select(reports, cases.c.status.label("case_status"), cases.c.outcome, cases.c.outcome_reasons,
               cases.c.decided_at, cases.c.acknowledged_at, cases.c.created_at.label("case_created_at"))
        .join(cases, cases.c.id == reports.c.case_id).where(reports.c.id == report_id)
    ).first()
    if row is None or not hmac.compare_digest(row.secret_digest, secret_digest(secret)):
        raise NotFound("unknown_report", "no report with this id and secret")
    decided = row.case_status == CaseStatus.DECIDED
    details = row.details or {}
    levels = case_rules.service_levels(_CaseTimes(row.case_created_at, row.acknowledged_at, row.decided_at,
                                                  row.case_status), ack_hours, decide_hours, utcnow())
    steps = [
        {"step": ReportStatus.RECEIVED, "done": True, "at": row.created_at.isoformat(), "due": None},
        {"step": ReportStatus.IN_REVIEW, "done": row.acknowledged_at is not None or decided,
         "at": row.acknowledged_at.isoformat() if row.acknowledged_at else None, "due": levels["acknowledge_due"]},
        {"step": ReportStatus.DECIDED, "done": decided,
         "at": row.decided_at.isoformat() if decided and row.decided_at else None, "due": levels["decide_due"]},
    ]
    return {
        "id": row.id,
        "status": REPORT_STATUS.get(row.case_status, row.case_status),
        "category": row.category,
        "description": row.description,
        "content_id": row.content_id,
        "media_url": row.media_url,
        "sha256": row.sha256,
        "playback_time": row.playback_time,
        "time_range": details.get("time_range"),
        "good_faith": details.get("good_faith") is True,
        # What the reporter attached, as the service received it (the file itself stays with the staff).
        "attachment": {k: v for k, v in details["evidence"].items() if k != "file"}
        if isinstance(details.get("evidence"), dict) else None,
        "created_at": row.created_at.isoformat(),
        "steps": steps,
        "service_levels": {"acknowledge_hours": ack_hours, "decide_hours": decide_hours,
                           "acknowledge_due": levels["acknowledge_due"], "decide_due": levels["decide_due"],
                           "overdue": levels["overdue"]},
        "outcome": {"action": row.outcome, "reasons": row.outcome_reasons,
                    "decided_at": row.decided_at.isoformat() if row.decided_at else None} if decided else None,
    }
