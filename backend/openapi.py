"""The OpenAPI document, generated from the route table and the models in backend/api_models.py.

Paths, methods and path parameters come from the Starlette routes; bodies and answers from the models;
this module adds only what the code cannot say (a summary, which statuses an operation answers). A route
that is neither described here nor listed in UNDOCUMENTED stops the app from being built, so the
document cannot fall behind the routes (and tests/contract checks it against the running service).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute, Route

from backend import api_models as m
from backend.routes.cases import STATUSES as CASE_STATUSES
from backend.routes.params import MAX_OFFSET, MAX_SEQ

JSON = "application/json"
FORM = "multipart/form-data"
URLENCODED = "application/x-www-form-urlencoded"
HTML = {"text/html": {"schema": {"type": "string"}}}
ERROR = {"$ref": "#/components/responses/Error"}

# Routes on purpose not in the document: pages for people, CORS preflights, duplicates, the document itself.
UNDOCUMENTED = {
    ("get", "/openapi.json"), ("get", "/"), ("get", "/demo/{name}"), ("get", "/verify/{content_id}"),
    ("get", "/media/{name}"), ("get", "/console/"), ("options", "/v1/reports"),
    ("options", "/v1/reports/{report_id}"),
}


@dataclass(frozen=True)
class Ok:
    """A success answer: a model (JSON), explicit content, or none."""

    status: str
    description: str
    model: type[BaseModel] | None = None
    content: dict[str, Any] | None = None
    headers: dict[str, Any] | None = None


@dataclass(frozen=True)
class Query:
    name: str
    schema: dict[str, Any]
    required: bool = False


@dataclass(frozen=True)
class Op:
    summary: str
    answers: Sequence[Ok]
    errors: Iterable[int] = ()
    secure: bool = False
    body: dict[str, type[BaseModel]] = field(default_factory=dict)  # media type -> model
    query: Sequence[Query] = ()
    path: dict[str, dict[str, Any]] = field(default_factory=dict)  # path parameter -> schema
    body_required: bool = True


ID64 = {"type": "string", "maxLength": 64}
LIMIT_OFFSET = (Query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                Query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}))
SECRET = Query("secret", {"type": "string"})
EXPORT_RANGE = (Query("from", {"type": "string", "maxLength": 40}, True),
                Query("to", {"type": "string", "maxLength": 40}, True))
PAGE = (Ok("200", "page", content=HTML), Ok("303", "sign in first"))
OBJECT = m.Anything
CONSOLE_FORM = {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
    "csrf": {"type": "string"}, "action": {"type": "string"}, "reasons": {"type": "string"}}}}}
LOGIN_FORM = {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
    "account": {"type": "string"}, "password": {"type": "string"}, "csrf": {"type": "string"}}}}}

OPERATIONS: dict[tuple[str, str], Op] = {
    ("get", "/healthz"): Op("Liveness", [Ok("200", "alive")]),
    ("get", "/readyz"): Op("Readiness (database, Redis)", [Ok("200", "ready"), Ok("503", "not ready")]),
    ("post", "/v1/sign"): Op(
        "Sign generated media with a C2PA manifest and GB 45438-2025 labels",
        [Ok("200", "the signed media, in the format it came in",
            content={kind: {"schema": {"type": "string", "format": "binary"}}
                     for kind in ("image/*", "video/*", "audio/*")})],
        (400, 401, 403, 408, 409, 413, 415, 429), secure=True, body={FORM: m.SignForm}),
    ("post", "/v1/verify"): Op(
        "Verify media: C2PA provenance, registry and detection",
        [Ok("200", "verdict", m.VerifyAnswer),
         Ok("202", "large media queued for verification; poll status_url (GET /v1/jobs/{id})", m.JobAccepted,
            headers={"Location": {"schema": {"type": "string"}}})],
        (400, 404, 408, 413, 415, 429), body={FORM: m.UploadForm, JSON: m.VerifyLookup}),
    ("post", "/v1/check"): Op(
        "GB 45438-2025 conformance of a file: implicit label (AIGC record), C2PA state, tier, what is missing",
        [Ok("200", "conformance report", m.CheckReport)], (400, 408, 413, 415, 429), body={FORM: m.UploadForm}),
    ("get", "/v1/jobs/{job_id}"): Op("Status, progress and result of a queued verification",
                                     [Ok("200", "the job", m.Job)], (404,)),
    ("get", "/v1/labels"): Op("Label document for a media URL",
                              [Ok("200", "label", m.LabelDocument), Ok("304", "not modified")], (400,),
                              query=[Query("src", {"type": "string", "minLength": 1, "maxLength": 2000}, True)]),
    ("get", "/v1/labels/{content_id}"): Op("Label document for a content id",
                                           [Ok("200", "label", m.LabelDocument), Ok("304", "not modified")],
                                           (400, 404), path={"content_id": ID64}),
    ("get", "/v1/contents"): Op("Registry entries: a publisher's own, or all for staff",
                                [Ok("200", "entries", OBJECT)], (400, 401), secure=True, query=LIMIT_OFFSET),
    ("get", "/v1/contents/{content_id}"): Op("A registry entry (its publisher or staff only)",
                                             [Ok("200", "entry", OBJECT)], (401, 404), secure=True,
                                             path={"content_id": ID64}),
    ("post", "/v1/contents/{content_id}/urls"): Op("Register hosting URLs (origin + path, or a prefix ending in *) "
                                                   "under origins assigned to the publisher",
                                                   [Ok("201", "added", OBJECT)], (400, 401, 403, 404, 409, 413),
                                                   secure=True,
                                                   body={JSON: m.UrlsIn}, path={"content_id": ID64}),
    ("post", "/v1/fingerprints/prohibited"): Op(
        "Add media to the prohibited list (moderator, admin): copies are blocked on verify",
        [Ok("201", "added", OBJECT)], (400, 401, 403, 408, 413, 415, 422), secure=True,
        body={FORM: m.ProhibitedForm}),
    ("get", "/v1/fingerprints/prohibited"): Op("The prohibited list (moderator, admin, auditor)",
                                               [Ok("200", "items", m.ProhibitedList)], (401, 403), secure=True),
    ("delete", "/v1/fingerprints/prohibited/{ref}"): Op(
        "Remove an item from the prohibited list (moderator, admin)", [Ok("204", "removed")], (401, 403, 404),
        secure=True),
    ("post", "/v1/reports"): Op("Report media (public; the player plugin's report button)",
                                [Ok("201", "received; keep the secret to follow the case", m.ReportReceipt)],
                                (400, 404, 413, 415, 429), body={JSON: m.ReportIn}),
    ("get", "/v1/reports/{report_id}"): Op(
        "A report's status and, once decided, the outcome (needs the report's secret)",
        [Ok("200", "the report", OBJECT)], (401, 404), secure=True, query=[SECRET], path={"report_id": ID64}),
    ("get", "/reports/{report_id}"): Op("The reporter's follow page (HTML)",
                                        [Ok("200", "page", content={"text/html": {}}),
                                         Ok("404", "wrong secret", content={"text/html": {}})],
                                        query=[SECRET], path={"report_id": ID64}),
    ("post", "/reports/{report_id}"): Op("The reporter's follow page, the access code sent by its form (HTML)",
                                         [Ok("200", "page", content={"text/html": {}}),
                                          Ok("404", "wrong secret", content={"text/html": {}})],
                                         body={URLENCODED: m.Anything}, path={"report_id": ID64}),
    ("get", "/v1/cases"): Op(
        "The moderation queue: most severe, then oldest first, with service levels and overdue flags",
        [Ok("200", "queue", OBJECT)], (400, 401, 403), secure=True,
        query=[Query("status", {"type": "string", "enum": list(CASE_STATUSES)}), *LIMIT_OFFSET]),
    ("get", "/v1/cases/{case_id}"): Op("A case: its reports, actions, content and publisher",
                                       [Ok("200", "case", OBJECT)], (401, 403, 404), secure=True,
                                       path={"case_id": ID64}),
    ("post", "/v1/cases/{case_id}/actions"): Op("Act on a case, with a statement of reasons",
                                                [Ok("201", "done; the event sent to the publisher", OBJECT)],
                                                (400, 401, 403, 404, 409, 413), secure=True,
                                                body={JSON: m.CaseActionIn},
                                                path={"case_id": ID64}),
    ("post", "/v1/accounts"): Op("Create an account (admin)", [Ok("201", "ok", OBJECT)], (400, 401, 403, 413),
                                 secure=True, body={JSON: m.AccountCreate}),
    ("get", "/v1/accounts"): Op("List accounts (admin, auditor)", [Ok("200", "ok", OBJECT)], (401, 403),
                                secure=True),
    ("get", "/v1/accounts/me"): Op("The calling account", [Ok("200", "ok", OBJECT)], (401,), secure=True),
    ("get", "/v1/accounts/{account_id}"): Op("An account (admin, auditor, or itself)", [Ok("200", "ok", OBJECT)],
                                             (401, 404), secure=True, path={"account_id": ID64}),
    ("patch", "/v1/accounts/{account_id}"): Op(
        "Set complaint contact (admin or itself), webhook (admin; loopback, private and metadata destinations "
        "are refused) and a staff account's status (admin; suspension and closing end its sessions and keys at "
        "once); a new webhook secret is shown once",
        [Ok("200", "ok", OBJECT)], (400, 401, 403, 404, 409, 413), secure=True, body={JSON: m.AccountUpdate},
        path={"account_id": ID64}),
    ("post", "/v1/accounts/{account_id}/identity"): Op(
        "Record a verified publisher identity (admin); only a keyed digest and a hint are kept",
        [Ok("200", "ok", OBJECT)], (400, 401, 403, 404, 409, 413), secure=True, body={JSON: m.IdentityIn},
        path={"account_id": ID64}),
    ("post", "/v1/accounts/{account_id}/keys"): Op("Issue an API key (admin); shown once",
                                                   [Ok("201", "ok", OBJECT)], (401, 403, 404, 409), secure=True,
                                                   path={"account_id": ID64}),
    ("get", "/v1/accounts/{account_id}/keys"): Op("List an account's keys (admin)", [Ok("200", "ok", OBJECT)],
                                                  (401, 403, 404), secure=True, path={"account_id": ID64}),
    ("delete", "/v1/accounts/{account_id}/keys/{key_id}"): Op("Revoke an API key (admin)", [Ok("204", "ok")],
                                                              (401, 403, 404), secure=True,
                                                              path={"account_id": ID64}),
    ("post", "/v1/accounts/{account_id}/origins"): Op(
        "Assign an origin (optionally a path prefix) a publisher may register hosting URLs under (admin)",
        [Ok("201", "assigned", OBJECT), Ok("200", "already assigned", OBJECT)], (400, 401, 403, 404, 409),
        secure=True, body={JSON: m.OriginIn}, path={"account_id": ID64}),
    ("get", "/v1/accounts/{account_id}/origins"): Op("Origins assigned to a publisher (admin, auditor, or itself)",
                                                     [Ok("200", "ok", OBJECT)], (401, 404), secure=True,
                                                     path={"account_id": ID64}),
    ("post", "/v1/accounts/{account_id}/password"): Op("Set a console password (admin)", [Ok("204", "ok")],
                                                       (400, 401, 403, 404, 409, 413), secure=True,
                                                       body={JSON: m.PasswordIn}, path={"account_id": ID64}),
    ("get", "/v1/audit/verify"): Op("Check the audit hash chain (auditor, admin)", [Ok("200", "result", OBJECT)],
                                    (401, 403), secure=True),
    ("get", "/v1/audit/entries"): Op(
        "Audit entries after a sequence number (auditor, admin)", [Ok("200", "entries", OBJECT)], (400, 401, 403),
        secure=True, query=[Query("after", {"type": "integer", "minimum": 0, "maximum": MAX_SEQ}),
                            Query("limit", {"type": "integer", "minimum": 1, "maximum": 1000})]),
    ("get", "/v1/audit/checkpoints"): Op(
        "Signed checkpoints of the audit chain, newest first, with the certificate (auditor, admin)",
        [Ok("200", "checkpoints", OBJECT)], (400, 401, 403), secure=True,
        query=[Query("limit", {"type": "integer", "minimum": 1, "maximum": 1000})]),
    ("get", "/v1/audit/export"): Op("The regulator bundle for a date range, as a zip (auditor, admin)",
                                    [Ok("200", "zip", content={"application/zip": {}})], (400, 401, 403),
                                    secure=True, query=EXPORT_RANGE),
    ("get", "/plugin/{name}"): Op(
        "The built player plugin (avlabel-player.js, .mjs, content-hashed aliases, types, manifest)",
        [Ok("200", "the file"), Ok("304", "not modified")], (404,)),
    ("get", "/static/{name}"): Op("CSS and JavaScript of the server-rendered pages", [Ok("200", "file")], (404,)),
    ("get", "/console"): Op("Console entry (redirects)", [Ok("303", "redirect")]),
    ("get", "/console/login"): Op("Console sign-in page", [Ok("200", "page", content=HTML)]),
    ("post", "/console/login"): Op("Sign in (sets an httpOnly SameSite=Strict session cookie)",
                                   [Ok("303", "signed in"), Ok("401", "wrong account or password", content=HTML),
                                    Ok("403", "missing or stale CSRF token, or a cross-site post", content=HTML)],
                                   (429,), body={URLENCODED: m.Anything}),
    ("post", "/console/logout"): Op("Sign out", [Ok("303", "signed out")], (403,)),
    ("get", "/console/queue"): Op("The queue (console)", PAGE, (403, 404)),
    ("get", "/console/cases/{case_id}"): Op("A case (console)", [*PAGE, Ok("404", "no such case", content=HTML)],
                                            (403,), path={"case_id": ID64}),
    ("post", "/console/cases/{case_id}/actions"): Op(
        "Act on a case (console form, CSRF token required)",
        [Ok("303", "done, or sign in first"), Ok("400", "refused, page with the reason", content=HTML),
         Ok("409", "refused, page with the reason", content=HTML)], (403, 404), body={URLENCODED: m.Anything},
        path={"case_id": ID64}),
    ("get", "/console/cases/{case_id}/media"): Op(
        "A case's stored media for signed-in staff (also when blocked or paused)",
        [Ok("200", "the media", content={"application/octet-stream": {}})], (401, 404), path={"case_id": ID64}),
    ("get", "/console/records"): Op("Audit chain status and export (console)", PAGE, (403, 404)),
    ("get", "/console/records/export"): Op(
        "Regulator bundle download (console)", [Ok("200", "zip", content={"application/zip": {}}),
                                                Ok("303", "sign in first")], (400, 403),
        query=[Query("from", {"type": "string"}, True), Query("to", {"type": "string"}, True)]),
}

# Form bodies whose fields the code describes only as HTML forms (no model carries them).
RAW_BODIES = {("post", "/console/login"): LOGIN_FORM, ("post", "/console/cases/{case_id}/actions"): CONSOLE_FORM}


def _form_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A multipart form cannot carry null: optional fields are simply absent."""
    props = {}
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
        options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
        if options:
            prop = {**options[0], **prop}
        props[name] = prop
    out: dict[str, Any] = {"type": "object", "properties": props}
    if schema.get("required"):
        out["required"] = schema["required"]
    return out


