"""The HTTP API's response models: the OpenAPI document is generated from them (backend/openapi_ops.py).

An answer documents the fields it lists; others may be present. Request bodies are in backend/api_models.py.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from backend.api_models import JOB_STATUSES, LABEL_STATES, VERDICTS, Answer


class ErrorDetail(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    error: ErrorDetail


class FragmentAnswer(Answer):
    """POST /v1/verify/fragment: a stream's init segment + one media segment, read by c2pa's fragment reader."""

    verdict: Literal[VERDICTS]  # type: ignore[valid-type]
    c2pa_state: str | None = None
    failure_codes: list[str] = []
    error: str | None = None
    manifest: dict[str, Any] | None = None
    init_bytes: int
    fragment_bytes: int


class VerifyAnswer(Answer):
    verdict: Literal[VERDICTS]  # type: ignore[valid-type]
    sha256: str | None = None
    content_id: str | None = None
    manifest: dict[str, Any] | None = None
    validation_state: str | None = None
    failure_codes: list[str] = []
    c2pa_supported: bool = Field(True, description="False: the format cannot carry a C2PA manifest (Matroska/WebM, "
                                                   "Ogg); the verdict is then `unsigned`, the reason in "
                                                   "`c2pa_error_message`")
    display: dict[str, Any] | None = None
    label_state: str = ""
    cached: bool = Field(False, description="answered from an earlier analysis of the same bytes")
    analysed_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})] = ""
    analysis_version: str = ""


class ImplicitLabelReading(Answer):
    status: Literal["present", "non_compliant", "absent"]
    record: dict[str, str] | None = None
    reasons: list[str] = []
    signed_by_this_service: bool | None = Field(None, description="ReservedCode2 verifies with this service's key")
    writable_here: bool = False


class CheckC2pa(Answer):
    verdict: Literal[VERDICTS]  # type: ignore[valid-type]
    validation_state: str | None = None
    failure_codes: list[str] = []
    declares_ai: bool = False


class CheckReport(Answer):
    """GB 45438-2025 conformance of one file."""

    sha256: str
    mime: str
    implicit_label: ImplicitLabelReading
    c2pa: CheckC2pa
    tier: Literal["ai_generated", "declared_possibly", "suspected", "none"]
    explicit_label_expected: bool
    missing: list[str]
    compliant: bool


TIER_VALUES = Literal["ai_generated", "declared_possibly", "suspected"]


class LabelDocument(Answer):
    content_id: str | None = None
    state: Literal[LABEL_STATES]  # type: ignore[valid-type]
    display: dict[str, Any] | None = None
    tier: TIER_VALUES | None = Field(None, description="GB 45438 label tier, by where the evidence comes from")
    issuer_trust: Literal["trusted", "untrusted", "none"] = "none"
    integrity: Literal["intact", "altered", "unknown"] = "unknown"


class C2paEmbedding(Answer):
    """Whether ingest embedded a C2PA manifest; never silently absent."""

    embedded: bool
    label: str | None = Field(None, description="the manifest's label (None: not embedded)")
    reason: str | None = Field(None, description="why not: the format cannot carry one (Matroska/WebM, Ogg), "
                                                 "so the file is registered by its hash")


class IngestAnswer(Answer):
    """POST /v1/ingest: the labelled file is at `media_url`; its label document is `label`."""

    content_id: str
    sha256: str
    tier: TIER_VALUES | None = None
    evidence: dict[str, Any]
    implicit_label: dict[str, Any] | None = Field(None, description="the AIGC record written (None: no AI evidence)")
    c2pa_manifest: C2paEmbedding
    media_url: str
    label: LabelDocument


class JobError(Answer):
    code: str = ""
    message: str = ""


class Job(Answer):
    job_id: str
    status: Literal[JOB_STATUSES]  # type: ignore[valid-type]
    progress: Annotated[float, Field(ge=0, le=1)]
    stage: str | None = Field(None, description="queued, claimed, probe, provenance, provenance_read, detectors "
                                                "(or a detector's own stage), verdict, done, failed")
    status_url: str
    sha256: str = ""
    mime: str = ""
    size: int = 0
    attempts: int = Field(0, description="deliveries to a worker so far")
    created_at: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = None
    started_at: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = None
    finished_at: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = None
    kind: Literal["verify", "ingest"] = Field("verify", description="ingest: a queued POST /v1/ingest, read only "
                                                                   "with the API key of the platform that queued it")
    result: dict[str, Any] | None = Field(None, description="when done: for verify, the same answer as a synchronous "
                                                            "POST /v1/verify, plus analysis_version and analysed_at; "
                                                            "for ingest, the same body as its 201 (IngestAnswer)")
    error: JobError | None = Field(None, description="when failed: the error the synchronous request would give")


class JobAccepted(Answer):
    job_id: str
    status: Literal["queued", "running"]
    status_url: str
    sha256: str = ""
    progress: float = 0.0


class Attachment(Answer):
    mime: str = Field(description="the type sniffed from the bytes")
    size: int
    sha256: str


class ReportReceipt(Answer):
    id: str
    secret: str
    status: str
    status_url: str
    follow_url: str
    items: list[dict[str, str]] = Field(default_factory=list, description="each item's report: id, case_id, "
                                                                          "status_url (the first is this one)")
    attachment: Attachment | None = Field(None, description="the file received with a multipart report")


class ProhibitedItem(Answer):
    ref: str = ""
    note: dict[str, Any] = {}
    added_at: str = ""
    hashes: int = 0


class ProhibitedList(Answer):
    list_name: str = Field("", alias="list")
    items: list[ProhibitedItem] = []


class Anything(Answer):
    """A JSON object whose fields are described in docs/contracts.md."""
