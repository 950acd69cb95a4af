"""The HTTP API's request and response models, declared once: the OpenAPI document is generated from them
(backend/openapi.py) and the JSON routes validate their bodies with them (`parse_body`).

Limits come from the domain modules that enforce them; a model only says how they look on the wire.
A bad field answers 400 with the field's own error code, as the routes did before the models existed.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from backend import accounts, cases, passwords, registry, registry_urls, reports
from backend.errors import ApiError
from backend.vocabulary import JobStatus, LabelState, Verdict

NO_CONTROLS = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
TITLE_CHARS = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
SHA256_HEX = "^[0-9a-fA-F]{64}$"
VERDICTS = tuple(Verdict)
LABEL_STATES = tuple(LabelState)
JOB_STATUSES = tuple(JobStatus)


class Body(BaseModel):
    """A JSON request body. `error_codes` maps "field:error-type" or "field" to (code, message)."""

    model_config = ConfigDict(extra="ignore")
    error_codes: ClassVar[dict[str, tuple[str, str]]] = {}


class Answer(BaseModel):
    """A JSON response: the listed fields are documented, others may be present."""

    model_config = ConfigDict(extra="allow")


M = TypeVar("M", bound=Body)


def parse_body(model: type[M], body: dict[str, Any]) -> M:
    """The body as `model`, or the 400 its first bad field has always answered."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        if not field:  # a rule across fields (model validator): its type is the code
            raise ApiError(400, first["type"], first["msg"]) from None
        code, message = model.error_codes.get(f"{field}:{first['type']}") or model.error_codes.get(
            field, (f"invalid_{field}", f"`{field}`: {first['msg']}"))
        raise ApiError(400, code, message) from None


# --- requests ---------------------------------------------------------------------------------------------

class VerifyLookup(Body):
    """POST /v1/verify as JSON: a registry lookup by hash or content id."""

    sha256: Annotated[StrictStr | None, Field(pattern=SHA256_HEX)] = None
    content_id: Annotated[StrictStr | None, Field(min_length=1, max_length=registry.LOOKUP_ID_MAX)] = None
    error_codes: ClassVar[dict[str, tuple[str, str]]] = {
        "sha256": ("invalid_sha256", "sha256 must be 64 hexadecimal characters"),
        "content_id": ("invalid_content_id", "content_id must be a string of at most 64 characters"),
    }

    @model_validator(mode="after")
    def _one_reference(self) -> VerifyLookup:
        if not self.sha256 and not self.content_id:
            raise PydanticCustomError("missing_reference", "give `sha256` or `content_id`, or upload a `file`")
        return self


_AS_STRINGS = ("invalid_account", "give `name` and `role` as strings")
_CONTACT = ("invalid_complaint_contact", "complaint_contact must be a string of at most 300 chars")


class AccountCreate(Body):
    # Name length and role are the account module's rules (invalid_name, invalid_role); here only their shape.
    name: Annotated[StrictStr, Field(json_schema_extra={"maxLength": accounts.MAX_NAME})]
    role: Annotated[StrictStr, Field(json_schema_extra={"enum": list(accounts.ROLES)})]
    complaint_contact: Annotated[StrictStr | None, Field(max_length=accounts.MAX_CONTACT)] = None
    error_codes: ClassVar[dict[str, tuple[str, str]]] = {"name": _AS_STRINGS, "role": _AS_STRINGS,
                                                         "complaint_contact": _CONTACT}


class AccountUpdate(Body):
    """Only the fields given change (the account module checks them: invalid_complaint_contact,
    invalid_webhook_url, nothing_to_change)."""

    model_config = ConfigDict(extra="ignore")
    complaint_contact: Annotated[Any, Field(json_schema_extra={"type": ["string", "null"],
                                                               "maxLength": accounts.MAX_CONTACT})] = None
    webhook_url: Annotated[Any, Field(json_schema_extra={"type": ["string", "null"],
                                                         "maxLength": accounts.MAX_WEBHOOK_URL})] = None
    # A staff account's status (admin only): suspension and closing end its console sessions and keys.
    status: Annotated[Any, Field(json_schema_extra={"type": "string",
                                                    "enum": list(accounts.STAFF_STATUSES)})] = None

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("complaint_contact", "webhook_url") if k in self.model_fields_set}


_IDENTITY = ("invalid_identity", "give `kind` and `number` as strings")


class IdentityIn(Body):
    kind: Annotated[StrictStr, Field(json_schema_extra={"enum": list(accounts.IDENTITY_KINDS)})]
    number: Annotated[StrictStr, Field(json_schema_extra={"maxLength": accounts.MAX_IDENTITY_NUMBER})]
    error_codes: ClassVar[dict[str, tuple[str, str]]] = {"kind": _IDENTITY, "number": _IDENTITY}