def _schemas(ops: Iterable[Op]) -> tuple[dict[type[BaseModel], dict[str, Any]], dict[str, Any]]:
    models = {model for op in ops for model in op.body.values()}
    models |= {ok.model for op in ops for ok in op.answers if ok.model is not None}
    models.add(m.Error)
    ordered = sorted(models, key=lambda model: model.__name__)
    refs, defs = models_json_schema([(model, "validation") for model in ordered],
                                    ref_template="#/components/schemas/{model}")
    return {model: refs[(model, "validation")] for model in ordered}, defs.get("$defs", {})


def _operation(op: Op, key: tuple[str, str], route: Route, refs: dict[type[BaseModel], dict[str, Any]],
               defs: dict[str, Any], signable: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary}
    if op.secure:
        out["security"] = [{"bearer": []}]
    params = [{"name": name, "in": "path", "required": True, "schema": op.path.get(name, {"type": "string"})}
              for name in route.param_convertors]
    params += [{"name": q.name, "in": "query", "required": q.required, "schema": q.schema} for q in op.query]
    if params:
        out["parameters"] = params
    content: dict[str, Any] = {}
    for media_type, model in op.body.items():
        if media_type == URLENCODED and key in RAW_BODIES:
            content.update(RAW_BODIES[key])
        elif media_type == FORM:
            schema = _form_schema(defs[model.__name__])
            if "source_type" in schema["properties"]:
                schema["properties"]["source_type"]["enum"] = signable
            content[media_type] = {"schema": schema}
        else:
            content[media_type] = {"schema": refs[model]}
    if content:
        out["requestBody"] = {"required": op.body_required, "content": content}
    responses: dict[str, Any] = {}
    for ok in op.answers:
        answer: dict[str, Any] = {"description": ok.description}
        if ok.model is not None:
            answer["content"] = {JSON: {"schema": refs[ok.model]}}
        elif ok.content is not None:
            answer["content"] = ok.content
        if ok.headers:
            answer["headers"] = ok.headers
        responses[ok.status] = answer
    for status in op.errors:
        responses[str(status)] = ERROR
    out["responses"] = responses
    return out


def build_openapi(routes: Iterable[BaseRoute], version: str, signable: list[str]) -> dict[str, Any]:
    """The document for these routes; refuses a route nobody described, and a description with no route."""
    refs, defs = _schemas(OPERATIONS.values())
    paths: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, str]] = set()
    for route in routes:
        if not isinstance(route, Route):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):  # Starlette answers HEAD for every GET
            key = (method.lower(), route.path_format)
            seen.add(key)
            if key in UNDOCUMENTED or not route.include_in_schema:
                continue
            op = OPERATIONS.get(key)
            if op is None:
                raise RuntimeError(f"{method} {route.path_format} is not described in backend/openapi.py")
            paths.setdefault(route.path_format, {})[key[0]] = _operation(op, key, route, refs, defs, signable)
    missing = set(OPERATIONS) - seen
    if missing:
        raise RuntimeError(f"described in backend/openapi.py but not routed: {sorted(missing)}")
    return {
        "openapi": "3.1.0",
        "info": {"title": "avlabel", "version": version,
                 "description": "Labelling and verification of AI-generated media (C2PA, GB 45438-2025)."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": defs,
            "responses": {"Error": {"description": "error", "content": {
                JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }

