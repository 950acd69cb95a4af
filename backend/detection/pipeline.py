"""Detection of unsigned (or stripped, tampered) media: the detector suite, the manifest's own
declaration, then the policy's verdict. A prohibited match is recorded in the audit log (Art. 12); a
model-only flag that may not label for viewers opens or joins a "detector flag, needs review" case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend import audit, detector_flags
from backend.detection.policy import WORDING, ResolveContent, decide
from backend.media import Media
from backend.store.db import Database
from backend.verification.provenance import Provenance, summarise
from detectors.base import MediaInput
from detectors.metadata import Rules, provenance_signal
from detectors.pipeline import DetectorSuite, Progress


class Detection:
    """`version` names the detectors and the state of the moderated lists, so the job system's cached
    results are redone when either changes (a cached "no signal" must not outlive a moderator adding the
    item as prohibited)."""

    def __init__(self, suite: DetectorSuite, rules: Rules | None = None, resolve_content: ResolveContent | None = None,
                 db: Database | None = None, lists_version: Callable[[], int] | None = None) -> None:
        self.suite = suite
        self.rules = rules or Rules.load()
        self.resolve_content = resolve_content
        self.db = db  # where a prohibited match is recorded (None: not recorded)
        self.lists_version = lists_version

    @property
    def version(self) -> str:
        if self.lists_version is None:
            return self.suite.version
        return f"{self.suite.version};lists/{self.lists_version()}"

    def run(self, media: Media | MediaInput, provenance: Provenance | None = None,
            progress: Progress | None = None) -> dict[str, Any]:
        target = MediaInput(media.path, media.mime, media.sha256)
        found = self.suite.run(target, progress)
        signals, ran = list(found.signals), list(found.ran)
        if provenance is not None:
            ran.append("c2pa-declared")
            declared = provenance_signal(summarise(provenance.manifest), provenance.state,
                                         list(provenance.failure_codes), self.rules)
            if declared is not None:
                signals.append(declared)
        decision = decide(signals, self.resolve_content)
        if decision.prohibited_hit is not None:
            self._record_prohibited(target, decision.prohibited_hit)
        review = self._review(target, decision.review) if decision.review is not None else None
        return {
            "verdict": decision.verdict,
            "wording": WORDING[decision.verdict],
            "signals": [s.as_json() for s in decision.signals],
            "watermark": decision.watermark,
            "detectors_ran": ran,
            "match": decision.match,
            "errors": found.errors,
            "review": review,
        }

    def _review(self, media: MediaInput, flag: dict[str, Any]) -> dict[str, Any]:
        """A model-only flag below what may be shown to viewers: a moderation case, not a label."""
        out = {**flag, "case": None}
        if self.db is not None and media.sha256:
            with self.db.tx() as conn:
                out["case"] = detector_flags.flag_for_review(conn, media.sha256, flag)
        return out

    def _record_prohibited(self, media: MediaInput, hit: dict[str, Any]) -> None:
        """Art. 12: stop transmission and keep a record of the attempt."""
        if self.db is None:
            return
        with self.db.tx() as conn:
            audit.append(conn, "detector", "detection.prohibited_match", str(hit["ref"])[:120], {
                "sha256": media.sha256, "mime": media.mime, "distance": hit["distance"], "fingerprint": hit["kind"],
            })
