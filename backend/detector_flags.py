"""Cases opened by a learned model's score ("detector flag, needs review"), not by a viewer.

The case and its first report carry the scores, thresholds and model card, so a moderator (and the
review queue, web/console_trust.py) sees why the model raised it; a model never decides alone.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection, select, text

from backend import audit
from backend.cases import MAX_REASONS
from backend.store.db import new_id, utcnow
from backend.store.schema import cases, reports
from backend.vocabulary import CaseStatus

DETECTOR_FLAG = "detector_flag"  # a case opened by a learned model's score, not by a viewer
DETECTOR_FLAG_SEVERITY = 55  # below a viewer's "unlabelled AI" report (60)
_PG_CASE_LOCK = "avlabel-case:"


def _flag_description(flag: dict[str, Any]) -> str:
    parts = []
    for d in flag["detectors"]:
        facing = "viewer-facing" if d.get("viewer_facing") else "not viewer-facing (its card missed the bar)"
        parts.append(f"{d['detector']} {d.get('model_version')}: score {d['score']} (review threshold "
                     f"{d.get('review_threshold')}, viewer threshold {d.get('viewer_threshold')}, {facing}); "
                     f"held-out figures: {d.get('held_out')}; model card {d.get('card')}")
    return (f"{flag['reason']}. " + " | ".join(parts))[:MAX_REASONS]


def flag_for_review(conn: Connection, sha256: str, flag: dict[str, Any]) -> dict[str, Any]:
    """Open, or join, the moderation case "detector flag, needs review" for these bytes. A case the
    moderators already decided stands: it is answered, not reopened. The scores and model card go into
    the case's record (as a report by `detector`) and the audit log."""
    key = f"sha256:{sha256}"
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": _PG_CASE_LOCK + key + DETECTOR_FLAG})
    row = conn.execute(select(cases.c.id, cases.c.status, cases.c.outcome).where(
        cases.c.target_key == key, cases.c.category == DETECTOR_FLAG).order_by(cases.c.created_at.desc())
        .limit(1)).first()
    if row is not None:
        return {"case_id": row.id, "status": row.status, "outcome": row.outcome, "opened": False}
    now = utcnow()
    case_id = new_id("case")
    conn.execute(cases.insert().values(
        id=case_id, target_key=key, category=DETECTOR_FLAG, severity=DETECTOR_FLAG_SEVERITY,
        status=CaseStatus.OPEN, sha256=sha256, report_count=1, created_at=now, updated_at=now))
    conn.execute(reports.insert().values(
        id=new_id("r"), case_id=case_id, secret_digest=secrets.token_hex(32), category=DETECTOR_FLAG,
        description=_flag_description(flag), sha256=sha256, client_digest="detector", created_at=now))
    audit.append(conn, "detector", "case.opened", case_id, {
        "category": DETECTOR_FLAG, "target": key,
        "scores": {d["detector"]: d["score"] for d in flag["detectors"]},
        "models": {d["detector"]: d.get("model_version") for d in flag["detectors"]}})
    return {"case_id": case_id, "status": CaseStatus.OPEN, "outcome": None, "opened": True}
