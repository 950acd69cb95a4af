"""The domain's words: every verdict, label state, tier, role, status, category and action the service
stores, answers or shows, defined once.

Members are `StrEnum`s, so each equals its string: JSON answers, database rows and comparisons with
plain strings read from a row or a request body are unchanged. The player plugin's constants are
generated from here (`scripts/vocabulary_ts.py` writes player_plugin/src/vocabulary.ts; a test fails
when the two drift). The texts shown for a state live in manifests/labels.json, keyed by these values.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """What the signature says about a file (`verdict` of POST /v1/verify)."""

    SIGNED_SYNTHETIC = "signed_synthetic"
    SIGNED_NOT_SYNTHETIC = "signed_not_synthetic"
    SIGNED_UNTRUSTED = "signed_untrusted"
    TAMPERED = "tampered"
    UNSIGNED = "unsigned"
    UNREADABLE = "unreadable"


class DetectionVerdict(StrEnum):
    """What detection says when the signature cannot (`detection.verdict`)."""

    UNSIGNED_LIKELY_SYNTHETIC = "unsigned_likely_synthetic"
    UNSIGNED_POSSIBLY_SYNTHETIC = "unsigned_possibly_synthetic"
    UNSIGNED_NO_SIGNAL = "unsigned_no_signal"
    COPY_OF_SIGNED = "copy_of_signed"
    MATCHES_PROHIBITED = "matches_prohibited"
    MATCHES_REFUTED = "matches_refuted"


class LabelState(StrEnum):
    """The state of a label document (`state` of GET /v1/labels), the one a player shows."""

    SIGNED_SYNTHETIC = "signed_synthetic"
    SIGNED_NOT_SYNTHETIC = "signed_not_synthetic"
    POSSIBLY_SYNTHETIC = "possibly_synthetic"
    TAMPERED = "tampered"
    UNSIGNED = "unsigned"
    PENDING_LABEL = "pending_label"
    BLOCKED = "blocked"
    REFUTED = "refuted"
    UNKNOWN = "unknown"


# The states a moderator's decision sets on a content (`contents.label_state`); NULL means "as signed".
MODERATED_STATES = (LabelState.PENDING_LABEL, LabelState.BLOCKED, LabelState.REFUTED)


class Signature(StrEnum):
    """Whether a signature backs a label document (`signature`)."""

    VALID = "valid"
    UNTRUSTED = "untrusted"
    INVALID = "invalid"
    NONE = "none"


class Tier(StrEnum):
    """Where the evidence that content is AI-generated comes from (GB 45438-2025 label tiers)."""

    AI_GENERATED = "ai_generated"  # a valid implicit label or manifest says so
    DECLARED_POSSIBLY = "declared_possibly"  # no metadata, but the uploader declares it
    SUSPECTED = "suspected"  # only detection or visible traces


class Role(StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    AUDITOR = "auditor"
    PUBLISHER = "publisher"


# Roles that may sign in to the moderation console.
CONSOLE_ROLES = (Role.ADMIN, Role.MODERATOR, Role.AUDITOR)


class AccountStatus(StrEnum):
    ACTIVE = "active"
    WARNED = "warned"
    RESTRICTED = "restricted"  # no `visible_label=false` on signing
    SUSPENDED = "suspended"  # no signing, no hosting URLs
    CLOSED = "closed"  # as suspended, and every API key revoked


# Accounts that may neither publish nor use the console.
LOCKED_OUT = (AccountStatus.SUSPENDED, AccountStatus.CLOSED)


class IdentityKind(StrEnum):
    """The document an admin checked to verify a publisher's real identity (Art. 8)."""

    ORG_CODE = "org_code"
    ID_NUMBER = "id_number"
    MOBILE = "mobile"


class ReportCategory(StrEnum):
    """What a viewer reports; the plugin's form lists them in this order."""

    UNLABELLED_AI = "unlabelled_ai"
    DEEPFAKE_IMPERSONATION = "deepfake_impersonation"
    RUMOUR = "rumour"
    ILLEGAL = "illegal"
    PRIVACY_PORTRAIT = "privacy_portrait"
    INTELLECTUAL_PROPERTY = "intellectual_property"
    OTHER = "other"


class CaseStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    DECIDED = "decided"


# A case that still takes reports and awaits a decision.
OPEN_CASE_STATUSES = (CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED)


class ReportStatus(StrEnum):
    """What the reporter sees of their report's case."""

    RECEIVED = "received"
    IN_REVIEW = "in_review"
    DECIDED = "decided"


class ModerationAction(StrEnum):
    """A moderator's action on a case: `acknowledge`, a content decision or an account action."""

    ACKNOWLEDGE = "acknowledge"
    DISMISS = "dismiss"
    STOP_UNTIL_LABELLED = "stop_until_labelled"
    LABEL = "label"
    BLOCK = "block"
    REFUTE = "refute"
    WARN = "warn"
    RESTRICT = "restrict"
    SUSPEND = "suspend"
    CLOSE = "close"
    REINSTATE = "reinstate"


# Content decisions close the case.
CONTENT_ACTIONS = (ModerationAction.DISMISS, ModerationAction.STOP_UNTIL_LABELLED, ModerationAction.LABEL,
                   ModerationAction.BLOCK, ModerationAction.REFUTE)
# Account actions and the publisher's status each one sets.
ACCOUNT_ACTIONS = {
    ModerationAction.WARN: AccountStatus.WARNED,
    ModerationAction.RESTRICT: AccountStatus.RESTRICTED,
    ModerationAction.SUSPEND: AccountStatus.SUSPENDED,
    ModerationAction.CLOSE: AccountStatus.CLOSED,
    ModerationAction.REINSTATE: AccountStatus.ACTIVE,
}


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DeliveryStatus(StrEnum):
    """A webhook outbox row's state."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
