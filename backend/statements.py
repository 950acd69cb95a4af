"""Statements of reasons (Art. 14 notices; DSA Art. 17): what every decision tells the people it concerns.

A statement is built in the decision's own transaction and stored with the decision
(`case_actions.details["statement"]`, append-only like the decision): the facts, the rule cited from the
policy catalogue, the action and its scope, whether automated detection was used and whether the
decision itself was automated, and the redress (the appeal page and its deadline). The publisher gets it
in the webhook and on its appeal page, the reporter on the follow page. `dsa_statement` turns one into a
DSA Transparency Database statement (no personal data), checked against
manifests/dsa_tdb_statement.schema.json in tests/backend/test_statements.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.policy_catalogue import Rule
from backend.vocabulary import CaseOrigin, ModerationAction

VERSION = 1
MAX_FACTS = 2000
# How a decision restricts, in the Transparency Database's words; decisions without a restriction
# (dismiss, warn, reinstate, a reversal) have no database statement.
VISIBILITY = {
    ModerationAction.BLOCK: ["DECISION_VISIBILITY_CONTENT_DISABLED"],
    ModerationAction.STOP_UNTIL_LABELLED: ["DECISION_VISIBILITY_OTHER"],
    ModerationAction.LABEL: ["DECISION_VISIBILITY_CONTENT_LABELLED"],
    ModerationAction.REFUTE: ["DECISION_VISIBILITY_CONTENT_LABELLED"],
}
VISIBILITY_OTHER = {ModerationAction.STOP_UNTIL_LABELLED: "Playback paused until the publisher adds the AI label"}
ACCOUNT = {ModerationAction.SUSPEND: "DECISION_ACCOUNT_SUSPENDED",
           ModerationAction.CLOSE: "DECISION_ACCOUNT_TERMINATED"}
PROVISION = {ModerationAction.RESTRICT: "DECISION_PROVISION_PARTIAL_SUSPENSION"}
SOURCE_TYPE = {CaseOrigin.REPORT: "SOURCE_ARTICLE_16", CaseOrigin.DETECTOR_FLAG: "SOURCE_VOLUNTARY",
               CaseOrigin.APPEAL: "SOURCE_TYPE_OTHER_NOTIFICATION"}
ACCOUNT_SCOPE = {ModerationAction.WARN, ModerationAction.RESTRICT, ModerationAction.SUSPEND, ModerationAction.CLOSE,
                 ModerationAction.REINSTATE}


def _iso(value: dt.datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def default_facts(origin: str, category: str, report_count: int, details: dict[str, Any] | None) -> str:
    """Facts that name no person: what brought the case and what was reviewed."""
    if origin == CaseOrigin.DETECTOR_FLAG:
        models = ", ".join(f"{m['name']} (score {m['score']})" for m in flag_models(details)) or "a detector"
        return f"Flagged for review by {models}; a moderator reviewed the media and the verification result."
    if origin == CaseOrigin.APPEAL:
        return "An appeal against an earlier decision; a second moderator reviewed the media and the decision."
    return (f"Reported by {report_count} viewer(s) as '{category}'; a moderator reviewed the media and the "
            "verification result.")


def flag_models(details: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The model scores of a detector-flag case (`details["detector_flag"]["detectors"]`, the shape the
    detection policy's review flag has; `models` with `name` is read too), in one shape."""
    flag = (details or {}).get("detector_flag") or {}
    items = flag.get("detectors") or flag.get("models") or []
    out = []
    for m in items:
        if not isinstance(m, dict) or not (m.get("detector") or m.get("name")):
            continue
        out.append({"name": str(m.get("detector") or m.get("name")), "score": m.get("score"),
                    "version": m.get("model_version") or m.get("version"),
                    "threshold": m.get("review_threshold", m.get("threshold")),
                    "viewer_threshold": m.get("viewer_threshold"), "card": m.get("card") or m.get("model_card"),
                    "held_out": m.get("held_out")})
    return out


def build(*, action: str, category: str, origin: str, rule: Rule, facts: str, content_ids: list[str],
          account_change: dict[str, Any] | None, automated_detection: bool, decided_at: dt.datetime,
          appeal_days: int, mime: str | None, synthetic: bool | None, content_date: dt.datetime | None,
          appeal_of: str | None = None) -> dict[str, Any]:
    if action in ACCOUNT_SCOPE:
        scope: dict[str, Any] = {"kind": "account", **(account_change or {})}
    elif content_ids:
        scope = {"kind": "content", "content_ids": content_ids, "copies": max(0, len(content_ids) - 1)}
    else:
        scope = {"kind": "case"}
    return {
        "version": VERSION,
        "facts": facts[:MAX_FACTS],
        "rule": rule.public(),
        "dsa_category": rule.dsa_category,
        "action": action,
        "scope": scope,
        "category": category,
        "source": origin,
        "automated_detection": automated_detection,
        "automated_decision": False,  # every decision here is a moderator's
        "decided_at": _iso(decided_at),
        "redress": {
            "appeal_days": appeal_days,
            "appeal_until": _iso(decided_at + dt.timedelta(days=appeal_days)),
            "other": "an appeal to the platform, then a complaint to the regulator or the courts",
        },
        "media": {"mime": mime, "synthetic": synthetic,
                  "content_date": content_date.date().isoformat() if content_date else None},
        **({"appeal_of": appeal_of} if appeal_of else {}),
    }


def content_types(mime: str | None, synthetic: bool | None) -> list[str]:
    kinds = []
    top = (mime or "").split("/")[0]
    kinds.append({"image": "CONTENT_TYPE_IMAGE", "video": "CONTENT_TYPE_VIDEO",
                  "audio": "CONTENT_TYPE_AUDIO"}.get(top, "CONTENT_TYPE_OTHER"))
    if synthetic:
        kinds.append("CONTENT_TYPE_SYNTHETIC_MEDIA")
    return kinds


def dsa_statement(decision_id: int, statement: dict[str, Any]) -> dict[str, Any] | None:
    """The DSA Transparency Database statement for a decision, or None when it restricts nothing.

    Field names and values follow the database's API (manifests/dsa_tdb_statement.schema.json cites the
    source). No personal data: no account, name, reporter, contact or description leaves here."""
    action = statement["action"]
    out: dict[str, Any] = {}
    if action in VISIBILITY:
        out["decision_visibility"] = VISIBILITY[action]
        if action in VISIBILITY_OTHER:
            out["decision_visibility_other"] = VISIBILITY_OTHER[action]
    elif action in ACCOUNT:
        out["decision_account"] = ACCOUNT[action]
        out["account_type"] = "ACCOUNT_TYPE_BUSINESS"  # publishers are verified organisations or traders
    elif action in PROVISION:
        out["decision_provision"] = PROVISION[action]
    else:
        return None
    rule = statement["rule"]
    facts = str(statement["facts"])
    if rule["ground"] == "illegal":
        out.update(decision_ground="DECISION_GROUND_ILLEGAL_CONTENT",
                   illegal_content_legal_ground=rule["article"][:500], illegal_content_explanation=facts[:2000])
    else:
        out.update(decision_ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
                   incompatible_content_ground=rule["article"][:500], incompatible_content_explanation=facts[:2000],
                   incompatible_content_illegal="No")
    if str(rule.get("url", "")).startswith("https://"):
        out["decision_ground_reference_url"] = rule["url"][:500]
    media = statement.get("media") or {}
    content_type = content_types(media.get("mime"), media.get("synthetic"))
    if "CONTENT_TYPE_OTHER" in content_type:
        out["content_type_other"] = "account" if media.get("mime") is None else str(media["mime"])[:500]
    decided = statement["decided_at"][:10]
    out.update(
        content_type=content_type,
        category=statement["dsa_category"],
        content_date=media.get("content_date") or decided,
        application_date=decided,
        decision_facts=facts[:5000],
        source_type=SOURCE_TYPE.get(statement.get("source", CaseOrigin.REPORT), "SOURCE_ARTICLE_16"),
        automated_detection="Yes" if statement["automated_detection"] else "No",
        automated_decision="AUTOMATED_DECISION_FULLY" if statement["automated_decision"]
        else "AUTOMATED_DECISION_NOT_AUTOMATED",
        puid=f"avlabel-decision-{decision_id}",
    )
    return out
