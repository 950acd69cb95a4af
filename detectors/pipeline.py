"""Runs every available detector on unsigned (or stripped, tampered) media and combines their signals.

One detector's crash never fails the answer: it becomes an entry in `errors`. The combination is decided
here and only here:

1. a fingerprint match on the prohibited list → `matches_prohibited` (label state `blocked`; recorded in
   the audit log), on the refuted list → `matches_refuted` (the refutation attached);
2. avlabel's own watermark, or a fingerprint match on the signed list → `copy_of_signed` (the registry
   entry and its label recovered);
3. otherwise the strongest metadata or open-watermark signal: ≥ LIKELY → `unsigned_likely_synthetic`,
   ≥ POSSIBLY → `unsigned_possibly_synthetic`; a learned model past its card's threshold → at most
   `unsigned_possibly_synthetic`; else `unsigned_no_signal`.

Detection is evidence, not proof: every verdict is worded as a likelihood ("疑似" / "possibly").
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend import audit
from backend.store.db import Database
from backend.verification.provenance import summarise
from detectors.base import Detector, DetectorError, MediaInput, Signal
from detectors.metadata import Rules, provenance_signal
from detectors.working_copy import PIXEL_DETECTORS, working_copy

log = logging.getLogger(__name__)

LIKELY = 0.85
POSSIBLY = 0.5
_SYNTHESIS_KINDS = ("metadata", "watermark", "model")
_MATCH_DETECTORS = ("avlabel-soft-binding", "fingerprint")
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

ResolveContent = Callable[[str], "dict[str, Any] | None"]


def load_onnx_detectors(models_dir: Path) -> list[Detector]:
    """The learned detectors, when their module is present (built by another part of the project)."""
    try:
        module = importlib.import_module("detectors.onnx_models")
    except ImportError:
        return []
    loader = getattr(module, "load_detectors", None)
    if loader is None:
        return []
    try:
        return list(loader(models_dir))
    except Exception:  # a broken model must not stop the service; it is logged and skipped
        log.exception("the ONNX detectors could not be loaded")
        return []


class Pipeline:
    def __init__(self, detectors: list[Detector], db: Database | None = None,
                 resolve_content: ResolveContent | None = None, rules: Rules | None = None) -> None:
        self.detectors = list(detectors)
        self.db = db
        self.resolve_content = resolve_content
        self.rules = rules or Rules.load()

    def add(self, detector: Detector) -> None:
        self.detectors.append(detector)

    @property
    def version(self) -> str:
        return "+".join(f"{d.name}/{d.version}" for d in self.detectors)

    def run(self, media: MediaInput, provenance: Any = None,
            progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
        signals: list[Signal] = []
        ran: list[str] = []
        errors: list[dict[str, str]] = []
        with working_copy(media) as small:
            for i, det in enumerate(self.detectors):
                if progress is not None:
                    progress(i / max(1, len(self.detectors)), det.name)
                ran.append(det.name)
                target = small if small is not None and det.name in PIXEL_DETECTORS else media
                signal = self._analyse(det, target, errors)
                if signal is not None:
                    signals.append(signal)
        if provenance is not None:
            ran.append("c2pa-declared")
            declared = provenance_signal(summarise(provenance.manifest), provenance.state,
                                         list(provenance.failure_codes), self.rules)
            if declared is not None:
                signals.append(declared)
        match = self._match(media, signals)
        verdict = match["type"] if match else self._synthesis_verdict(signals)
        return {
            "verdict": verdict,
            "wording": WORDING[verdict],
            "signals": [s.as_json() for s in signals],
            "detectors_ran": ran,
            "match": match,
            "errors": errors,
        }

    @staticmethod
    def _analyse(det: Detector, media: MediaInput, errors: list[dict[str, str]]) -> Signal | None:
        try:
            return det.analyse(media)
        except DetectorError as exc:
            errors.append({"detector": det.name, "code": "bad_media", "message": str(exc)[:300]})
        except Exception as exc:  # noqa: BLE001 — one detector's bug must not fail the answer
            log.exception("detector %s failed on %s", det.name, media.sha256)
            errors.append({"detector": det.name, "code": "detector_failed",
                           "message": f"{type(exc).__name__}: {str(exc)[:200]}"})
        return None

    @staticmethod
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

    def _match(self, media: MediaInput, signals: list[Signal]) -> dict[str, Any] | None:
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
                else:
                    self._record_prohibited(media, hit)
                return result
        wm = next((s for s in signals if s.detector == "avlabel-soft-binding"), None)
        signed = next((m for m in matches if m["list"] == "signed"), None)
        if wm is None and signed is None:
            return None
        content_id = str(wm.evidence["content_id"]) if wm else str(signed["ref"] if signed else "")
        entry = self.resolve_content(content_id) if self.resolve_content else None
        state = (entry or {}).get("label_state") or "possibly_synthetic"
        if state not in ("blocked", "refuted", "pending_label"):
            state = "possibly_synthetic" if (entry or {}).get("synthetic", True) else "unsigned"
        return {"type": "copy_of_signed", "via": "watermark" if wm else "fingerprint", "content_id": content_id,
                "distance": None if wm else signed["distance"] if signed else None,
                "registry": entry, "label_state": state,
                "recovered_label": {"state": "signed_synthetic" if (entry or {}).get("synthetic", True)
                                    else "signed_not_synthetic", "override": (entry or {}).get("label_state")}}

    def _record_prohibited(self, media: MediaInput, hit: dict[str, Any]) -> None:
        """Art. 12: stop transmission and keep a record of the attempt."""
        if self.db is None:
            return
        with self.db.tx() as conn:
            audit.append(conn, "detector", "detection.prohibited_match", str(hit["ref"])[:120], {
                "sha256": media.sha256, "mime": media.mime, "distance": hit["distance"], "fingerprint": hit["kind"],
            })
