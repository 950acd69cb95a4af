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


class IssuerTrust(StrEnum):
    """Whether the issuer of the manifest behind a label is on this service's trust list (`issuer_trust`)."""

    TRUSTED = "trusted"
    UNTRUSTED = "untrusted"
    NONE = "none"  # no manifest


class Integrity(StrEnum):
    """Whether the file still matches its manifest (`integrity`); shown apart from the tier."""

    INTACT = "intact"
    ALTERED = "altered"
    UNKNOWN = "unknown"  # no manifest to compare against


class ContentOrigin(StrEnum):
    """How a registry entry was made (`contents.origin`)."""

    SIGNED = "signed"
    INGESTED = "ingested"
    REPORTED = "reported"


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
    WRONG_AI_LABEL = "wrong_ai_label"
    DEEPFAKE_IMPERSONATION = "deepfake_impersonation"
    RUMOUR = "rumour"
    ILLEGAL = "illegal"
    PRIVACY_PORTRAIT = "privacy_portrait"
    INTELLECTUAL_PROPERTY = "intellectual_property"
    OTHER = "other"


# What the console shows for a category (the plugin's own texts are in player_plugin/src/i18n.ts).
REPORT_CATEGORY_TEXT = {
    ReportCategory.UNLABELLED_AI: "未标识的人工智能生成内容 / Unlabelled AI-generated content",
    ReportCategory.WRONG_AI_LABEL: "AI标识错误 / Wrong AI label",
    ReportCategory.DEEPFAKE_IMPERSONATION: "深度伪造、冒充他人 / Deepfake impersonation",
    ReportCategory.RUMOUR: "谣言或虚假信息 / Rumour or false information",
    ReportCategory.ILLEGAL: "违法内容 / Illegal content",
    ReportCategory.PRIVACY_PORTRAIT: "侵犯隐私或肖像权 / Privacy or portrait rights",
    ReportCategory.INTELLECTUAL_PROPERTY: "侵犯知识产权 / Intellectual property",
    ReportCategory.OTHER: "其他 / Other",
}


class CaseStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    DECIDED = "decided"


# A case that still takes reports and awaits a decision.
OPEN_CASE_STATUSES = (CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED)


class CaseOrigin(StrEnum):
    """What opened a case (`cases.origin`)."""

    REPORT = "report"  # a viewer's report (Art. 15)
    # A model score the detection policy sends to human review ("detector flag, needs review"). The case's
    # `details` carry the policy's flag: {"detector_flag": {"reason", "detectors": [{"detector", "score",
    # "model_version", "review_threshold", "viewer_threshold", "viewer_facing", "card", "held_out"}]}};
    # the review queue shows them and the metrics page counts how often moderators confirm each model.
    # A case whose category is "detector_flag" counts as one too (cases.origin_of).
    DETECTOR_FLAG = "detector_flag"
    APPEAL = "appeal"  # a publisher's appeal or a reporter's contest of an earlier decision (Art. 15, DSA Art. 20)


class AppealKind(StrEnum):
    """Who asks for a decision to be looked at again."""

    PUBLISHER = "publisher"  # the publisher of the content or the holder of the account acted on
    REPORTER = "reporter"  # a reporter contesting a dismissal


class AppealStatus(StrEnum):
    OPEN = "open"
    DECIDED = "decided"


class AppealOutcome(StrEnum):
    """What the second moderator decides on an appeal."""

    UPHELD = "upheld"  # the decision stands
    REVERSED = "reversed"  # the action is undone: label, block, refutation or account state restored
    MODIFIED = "modified"  # undone and replaced by another action


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


class JobKind(StrEnum):
    """What a queued job does: a verification (answer cached by hash) or a platform's ingest (answer per job)."""

    VERIFY = "verify"
    INGEST = "ingest"


class DeliveryStatus(StrEnum):
    """A webhook outbox row's state."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
