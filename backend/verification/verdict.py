"""The one place a verdict is decided."""

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


DETECTION_VERDICTS = ("unsigned_likely_synthetic", "unsigned_possibly_synthetic", "unsigned_no_signal",
                      "copy_of_signed", "matches_prohibited", "matches_refuted")


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
