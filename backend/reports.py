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
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, select, text

from backend import audit
from backend.errors import ApiError
from backend.store.db import new_id, utcnow
from backend.store.schema import cases, content_urls, contents, reports

# Severity decides queue order; illegal content and deepfakes of real people come first.
SEVERITY = {
    "illegal": 100,
    "deepfake_impersonation": 90,
    "rumour": 80,
    "unlabelled_ai": 60,
    "privacy_portrait": 50,
    "intellectual_property": 30,
    "other": 10,
}
CATEGORIES = tuple(SEVERITY)
MAX_BODY_BYTES = 16 * 1024
MAX_DESCRIPTION = 4000
MAX_CONTACT = 200
MAX_URL = 2000
MAX_PLAYBACK_TIME = 1e7  # seconds
SHA256 = re.compile(r"^[0-9a-f]{64}$")
CONTENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")
OPEN_STATUSES = ("open", "acknowledged")
# What the reporter sees for each case status.
REPORT_STATUS = {"open": "received", "acknowledged": "in_review", "decided": "decided"}
_PG_CASE_LOCK = "avlabel-case:"


@dataclass(frozen=True)
class ReportInput:
    category: str
    description: str
    content_id: str | None
    media_url: str | None
    sha256: str | None
    playback_time: float | None
    contact: str | None


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
        raise ApiError(400, f"invalid_{name}", f"`{name}` must be a string")
    value = value.strip()
    if len(value) > limit:
        raise ApiError(400, f"invalid_{name}", f"`{name}` must be at most {limit} characters")
    return value or None


