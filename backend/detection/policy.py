"""The one place detector signals become a detection verdict and the label state a player shows.

1. a fingerprint match on the prohibited list → `matches_prohibited` (label state `blocked`; the caller
   records it in the audit log), on the refuted list → `matches_refuted` (the refutation attached);
2. avlabel's own watermark whose claim the fingerprint confirms, or a fingerprint match on the signed list
   → `copy_of_signed` (the registry entry and its label recovered). The watermark's key is public (every
   manifest names it) and the embedder is open, so a key alone proves nothing: it counts only when the
   picture's PDQ hash also matches the signed original it names; otherwise it is an unverified watermark,
   reported as evidence with score 0 (no verdict, content id or label from it);
3. otherwise the strongest metadata or open-watermark signal: ≥ LIKELY → `unsigned_likely_synthetic`,
   ≥ POSSIBLY → `unsigned_possibly_synthetic`; else `unsigned_no_signal`.
4. A learned model alone: it may say `unsigned_possibly_synthetic` (viewers see "疑似") only when its card
   met the bar (`viewer_facing`: the viewer threshold's false-positive rate on held-out real media was
   measured at or below 0.5 %) and its score reaches that viewer threshold. A model score at or above its
   review threshold that labels nothing (below the viewer threshold, or a model that is not
   viewer-facing) gives no viewer label: `Decision.review` asks for a moderation case "detector flag,
   needs review" with the scores and the model card (opened or joined by detection/pipeline.py); the
   moderator's decision labels or clears it.

Detection is evidence, not proof: every verdict is worded as a likelihood ("疑似" / "possibly").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from backend.vocabulary import MODERATED_STATES, DetectionVerdict, LabelState, Verdict
from detectors.base import Signal

LIKELY = 0.85
POSSIBLY = 0.5
_SYNTHESIS_KINDS = ("metadata", "watermark", "model")
SOFT_BINDING = "avlabel-soft-binding"
_MATCH_DETECTORS = (SOFT_BINDING, "fingerprint")
DETECTION_VERDICTS = tuple(DetectionVerdict)
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
    watermark: dict[str, Any] | None = None  # {"key", "content_id_claimed", "verified"}; None: no registered key
    signals: tuple[Signal, ...] = ()  # the signals as answered (the soft-binding one says whether it verified)
    review: dict[str, Any] | None = None  # model flags that need a moderator (no viewer label from them)


REVIEW_REASON = "detector flag, needs review"


def _model_labels(s: Signal) -> bool:
    return s.kind == "model" and s.evidence.get("viewer_facing") is True and s.evidence.get("above_threshold") is True


def _review(signals: list[Signal], verdict: str) -> dict[str, Any] | None:
    """The model signals past their review threshold, when nothing else labels the media."""
    if verdict != DetectionVerdict.UNSIGNED_NO_SIGNAL:
        return None
    flags = [s for s in signals if s.kind == "model" and s.evidence.get("above_review_threshold") is True]
    if not flags:
        return None
    return {"reason": REVIEW_REASON, "detectors": [
        {"detector": s.detector, "score": s.score, "model_version": s.evidence.get("model_version", s.version),
         "review_threshold": s.evidence.get("review_threshold"), "viewer_threshold": s.evidence.get("viewer_threshold"),
         "viewer_facing": s.evidence.get("viewer_facing") is True, "card": s.evidence.get("card"),
         "held_out": s.evidence.get("held_out")} for s in flags]}


def decide(signals: list[Signal], resolve_content: ResolveContent | None) -> Decision:
    signals, watermark = attribute_watermark(signals)
    match, prohibited = _match(signals, resolve_content)
    verdict = match["type"] if match else _synthesis_verdict(signals)
    review = None if match else _review(signals, verdict)
    return Decision(verdict, match, prohibited, watermark, tuple(signals), review)


def _signed_matches(signals: list[Signal]) -> list[dict[str, Any]]:
    fp = next((s for s in signals if s.detector == "fingerprint"), None)
    return [m for m in (fp.evidence.get("matches", []) if fp else []) if m["list"] == "signed"]


def attribute_watermark(signals: list[Signal]) -> tuple[list[Signal], dict[str, Any] | None]:
    """Check the soft-binding key's claim against the fingerprint: verified only when the signed list's
    entry for the claimed content id is within the PDQ threshold of this picture (the matcher only returns
    hashes within it). The signal is rewritten to say `content_id_claimed` and `verified`."""
    wm = next((s for s in signals if s.detector == SOFT_BINDING), None)
    if wm is None:
        return signals, None
    evidence = dict(wm.evidence)
    claimed = str(evidence.pop("content_id", evidence.get("content_id_claimed", "")))
    verified = any(str(m["ref"]) == claimed for m in _signed_matches(signals))
    evidence.update(content_id_claimed=claimed, verified=verified)
    checked = replace(wm, evidence=evidence, score=wm.score if verified else 0.0)
    summary = {"key": evidence.get("key"), "content_id_claimed": claimed, "verified": verified}
    return [checked if s is wm else s for s in signals], summary


def display_state(verdict: str, detection_verdict: str | None, match_state: str | None = None) -> str:
    """The label state a player shows for a verify answer: a `LabelState`, or the `signed_untrusted` verdict.

    A prohibited or refuted match wins over anything the (failed) signature says; a copy of signed content
    shows the registry's override (blocked, refuted, pending_label) or, since the copy itself carries no
    valid signature, "possibly synthetic"."""
    if detection_verdict == DetectionVerdict.MATCHES_PROHIBITED:
        return LabelState.BLOCKED
    if detection_verdict == DetectionVerdict.MATCHES_REFUTED:
        return LabelState.REFUTED
    if verdict in (Verdict.SIGNED_SYNTHETIC, Verdict.SIGNED_NOT_SYNTHETIC, Verdict.SIGNED_UNTRUSTED, Verdict.TAMPERED):
        return verdict
    if detection_verdict == DetectionVerdict.COPY_OF_SIGNED:
        return match_state or LabelState.POSSIBLY_SYNTHETIC
    if detection_verdict in (DetectionVerdict.UNSIGNED_LIKELY_SYNTHETIC, DetectionVerdict.UNSIGNED_POSSIBLY_SYNTHETIC):
        return LabelState.POSSIBLY_SYNTHETIC
    return LabelState.UNSIGNED


def _synthesis_verdict(signals: list[Signal]) -> str:
    evidence = [s for s in signals if s.kind in _SYNTHESIS_KINDS and s.detector not in _MATCH_DETECTORS]
    top = max((s.score for s in evidence if s.kind != "model"), default=0.0)
    if top >= LIKELY:
        return DetectionVerdict.UNSIGNED_LIKELY_SYNTHETIC
    # A learned model labels only when its card met the bar and only past the viewer threshold; on its
    # own it is never more than "possibly": the cards say what generators it has (not) seen.
    model_flag = any(_model_labels(s) for s in evidence)
    if top >= POSSIBLY or model_flag:
        return DetectionVerdict.UNSIGNED_POSSIBLY_SYNTHETIC
    return DetectionVerdict.UNSIGNED_NO_SIGNAL


def _match(signals: list[Signal],
           resolve_content: ResolveContent | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    fp = next((s for s in signals if s.detector == "fingerprint"), None)
    matches: list[dict[str, Any]] = list(fp.evidence.get("matches", [])) if fp else []
    for wanted, kind in (("prohibited", DetectionVerdict.MATCHES_PROHIBITED),
                         ("refuted", DetectionVerdict.MATCHES_REFUTED)):
        hit = next((m for m in matches if m["list"] == wanted), None)
        if hit:
            result = {"type": kind, "via": "fingerprint", "list": wanted, "ref": hit["ref"],
                      "distance": hit["distance"], "fingerprint": hit["kind"], "note": hit.get("note") or {},
                      "label_state": LabelState.BLOCKED if wanted == "prohibited" else LabelState.REFUTED}
            if wanted == "refuted":
                result["refutation"] = hit.get("note") or {}
                return result, None
            return result, hit
    wm = next((s for s in signals if s.detector == SOFT_BINDING and s.evidence.get("verified") is True), None)
    signed = next((m for m in matches if m["list"] == "signed"), None)
    if wm is None and signed is None:
        return None, None
    content_id = str(wm.evidence["content_id_claimed"]) if wm else str(signed["ref"] if signed else "")
    entry = resolve_content(content_id) if resolve_content else None
    state = (entry or {}).get("label_state") or LabelState.POSSIBLY_SYNTHETIC
    if state not in MODERATED_STATES:
        state = LabelState.POSSIBLY_SYNTHETIC if (entry or {}).get("synthetic", True) else LabelState.UNSIGNED
    return {"type": DetectionVerdict.COPY_OF_SIGNED, "via": "watermark" if wm else "fingerprint",
            "content_id": content_id,
            "distance": None if wm else signed["distance"] if signed else None,
            "registry": entry, "label_state": state,
            "recovered_label": {"state": LabelState.SIGNED_SYNTHETIC if (entry or {}).get("synthetic", True)
                                else LabelState.SIGNED_NOT_SYNTHETIC,
                                "override": (entry or {}).get("label_state")}}, None
