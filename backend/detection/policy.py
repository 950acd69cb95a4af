"""The one place detector signals become a detection verdict and the label state a player shows.

1. a fingerprint match on the prohibited list → `matches_prohibited` (label state `blocked`; the caller
   records it in the audit log), on the refuted list → `matches_refuted` (the refutation attached);
2. avlabel's own watermark, or a fingerprint match on the signed list → `copy_of_signed` (the registry
   entry and its label recovered);
3. otherwise the strongest metadata or open-watermark signal: ≥ LIKELY → `unsigned_likely_synthetic`,
   ≥ POSSIBLY → `unsigned_possibly_synthetic`; a learned model past its card's threshold → at most
   `unsigned_possibly_synthetic`; else `unsigned_no_signal`.

Detection is evidence, not proof: every verdict is worded as a likelihood ("疑似" / "possibly").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from detectors.base import Signal

LIKELY = 0.85
POSSIBLY = 0.5
_SYNTHESIS_KINDS = ("metadata", "watermark", "model")
_MATCH_DETECTORS = ("avlabel-soft-binding", "fingerprint")
DETECTION_VERDICTS = ("unsigned_likely_synthetic", "unsigned_possibly_synthetic", "unsigned_no_signal",
                      "copy_of_signed", "matches_prohibited", "matches_refuted")
WORDING = {
    "unsigned_likely_synthetic": {"zh": "疑似人工智能生成（信号较强）",
                                  "en": "Likely AI-generated (strong signals), not proven"},
    "unsigned_possibly_synthetic": {"zh": "疑似人工智能生成", "en": "Possibly AI-generated"},
    "unsigned_no_signal": {"zh": "未发现人工智能生成的信号（不代表内容真实）",
                           "en": "No sign of AI generation found (this does not prove the content is real)"},
    "copy_of_signed": {"zh": "疑似已登记内容的副本", "en": "Possibly a copy of registered content"},
    "matches_prohibited": {"zh": "疑似与禁止传播的内容相同，已停止传播",
                           "en": "Possibly matches prohibited content; transmission stopped"},
    "matches_refuted": {"zh": "疑似与已辟谣的内容相同", "en": "Possibly matches content that has been refuted"},
}

# content id → its registry entry (None: not registered)
ResolveContent = Callable[[str], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Decision:
    verdict: str
    match: dict[str, Any] | None
    prohibited_hit: dict[str, Any] | None  # the prohibited-list item matched, for the audit record


def decide(signals: list[Signal], resolve_content: ResolveContent | None) -> Decision:
    match, prohibited = _match(signals, resolve_content)
    verdict = match["type"] if match else _synthesis_verdict(signals)
    return Decision(verdict, match, prohibited)


def display_state(verdict: str, detection_verdict: str | None, match_state: str | None = None) -> str:
    """The label state a player shows for a verify answer.

    A prohibited or refuted match wins over anything the (failed) signature says; a copy of signed content
    shows the registry's override (blocked, refuted, pending_label) or, since the copy itself carries no
    valid signature, "possibly synthetic"."""
    if detection_verdict == "matches_prohibited":
        return "blocked"
    if detection_verdict == "matches_refuted":
        return "refuted"
    if verdict in ("signed_synthetic", "signed_not_synthetic", "signed_untrusted", "tampered"):
        return verdict
    if detection_verdict == "copy_of_signed":
        return match_state or "possibly_synthetic"
    if detection_verdict in ("unsigned_likely_synthetic", "unsigned_possibly_synthetic"):
        return "possibly_synthetic"
    return "unsigned"


def _synthesis_verdict(signals: list[Signal]) -> str:
    evidence = [s for s in signals if s.kind in _SYNTHESIS_KINDS and s.detector not in _MATCH_DETECTORS]
    top = max((s.score for s in evidence if s.kind != "model"), default=0.0)
    if top >= LIKELY:
        return "unsigned_likely_synthetic"
    # A learned model counts only past the threshold its card was evaluated at, and on its own it is
    # never more than "possibly": the cards say what generators it has (not) seen.
    model_flag = any(s.kind == "model" and s.evidence.get("above_threshold") is True for s in evidence)
    if top >= POSSIBLY or model_flag:
        return "unsigned_possibly_synthetic"
    return "unsigned_no_signal"


def _match(signals: list[Signal],
           resolve_content: ResolveContent | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    fp = next((s for s in signals if s.detector == "fingerprint"), None)
    matches: list[dict[str, Any]] = list(fp.evidence.get("matches", [])) if fp else []
    for wanted, kind in (("prohibited", "matches_prohibited"), ("refuted", "matches_refuted")):
        hit = next((m for m in matches if m["list"] == wanted), None)
        if hit:
            result = {"type": kind, "via": "fingerprint", "list": wanted, "ref": hit["ref"],
                      "distance": hit["distance"], "fingerprint": hit["kind"], "note": hit.get("note") or {},
                      "label_state": "blocked" if wanted == "prohibited" else "refuted"}
            if wanted == "refuted":
                result["refutation"] = hit.get("note") or {}
                return result, None
            return result, hit
    wm = next((s for s in signals if s.detector == "avlabel-soft-binding"), None)
    signed = next((m for m in matches if m["list"] == "signed"), None)
    if wm is None and signed is None:
        return None, None
    content_id = str(wm.evidence["content_id"]) if wm else str(signed["ref"] if signed else "")
    entry = resolve_content(content_id) if resolve_content else None
    state = (entry or {}).get("label_state") or "possibly_synthetic"
    if state not in ("blocked", "refuted", "pending_label"):
        state = "possibly_synthetic" if (entry or {}).get("synthetic", True) else "unsigned"
    return {"type": "copy_of_signed", "via": "watermark" if wm else "fingerprint", "content_id": content_id,
            "distance": None if wm else signed["distance"] if signed else None,
            "registry": entry, "label_state": state,
            "recovered_label": {"state": "signed_synthetic" if (entry or {}).get("synthetic", True)
                                else "signed_not_synthetic", "override": (entry or {}).get("label_state")}}, None