class PasswordIn(Body):
    # Anything but a string of the right length is a weak password (the passwords module says so).
    password: Annotated[Any, Field(json_schema_extra={"type": "string", "minLength": passwords.MIN_LENGTH,
                                                      "maxLength": passwords.MAX_LENGTH})] = ""

    def text(self) -> str:
        return self.password if isinstance(self.password, str) else ""


class OriginIn(Body):
    """Checked by registry_urls.assign (invalid_origin, invalid_path_prefix)."""

    origin: Annotated[Any, Field(json_schema_extra={"type": "string", "maxLength": registry_urls.MAX_ORIGIN,
                                                    "description": "scheme://host[:port]"})] = None
    path_prefix: Annotated[Any, Field(json_schema_extra={"type": "string", "maxLength": registry_urls.MAX_PREFIX,
                                                         "description": "default /"})] = None


class UrlsIn(Body):
    # Each URL is then checked by registry_urls.parse_all (invalid_hosting_url), at most 2000 characters.
    urls: Annotated[list[Annotated[StrictStr, Field(json_schema_extra={"maxLength": 2000})]],
                    Field(min_length=1, max_length=50)]
    error_codes: ClassVar[dict[str, tuple[str, str]]] = {
        "urls": ("invalid_urls", "give `urls`: a list of 1 to 50 URL strings")}


class ReportIn(Body):
    """Checked by reports.parse (its codes: invalid_category, invalid_description, …)."""

    category: Literal[reports.CATEGORIES]  # type: ignore[valid-type]
    description: Annotated[str, Field(min_length=1, max_length=reports.MAX_DESCRIPTION)]
    content_id: Annotated[str | None, Field(max_length=64)] = None
    media_url: Annotated[str | None, Field(max_length=reports.MAX_URL)] = None
    sha256: Annotated[str | None, Field(pattern=SHA256_HEX)] = None
    playback_time: Annotated[StrictFloat | StrictInt | None, Field(ge=0, le=reports.MAX_PLAYBACK_TIME)] = None
    contact: Annotated[str | None, Field(max_length=reports.MAX_CONTACT)] = None


class Refutation(Body):
    zh: Annotated[str | None, Field(max_length=cases.MAX_REFUTATION_TEXT)] = None
    en: Annotated[str | None, Field(max_length=cases.MAX_REFUTATION_TEXT)] = None
    url: Annotated[str | None, Field(max_length=cases.MAX_REFUTATION_URL)] = None


class CaseActionIn(Body):
    """Checked by cases.parse_action (reasons_required, refutation_required, …)."""

    action: Literal[cases.ACTIONS]  # type: ignore[valid-type]
    reasons: Annotated[str | None, Field(min_length=cases.MIN_REASONS, max_length=cases.MAX_REASONS)] = None
    refutation: Refutation | None = None


# Multipart forms: parsed by backend.uploads.read_form, checked by the signing service; documented here.
class SignForm(Body):
    file: Annotated[bytes, Field(json_schema_extra={"format": "binary", "type": "string"})]
    generator: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_CONTROLS)]
    source_type: str | None = None  # its enum is the manifest data's signable types (backend/openapi.py)
    title: Annotated[str | None, Field(max_length=500, pattern=TITLE_CHARS)] = None
    content_id: Annotated[str | None, Field(pattern=f"^{registry.CONTENT_ID_PATTERN}$")] = None
    visible_label: Literal["true", "false"] | None = None
    hosting_urls: Annotated[str | None, Field(description="comma-separated URLs")] = None


class UploadForm(Body):
    file: Annotated[bytes, Field(json_schema_extra={"format": "binary", "type": "string"})]


class ProhibitedForm(UploadForm):
    ref: Annotated[str | None, Field(pattern="^[A-Za-z0-9][A-Za-z0-9_.:-]{0,119}$")] = None
    reason: Annotated[str | None, Field(max_length=1000)] = None


# --- responses --------------------------------------------------------------------------------------------

class ErrorDetail(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    error: ErrorDetail


class VerifyAnswer(Answer):
    verdict: Literal[VERDICTS]  # type: ignore[valid-type]
    sha256: str | None = None
    content_id: str | None = None
    manifest: dict[str, Any] | None = None
    validation_state: str | None = None
    failure_codes: list[str] = []
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


class LabelDocument(Answer):
    content_id: str | None = None
    state: Literal[LABEL_STATES]  # type: ignore[valid-type]
    display: dict[str, Any] | None = None


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
    result: dict[str, Any] | None = Field(None, description="when done: the same answer as a synchronous "
                                                            "POST /v1/verify, plus analysis_version and analysed_at")
    error: JobError | None = None


class JobAccepted(Answer):
    job_id: str
    status: Literal["queued", "running"]
    status_url: str
    sha256: str = ""
    progress: float = 0.0


class ReportReceipt(Answer):
    id: str
    secret: str
    status: str
    status_url: str
    follow_url: str


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