def parse(body: Any) -> ReportInput:
    """Checks a report body; every problem is a 400 naming the field."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_report", "the body must be a JSON object")
    category = body.get("category")
    if not isinstance(category, str) or category not in SEVERITY:
        raise ApiError(400, "invalid_category", f"`category` must be one of {', '.join(CATEGORIES)}")
    description = body.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ApiError(400, "invalid_description", "`description` is required: say what is wrong")
    if len(description) > MAX_DESCRIPTION:
        raise ApiError(400, "invalid_description", f"`description` must be at most {MAX_DESCRIPTION} characters")
    content_id = _optional_str(body, "content_id", 64)
    if content_id is not None and not CONTENT_ID.match(content_id):
        raise ApiError(400, "invalid_content_id", "`content_id` must be 3-64 letters, digits, '_', '-' or '.'")
    media_url = _optional_str(body, "media_url", MAX_URL)
    if media_url is not None and not media_url.startswith(("http://", "https://", "/")):
        raise ApiError(400, "invalid_media_url", "`media_url` must be an http(s) URL or an absolute path")
    sha = _optional_str(body, "sha256", 64)
    if sha is not None:
        sha = sha.lower()
        if not SHA256.match(sha):
            raise ApiError(400, "invalid_sha256", "`sha256` must be 64 hexadecimal characters")
    if not (content_id or media_url or sha):
        raise ApiError(400, "missing_media_reference", "give at least one of `content_id`, `media_url`, `sha256`")
    playback = body.get("playback_time")
    if playback is not None:
        if isinstance(playback, bool) or not isinstance(playback, int | float) or not math.isfinite(playback) \
                or not 0 <= playback <= MAX_PLAYBACK_TIME:
            raise ApiError(400, "invalid_playback_time", "`playback_time` must be seconds between 0 and 10,000,000")
        playback = float(playback)
    contact = _optional_str(body, "contact", MAX_CONTACT)
    return ReportInput(category, description.strip(), content_id, media_url, sha, playback, contact)


def resolve_content(conn: Connection, rep: ReportInput) -> Any:
    """The registered content the report is about, if any: by id, then by hash, then by hosting URL."""
    if rep.content_id:
        row = conn.execute(select(contents).where(contents.c.content_id == rep.content_id)).first()
        if row is None:
            raise ApiError(404, "unknown_content", "no registered content has this `content_id`")
        return row
    if rep.sha256:
        row = conn.execute(select(contents).where(
            (contents.c.sha256 == rep.sha256) | (contents.c.input_sha256 == rep.sha256)).limit(1)).first()
        if row is not None:
            return row
    if rep.media_url:
        parts = urlsplit(rep.media_url)
        candidates = {rep.media_url, parts.path} - {""}
        hit = conn.execute(select(content_urls.c.content_id).where(content_urls.c.url.in_(candidates)).limit(1)).first()
        if hit is not None:
            return conn.execute(select(contents).where(contents.c.content_id == hit.content_id)).first()
    return None


def target_key(rep: ReportInput, content: Any) -> str:
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


def create(conn: Connection, rep: ReportInput, client: str, content: Any) -> Receipt:
    """Stores the report, folding it into the open case for the same media and category."""
    key = target_key(rep, content)
    if conn.dialect.name == "postgresql":
        # Two reports on the same media at once must not open two cases.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": _PG_CASE_LOCK + key + rep.category})
    now = utcnow()
    existing = conn.execute(
        select(cases.c.id, cases.c.report_count).where(
            cases.c.target_key == key, cases.c.category == rep.category, cases.c.status.in_(OPEN_STATUSES))
        .order_by(cases.c.created_at).limit(1)
    ).first()
    if existing is not None:
        case_id = existing.id
        conn.execute(cases.update().where(cases.c.id == case_id)
                     .values(report_count=cases.c.report_count + 1, updated_at=now))
    else:
        case_id = new_id("case")
        conn.execute(cases.insert().values(
            id=case_id, target_key=key, category=rep.category, severity=SEVERITY[rep.category], status="open",
            content_id=content.content_id if content is not None else None,
            sha256=content.sha256 if content is not None else rep.sha256,
            media_url=rep.media_url, publisher_id=content.publisher_id if content is not None else None,
            report_count=1, created_at=now, updated_at=now,
        ))
        audit.append(conn, "public", "case.opened", case_id, {"category": rep.category, "target": key})
    secret = secrets.token_urlsafe(24)
    report_id = new_id("r")
    conn.execute(reports.insert().values(
        id=report_id, case_id=case_id, secret_digest=secret_digest(secret), category=rep.category,
        description=rep.description, content_id=rep.content_id or (content.content_id if content else None),
        media_url=rep.media_url, sha256=rep.sha256, playback_time=rep.playback_time, contact=rep.contact,
        client_digest=client, created_at=now,
    ))
    # The description itself stays in the reports table; its digest makes later edits evident.
    audit.append(conn, "public", "report.received", report_id, {
        "case_id": case_id, "category": rep.category, "target": key, "content_id": rep.content_id,
        "description_sha256": hashlib.sha256(rep.description.encode()).hexdigest(),
    })
    return Receipt(report_id, secret, case_id, existing is not None)


def reporter_view(conn: Connection, report_id: str, secret: str) -> dict[str, Any]:
    """What the reporter may see: their own report and the outcome. A wrong secret looks like no report."""
    row = conn.execute(
        select(reports, cases.c.status.label("case_status"), cases.c.outcome, cases.c.outcome_reasons,
               cases.c.decided_at)
        .join(cases, cases.c.id == reports.c.case_id).where(reports.c.id == report_id)
    ).first()
    if row is None or not hmac.compare_digest(row.secret_digest, secret_digest(secret)):
        raise ApiError(404, "unknown_report", "no report with this id and secret")
    decided = row.case_status == "decided"
    return {
        "id": row.id,
        "status": REPORT_STATUS.get(row.case_status, row.case_status),
        "category": row.category,
        "description": row.description,
        "content_id": row.content_id,
        "media_url": row.media_url,
        "sha256": row.sha256,
        "playback_time": row.playback_time,
        "created_at": row.created_at.isoformat(),
        "outcome": {"action": row.outcome, "reasons": row.outcome_reasons,
                    "decided_at": row.decided_at.isoformat() if row.decided_at else None} if decided else None,
    }
