"""A file's GB 45438-2025 conformance report (`avlabel check`, `POST /v1/check`): its implicit label, its C2PA
state, the tier a platform must show, whether an explicit label is expected, and what is missing.

Tiers from metadata only (detection is the verify pipeline's job): a record with `Label` 1 or a manifest whose
digital source type is synthetic (any issuer, trusted or not, tampered or not) -> `ai_generated`; a record with
`Label` 2 -> `declared_possibly`, 3 -> `suspected`; otherwise `none`.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from backend import implicit_label
from backend.manifest_data import ManifestData
from backend.media import Media
from backend.signing.keys import SigningIdentity
from backend.verification.provenance import ProvenanceReader, summarise
from backend.verification.verdict import decide

TIER_BY_LABEL = {"1": "ai_generated", "2": "declared_possibly", "3": "suspected"}


def check(media: Media, reader: ProvenanceReader, data: ManifestData, identity: SigningIdentity) -> dict[str, Any]:
    """Blocking (reads the file); run it off the event loop."""
    reading = implicit_label.read(media.path, media.mime)
    prov = reader.read(media.path, media.mime)
    summary = summarise(prov.manifest)
    verdict = decide(prov, summary, data)
    source_type = (summary or {}).get("digital_source_type")
    manifest_ai = data.is_synthetic_uri(source_type)
    record = reading.record or {}
    record_tier = TIER_BY_LABEL.get(str(record.get("Label"))) if reading.status == "present" else None
    tier = "ai_generated" if manifest_ai or record_tier == "ai_generated" else record_tier or "none"
    signature: bool | None = None
    if reading.status == "present" and record.get("ReservedCode2"):
        signature = implicit_label.verify_signature(record, identity.leaf.public_bytes(Encoding.PEM))

    missing: list[str] = []
    if reading.status == "absent" and tier != "none":
        missing.append("implicit label: no AIGC record in the file's standard metadata place")
    if reading.status == "non_compliant":
        missing.append("implicit label: the AIGC record does not follow GB 45438-2025 Annex E")
    if reading.status == "present" and tier != "none" and not (record.get("ContentPropagator")
                                                               and record.get("PropagateID")):
        missing.append("propagation fields: ContentPropagator and PropagateID are empty")
    if prov.state is None and prov.embeddable:
        missing.append("C2PA manifest: none in the file")
    elif prov.state == "Invalid":
        missing.append("C2PA manifest: the file no longer matches its manifest (tampered)")
    if manifest_ai and reading.status == "present" and record.get("Label") != "1":
        missing.append("consistency: the manifest declares AI generation but the AIGC record's Label is not 1")
    if tier != "none":
        missing.append(f"explicit label: the platform must show the {tier} label (not checked inside the file)")
    return {
        "sha256": media.sha256,
        "mime": media.mime,
        "implicit_label": {**reading.as_dict(), "signed_by_this_service": signature,
                           "writable_here": implicit_label.supported(media.mime)},
        "c2pa": {"verdict": verdict, "validation_state": prov.state, "failure_codes": prov.failure_codes,
                 "error": prov.error, "issuer": (summary or {}).get("issuer"),
                 "digital_source_type": source_type, "declares_ai": manifest_ai,
                 "supported_format": prov.embeddable, "note": None if prov.embeddable else prov.error_message},
        "tier": tier,
        "explicit_label_expected": tier != "none",
        "missing": missing,
        "compliant": not [m for m in missing if not m.startswith("explicit label")],
    }
