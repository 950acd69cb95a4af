"""GB 45438-2025 label tiers: which of the three labels content gets, chosen by where the evidence comes from,
and the words each one shows. Issuer trust and integrity are separate facts, shown beside the tier.

- `ai_generated`: a valid implicit label (`Label` 1) or a C2PA manifest from ANY issuer, trusted or not, and
  also when the file no longer matches it, that declares a synthetic digital source type;
- `declared_possibly`: no such metadata, but the uploader declares it (or a record with `Label` 2);
- `suspected`: only detection or visible traces (or a record with `Label` 3).

`algorithmicallyEnhanced` media is `ai_generated` with its own wording ("AI辅助编辑" / "Edited with AI").
"""

from __future__ import annotations

from backend.manifest_data import ManifestData
from backend.vocabulary import DetectionVerdict, Integrity, IssuerTrust, Tier

ENHANCED_SUFFIX = "/algorithmicallyEnhanced"
TIER_BY_LABEL = {"1": Tier.AI_GENERATED, "2": Tier.DECLARED_POSSIBLY, "3": Tier.SUSPECTED}
LABEL_BY_TIER = {tier: code for code, tier in TIER_BY_LABEL.items()}
SUSPECTED_VERDICTS = (DetectionVerdict.UNSIGNED_LIKELY_SYNTHETIC, DetectionVerdict.UNSIGNED_POSSIBLY_SYNTHETIC,
                      DetectionVerdict.COPY_OF_SIGNED)


def decide(*, manifest_ai: bool, record_label: str | None, declared_ai: bool = False,
           detection_verdict: str | None = None) -> Tier | None:
    """The tier from the evidence, strongest source first; None: nothing says AI."""
    if manifest_ai or record_label == "1":
        return Tier.AI_GENERATED
    if declared_ai or record_label == "2":
        return Tier.DECLARED_POSSIBLY
    if record_label == "3" or detection_verdict in SUSPECTED_VERDICTS:
        return Tier.SUSPECTED
    return None


def issuer_trust(validation_state: str | None) -> IssuerTrust:
    if validation_state == "Trusted":
        return IssuerTrust.TRUSTED
    return IssuerTrust.NONE if validation_state is None else IssuerTrust.UNTRUSTED


def integrity(validation_state: str | None) -> Integrity:
    if validation_state is None:
        return Integrity.UNKNOWN
    return Integrity.ALTERED if validation_state == "Invalid" else Integrity.INTACT


def wording(data: ManifestData, tier: str | None, source_type: str | None = None) -> dict[str, str] | None:
    """{"short", "zh", "en"} for the tier; AI-enhanced media has its own words."""
    if tier is None:
        return None
    texts = data.labels.get("tiers") or {}
    key = "ai_enhanced" if tier == Tier.AI_GENERATED and (source_type or "").endswith(ENHANCED_SUFFIX) else tier
    value = texts.get(key)
    return dict(value) if isinstance(value, dict) else None
