"""The verify pipeline: media → provenance → (unsigned: detection) → verdict and label state.

One pipeline for the request path, the queued job child and ingest; `progress(fraction, stage)` is how
a caller follows it (stages: provenance, provenance_read, detectors or a detector's name, verdict)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend import implicit_label, registry, tiers
from backend.detection.pipeline import Detection
from backend.detection.policy import display_state
from backend.manifest_data import ManifestData
from backend.media import Media
from backend.store.db import Database, iso_utc
from backend.verification.provenance import ProvenanceReader, summarise
from backend.verification.verdict import decide
from backend.vocabulary import Verdict

Progress = Callable[[float, str], None]
TRUSTED_VERDICTS = ("signed_synthetic", "signed_not_synthetic")
MODERATED_STATES = ("blocked", "pending_label", "refuted")


def _silent(fraction: float, stage: str) -> None:
    return None


class VerifyService:
    def __init__(self, db: Database, reader: ProvenanceReader, data: ManifestData,
                 detection: Detection | None = None) -> None:
        self.db = db
        self.reader = reader
        self.data = data
        self.detection = detection

    @property
    def detection_version(self) -> str:
        """Names the detectors (and list state) behind an answer; "none" without detection."""
        return "none" if self.detection is None else self.detection.version

    def verify_media(self, media: Media, progress: Progress | None = None, detect: bool = True) -> dict[str, Any]:
        """Blocking; run it off the event loop. `detect=False`: no detectors (ingest of a file whose implicit
        label already speaks)."""
        report = progress or _silent
        report(0.15, "provenance")
        prov = self.reader.read(media.path, media.mime)
        report(0.4, "provenance_read")
        summary = summarise(prov.manifest)
        verdict = decide(prov, summary, self.data)
        entry = registry_by_sha(self.db, media.sha256)
        detection: dict[str, Any] = {
            "verdict": None,
            "signals": [],
            "detectors_ran": [],
            "match": None,
            "errors": [],
            "note": "no detector ran",
        }
        unproven = verdict in (Verdict.UNSIGNED, Verdict.UNREADABLE, Verdict.TAMPERED)
        if entry is not None and not prov.embeddable:
            # Matroska, Ogg: registration by hash stands in for the manifest; these exact bytes were tiered when
            # they were registered (detectors would only find the file's own fingerprints, "a copy" of itself)
            unproven = False
            detection["note"] = "these exact bytes are registered (a format without C2PA): the registry answers"
        if detect and unproven and self.detection is not None:
            report(0.45, "detectors")
            # each detector reports as a fraction of detection's share of the work
            detection = self.detection.run(media, prov, lambda f, stage: report(0.45 + 0.5 * f, stage))
            report(0.95, "verdict")
        answer: dict[str, Any] = {
            "verdict": verdict,
            "sha256": media.sha256,
            "mime": media.mime,
            "size": media.size,
            "content_id": claimed_content_id(verdict, entry, summary),
            "manifest": summary,
            "validation_state": prov.state,
            "failure_codes": prov.failure_codes,
            "c2pa_error": prov.error,
            "c2pa_error_message": prov.error_message,
            "c2pa_supported": prov.embeddable,  # False: the format cannot carry a manifest (Matroska, Ogg)
            "remote_manifest_url": prov.remote_url,
            "registry": entry,
            "detection": detection,
        }
        match = detection.get("match") or {}
        if answer["content_id"] is None and match.get("content_id"):
            answer["content_id"] = match["content_id"]  # a stripped copy: the original's id, for label lookups
        state = display_state(verdict, detection.get("verdict"), match.get("label_state"))
        answer["label_state"] = state
        answer["display"] = self.data.display(state)
        self.with_tier(answer, media, summary, prov.state, entry)
        return self.with_moderation(answer, entry)

    def with_tier(self, answer: dict[str, Any], media: Media, summary: dict[str, Any] | None, c2pa_state: str | None,
                  entry: dict[str, Any] | None) -> None:
        """The GB 45438 tier from where the evidence comes from, beside (never instead of) the issuer's trust
        and the file's integrity: a manifest from any issuer, even on an altered file, that declares AI
        generation is `ai_generated`; the file's implicit label; the registry's tier for these bytes (an
        ingest declaration); else detection."""
        reading = implicit_label.read(media.path, media.mime)
        source_type = (summary or {}).get("digital_source_type")
        record_label = (reading.record or {}).get("Label") if reading.status == "present" else None
        detection = answer["detection"].get("verdict")
        tier = tiers.decide(manifest_ai=self.data.is_synthetic_uri(source_type), record_label=record_label,
                            detection_verdict=detection) or (entry or {}).get("tier")
        answer["implicit_label"] = reading.as_dict()
        answer["tier"] = tier
        answer["tier_display"] = tiers.wording(self.data, tier, source_type or (entry or {}).get("digital_source_type"))
        answer["issuer_trust"] = tiers.issuer_trust(c2pa_state)
        answer["integrity"] = tiers.integrity(c2pa_state)
        shown = answer["tier_display"]
        if shown is not None and answer["label_state"] not in MODERATED_STATES:
            answer["display"] = {"zh": shown["zh"], "en": shown["en"]}

    def with_moderation(self, answer: dict[str, Any], entry: dict[str, Any] | None) -> dict[str, Any]:
        """A moderator's decision on these bytes' registry entry wins over what the signature says: blocked
        bytes answer `blocked`, signed or not (also for a stored analysis made before the decision)."""
        override = (entry or {}).get("label_state")
        if override in MODERATED_STATES:
            answer["label_state"] = override
            answer["display"] = self.data.display(override)
        return answer

    def registry_by_sha(self, sha256: str) -> dict[str, Any] | None:
        return registry_by_sha(self.db, sha256)

    def registry_by_id(self, content_id: str) -> dict[str, Any] | None:
        return registry_by_id(self.db, content_id)

    def lookup(self, sha256: str | None, content_id: str | None) -> dict[str, Any] | None:
        entry = self.registry_by_id(content_id) if content_id else self.registry_by_sha(sha256 or "")
        if entry is None:
            return None
        state = Verdict.SIGNED_SYNTHETIC if entry["synthetic"] else Verdict.SIGNED_NOT_SYNTHETIC
        return {
            "verdict": state,
            "sha256": entry["sha256"],
            "content_id": entry["content_id"],
            "manifest": None,
            "validation_state": None,
            "failure_codes": [],
            "registry": entry,
            "label_state": entry["label_state"] or state,
            "display": self.data.display(entry["label_state"] or state),
            "note": "answered from the content registry; upload the file to check its signature",
        }


def registry_by_sha(db: Database, sha256: str) -> dict[str, Any] | None:
    with db.read() as conn:
        row = registry.by_sha256(conn, sha256)
    return registry_entry(row) if row else None


def registry_by_id(db: Database, content_id: str) -> dict[str, Any] | None:
    with db.read() as conn:
        row = registry.by_id(conn, content_id)
    return registry_entry(row) if row else None


def claimed_content_id(verdict: str, entry: dict[str, Any] | None, summary: dict[str, Any] | None) -> str | None:
    """The registry's id for these bytes; else the manifest's own claim, but only from a trusted signer
    (anyone can write any registered id into a manifest signed with their own certificate)."""
    if entry and entry.get("content_id"):
        return str(entry["content_id"])
    if verdict in TRUSTED_VERDICTS and summary and summary.get("content_id"):
        return str(summary["content_id"])
    return None


def registry_entry(row: registry.Content) -> dict[str, Any]:
    return {
        "content_id": row.content_id,
        "sha256": row.sha256,
        "publisher": row.publisher_name,
        "generator": row.generator,
        "digital_source_type": row.source_type,
        "manifest_label": row.manifest_label,
        "mime": row.mime,
        "issuer": row.issuer,
        "signed_at": iso_utc(row.created_at),
        "synthetic": bool(row.synthetic),
        "label_state": row.label_state,
        "tier": row.effective_tier,
        "origin": row.origin,
    }
