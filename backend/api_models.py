"""The HTTP API's request models, declared once (the answers are in backend/api_answers.py): the OpenAPI
document is generated from them (backend/openapi_ops.py) and the JSON routes validate their bodies with
them (`parse_body`).

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


class StaffLoginIn(Body):
    """A staff account's sign-in username and/or e-mail (staff_login.set_login checks them)."""

    username: Annotated[Any, Field(json_schema_extra={"type": "string", "maxLength": 64})] = None
    email: Annotated[Any, Field(json_schema_extra={"type": "string", "maxLength": 254})] = None

    def values(self) -> tuple[str | None, str | None]:
        return (self.username if isinstance(self.username, str) else None,
                self.email if isinstance(self.email, str) else None)


class OriginIn(Body):
    """Checked by registry_urls.assign (invalid_origin, invalid_path_prefix)."""

    origin: Annotated[Any, Field(json_schema_extra={"type": "string", "maxLength": registry_urls.MAX_ORIGIN,
                                                    "description": "scheme://host[:port]"})] = None
    path_prefix: Annotated[Any, Field(json_schema_extra={"type": "string", "maxLength": registry_urls.MAX_PREFIX,
                                                         "description": "default /"})] = None


class StreamIn(Body):
    """Checked by streams/registration.parse (invalid_playlist_url, invalid_live, invalid_declaration)."""

    playlist_url: Annotated[Any, Field(json_schema_extra={
        "type": "string", "maxLength": registry_urls.MAX_URL,
        "description": "HLS playlist (.m3u8) or DASH manifest (.mpd) on an origin assigned to the publisher"})] = None
    live: Annotated[Any, Field(json_schema_extra={"type": "boolean", "description": "default true"})] = None
    declaration: Annotated[Any, Field(json_schema_extra={
        "type": "string", "enum": ["ai_presenter", "synthetic_voice", "none"]})] = None
    title: Annotated[Any, Field(json_schema_extra={"type": "string", "maxLength": 300})] = None


class DeclarationIn(Body):
    declaration: Annotated[Any, Field(json_schema_extra={
        "type": "string", "enum": ["ai_presenter", "synthetic_voice", "none"]})] = None


class UrlsIn(Body):
    # Each URL is then checked by registry_urls.parse_all (invalid_hosting_url), at most 2000 characters.
    urls: Annotated[list[Annotated[StrictStr, Field(json_schema_extra={"maxLength": 2000})]],
                    Field(min_length=1, max_length=50)]
    error_codes: ClassVar[dict[str, tuple[str, str]]] = {
        "urls": ("invalid_urls", "give `urls`: a list of 1 to 50 URL strings")}


class TimeRange(Body):
    """Playback seconds, 0 <= start < end <= 10,000,000 (invalid_time_range)."""

    start: Annotated[StrictFloat | StrictInt, Field(ge=0, le=reports.MAX_PLAYBACK_TIME)]
    end: Annotated[StrictFloat | StrictInt, Field(ge=0, le=reports.MAX_PLAYBACK_TIME)]


class ReportItem(Body):
    content_id: Annotated[str | None, Field(max_length=64)] = None
    media_url: Annotated[str | None, Field(max_length=reports.MAX_URL)] = None
    sha256: Annotated[str | None, Field(pattern=SHA256_HEX)] = None
    time_range: TimeRange | None = None


class ReportIn(Body):
    """Checked by reports.parse (its codes: invalid_category, invalid_description, …)."""

    category: Literal[reports.CATEGORIES]  # type: ignore[valid-type]
    description: Annotated[str, Field(min_length=1, max_length=reports.MAX_DESCRIPTION)]
    content_id: Annotated[str | None, Field(max_length=64)] = None
    media_url: Annotated[str | None, Field(max_length=reports.MAX_URL)] = None
    sha256: Annotated[str | None, Field(pattern=SHA256_HEX)] = None
    playback_time: Annotated[StrictFloat | StrictInt | None, Field(ge=0, le=reports.MAX_PLAYBACK_TIME)] = None
    contact: Annotated[str | None, Field(max_length=reports.MAX_CONTACT)] = None
    good_faith: Annotated[bool, Field(description="must be true: the reporter's good-faith statement "
                                                  "(good_faith_required)")]
    time_range: TimeRange | None = None
    items: Annotated[list[ReportItem] | None, Field(max_length=reports.MAX_ITEMS - 1, description=(
        "further media of the same report (a feed); each becomes its own report and case, sharing the secret "
        "(too_many_items, invalid_items)"))] = None


class Refutation(Body):
    zh: Annotated[str | None, Field(max_length=cases.MAX_REFUTATION_TEXT)] = None
    en: Annotated[str | None, Field(max_length=cases.MAX_REFUTATION_TEXT)] = None
    url: Annotated[str | None, Field(max_length=cases.MAX_REFUTATION_URL)] = None


