"""The verify pipeline: media → provenance → (unsigned: detection) → verdict and label state.

One pipeline for the request path, the queued job child and ingest; `progress(fraction, stage)` is how
a caller follows it (stages: provenance, provenance_read, detectors or a detector's name, verdict)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from backend.detection.pipeline import Detection
from backend.detection.policy import display_state
from backend.manifest_data import ManifestData
from backend.media import Media
from backend.store.db import Database, iso_utc
from backend.store.schema import contents
from backend.verification.provenance import ProvenanceReader, summarise
from backend.verification.verdict import decide

Progress = Callable[[float, str], None]


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

    def verify_media(self, media: Media, progress: Progress | None = None) -> dict[str, Any]:
        """Blocking; run it off the event loop."""
        report = progress or _silent
        report(0.15, "provenance")
        prov = self.reader.read(media.path, media.mime)
        report(0.4, "provenance_read")
        summary = summarise(prov.manifest)
        verdict = decide(prov, summary, self.data)
        registry = registry_by_sha(self.db, media.sha256)
        detection: dict[str, Any] = {
            "verdict": None,
            "signals": [],
            "detectors_ran": [],
            "match": None,
            "errors": [],
            "note": "no detector ran",
        }
        if verdict in ("unsigned", "unreadable", "tampered") and self.detection is not None:
            report(0.45, "detectors")
            # each detector reports as a fraction of detection's share of the work
            detection = self.detection.run(media, prov, lambda f, stage: report(0.45 + 0.5 * f, stage))
            report(0.95, "verdict")
        answer: dict[str, Any] = {
            "verdict": verdict,
            "sha256": media.sha256,
            "mime": media.mime,
            "size": media.size,
            "content_id": (registry or {}).get("content_id") or (summary or {}).get("content_id"),
            "manifest": summary,
            "validation_state": prov.state,
            "failure_codes": prov.failure_codes,
            "c2pa_error": prov.error,
            "c2pa_error_message": prov.error_message,
            "remote_manifest_url": prov.remote_url,
            "registry": registry,
            "detection": detection,
        }
        match = detection.get("match") or {}
        if answer["content_id"] is None and match.get("content_id"):
            answer["content_id"] = match["content_id"]  # a stripped copy: the original's id, for label lookups
        state = display_state(verdict, detection.get("verdict"), match.get("label_state"))
        answer["label_state"] = state
        answer["display"] = self.data.display(state)
        return answer

    def registry_by_sha(self, sha256: str) -> dict[str, Any] | None:
        return registry_by_sha(self.db, sha256)

    def registry_by_id(self, content_id: str) -> dict[str, Any] | None:
        return registry_by_id(self.db, content_id)

    def lookup(self, sha256: str | None, content_id: str | None) -> dict[str, Any] | None:
        entry = self.registry_by_id(content_id) if content_id else self.registry_by_sha(sha256 or "")
        if entry is None:
            return None
        state = "signed_synthetic" if entry["synthetic"] else "signed_not_synthetic"
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
        row = conn.execute(
            select(contents).where((contents.c.sha256 == sha256) | (contents.c.input_sha256 == sha256))
        ).first()
    return registry_entry(row) if row else None


def registry_by_id(db: Database, content_id: str) -> dict[str, Any] | None:
    with db.read() as conn:
        row = conn.execute(select(contents).where(contents.c.content_id == content_id)).first()
    return registry_entry(row) if row else None


def registry_entry(row: Any) -> dict[str, Any]:
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
    }
