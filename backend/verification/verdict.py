"""The signature verdict of a verify answer (the label state: backend/detection/policy.py)."""

from __future__ import annotations

from typing import Any

from backend.manifest_data import ManifestData
from backend.verification.provenance import Provenance
from backend.vocabulary import Verdict

VERDICTS = tuple(Verdict)


def decide(prov: Provenance, summary: dict[str, Any] | None, data: ManifestData) -> Verdict:
    if prov.state is None:
        # a format that cannot carry a manifest (Matroska, Ogg) is unsigned, not unreadable
        return Verdict.UNSIGNED if prov.error == "ManifestNotFound" or not prov.embeddable else Verdict.UNREADABLE
    if prov.state == "Invalid":
        return Verdict.TAMPERED
    if prov.state == "Trusted":
        source = (summary or {}).get("digital_source_type")
        return Verdict.SIGNED_SYNTHETIC if data.is_synthetic_uri(source) else Verdict.SIGNED_NOT_SYNTHETIC
    return Verdict.SIGNED_UNTRUSTED