class CaseActionIn(Body):
    """Checked by cases.parse_action (reasons_required, refutation_required, …)."""

    action: Literal[cases.ACTIONS]  # type: ignore[valid-type]
    reasons: Annotated[str | None, Field(min_length=cases.MIN_REASONS, max_length=cases.MAX_REASONS)] = None
    refutation: Refutation | None = None
    public_statement: Annotated[str | None, Field(max_length=cases.MAX_PUBLIC_STATEMENT)] = None
    rule: Annotated[str | None, Field(min_length=1, max_length=cases.MAX_RULE)] = None
    facts: Annotated[str | None, Field(max_length=cases.MAX_FACTS)] = None


class AppealIn(Body):
    """Checked by appeals.parse_grounds; `decision_id` and `token` for POST /v1/appeals."""

    grounds: Annotated[str, Field(min_length=10, max_length=4000)]
    decision_id: Annotated[int | None, Field(ge=1)] = None
    token: Annotated[str | None, Field(max_length=100)] = None


class AppealDecisionIn(Body):
    """Checked by appeals.parse_decision."""

    outcome: Literal["upheld", "reversed", "modified"]
    reasons: Annotated[str, Field(min_length=cases.MIN_REASONS, max_length=cases.MAX_REASONS)]
    action: Literal["dismiss", "stop_until_labelled", "label", "block", "refute"] | None = None
    public_statement: Annotated[str | None, Field(max_length=cases.MAX_PUBLIC_STATEMENT)] = None


# Multipart forms: parsed by backend.uploads.read_form, checked by the signing service; documented here.
class SignForm(Body):
    file: Annotated[bytes, Field(json_schema_extra={"format": "binary", "type": "string"})]
    generator: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_CONTROLS)]
    source_type: str | None = None  # its enum is the manifest data's signable types (backend/openapi.py)
    title: Annotated[str | None, Field(max_length=500, pattern=TITLE_CHARS)] = None
    content_id: Annotated[str | None, Field(pattern=f"^{registry.CONTENT_ID_PATTERN}$")] = None
    visible_label: Literal["true", "false"] | None = None
    corner_mark: Annotated[Literal["true", "false"] | None, Field(
        description="video: also a small persistent AI生成 mark in the upper right")] = None
    prompt_at_end: Annotated[Literal["true", "false"] | None, Field(
        description="audio: the rhythm prompt at the end too")] = None
    hosting_urls: Annotated[str | None, Field(description="comma-separated URLs")] = None


class UploadForm(Body):
    file: Annotated[bytes, Field(json_schema_extra={"format": "binary", "type": "string"})]


class IngestForm(Body):
    file: Annotated[bytes, Field(json_schema_extra={"format": "binary", "type": "string"})]
    uploader: Annotated[str, Field(min_length=1, max_length=64, pattern="^[A-Za-z0-9._:/+=-]+$",
                                   description="the uploader's account reference on the platform")]
    declared_ai: Literal["true", "false"] | None = None
    title: Annotated[str | None, Field(max_length=500, pattern=TITLE_CHARS)] = None
    hosting_urls: Annotated[str | None, Field(description="comma-separated URLs")] = None


class ReportForm(Body):
    """POST /v1/reports as multipart/form-data: the report's fields as text (`time_range` and `items` as JSON
    text) and the reporter's copy of the media as `file`, kept privately as the case's evidence. The file's
    SHA-256 is the report's `sha256` (a different `sha256` field: 400 sha256_mismatch); only media types
    avlabel handles are taken (415 unsupported_media_type, 400 empty_file or bad_media, 413 over the upload
    limit)."""

    file: Annotated[bytes | None, Field(json_schema_extra={"format": "binary", "type": "string"})] = None
    category: Literal[reports.CATEGORIES]  # type: ignore[valid-type]
    description: Annotated[str, Field(min_length=1, max_length=reports.MAX_DESCRIPTION)]
    good_faith: Annotated[Literal["true"], Field(description="must be true (good_faith_required)")]
    content_id: Annotated[str | None, Field(max_length=64)] = None
    media_url: Annotated[str | None, Field(max_length=reports.MAX_URL)] = None
    sha256: Annotated[str | None, Field(pattern=SHA256_HEX, description="optional: must equal the file's")] = None
    playback_time: Annotated[str | None, Field(description="seconds, 0-10,000,000")] = None
    contact: Annotated[str | None, Field(max_length=reports.MAX_CONTACT)] = None
    time_range: Annotated[str | None, Field(description='JSON text: {"start": s, "end": e}')] = None
    items: Annotated[str | None, Field(description="JSON text: a list of further media items")] = None


class ProhibitedForm(UploadForm):
    ref: Annotated[str | None, Field(pattern="^[A-Za-z0-9][A-Za-z0-9_.:-]{0,119}$")] = None
    reason: Annotated[str | None, Field(max_length=1000)] = None
