"""The signature verdict of a verify answer (the label state: backend/detection/policy.py)."""

from __future__ import annotations

from typing import Any

from backend.manifest_data import ManifestData
from backend.verification.provenance import Provenance

VERDICTS = ("signed_synthetic", "signed_not_synthetic", "signed_untrusted", "tampered", "unsigned", "unreadable")


def decide(prov: Provenance, summary: dict[str, Any] | None, data: ManifestData) -> str:
    if prov.state is None:
        return "unsigned" if prov.error == "ManifestNotFound" else "unreadable"
    if prov.state == "Invalid":
        return "tampered"
    if prov.state == "Trusted":
        source = (summary or {}).get("digital_source_type")
        return "signed_synthetic" if data.is_synthetic_uri(source) else "signed_not_synthetic"
    return "signed_untrusted"
