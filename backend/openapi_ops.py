"""What the code cannot say about each route: its summary, the statuses it answers, its body and answer models.

backend/openapi.py turns this table and the routes into the document. A route neither described here nor
listed in UNDOCUMENTED stops the app from being built.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from backend import api_answers as a
from backend import api_models as m
from backend.routes.cases import STATUSES as CASE_STATUSES
from backend.routes.params import MAX_OFFSET, MAX_SEQ
from backend.vocabulary import CaseOrigin

JSON = "application/json"
FORM = "multipart/form-data"
URLENCODED = "application/x-www-form-urlencoded"
HTML = {"text/html": {"schema": {"type": "string"}}}
ERROR = {"$ref": "#/components/responses/Error"}

# Routes on purpose not in the document: pages for people, CORS preflights, duplicates, the document itself.
UNDOCUMENTED = {
    ("get", "/openapi.json"), ("get", "/"), ("get", "/demo/{name}"), ("get", "/verify"),
    ("get", "/verify/{content_id}"), ("get", "/verify/{content_id}/poster.jpg"),
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
OBJECT = a.Anything
CONSOLE_FORM = {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
    "csrf": {"type": "string"}, "action": {"type": "string"}, "reasons": {"type": "string"}}}}}
LOGIN_FORM = {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
    "login": {"type": "string"}, "password": {"type": "string"}, "csrf": {"type": "string"}}}}}

OPERATIONS: dict[tuple[str, str], Op] = {
    ("get", "/healthz"): Op("Liveness", [Ok("200", "alive")]),
    ("get", "/readyz"): Op("Readiness (database, Redis)", [Ok("200", "ready"), Ok("503", "not ready")]),
    ("post", "/v1/sign"): Op(
        "Sign generated media with a C2PA manifest and GB 45438-2025 labels",
        [Ok("200", "the signed media, in the format it came in",
            content={kind: {"schema": {"type": "string", "format": "binary"}}
                     for kind in ("image/*", "video/*", "audio/*")})],
        (400, 401, 403, 408, 409, 413, 415, 429), secure=True, body={FORM: m.SignForm}),
    ("post", "/v1/ingest"): Op(
        "A platform's upload: read manifest and AIGC record, detect, tier, write propagation fields, re-sign "
        "with the upload as parent ingredient, register; the labelled file is at media_url",
        [Ok("201", "ingested", a.IngestAnswer, headers={"Location": {"schema": {"type": "string"}}}),
         Ok("202", "large video or audio queued for ingest; poll status_url (GET /v1/jobs/{id}) with the same API "
            "key: its result is this 201 body", a.JobAccepted, headers={"Location": {"schema": {"type": "string"}}})],
        (400, 401, 403, 408, 409, 413, 415, 429), secure=True, body={FORM: m.IngestForm}),
    ("post", "/v1/verify"): Op(
        "Verify media: C2PA provenance, registry and detection",
        [Ok("200", "verdict", a.VerifyAnswer),
         Ok("202", "large media queued for verification; poll status_url (GET /v1/jobs/{id})", a.JobAccepted,
            headers={"Location": {"schema": {"type": "string"}}})],
        (400, 404, 408, 413, 415, 429), body={FORM: m.UploadForm, JSON: m.VerifyLookup}),
    ("post", "/v1/verify/fragment"): Op(
        "Verify C2PA in fragmented MP4: `file` is a stream's init segment followed by one media segment",
        [Ok("200", "verdict of this fragment under its init segment", a.FragmentAnswer)],
        (400, 408, 413, 415, 429), body={FORM: m.UploadForm}),
    ("post", "/v1/check"): Op(
        "GB 45438-2025 conformance of a file: implicit label (AIGC record), C2PA state, tier, what is missing",
        [Ok("200", "conformance report", a.CheckReport)], (400, 408, 413, 415, 429), body={FORM: m.UploadForm}),
    ("get", "/v1/jobs/{job_id}"): Op("Status, progress and result of a queued verification or ingest (an "
                                     "ingest job only for the API key of the platform that queued it; anyone "
                                     "else gets 404)", [Ok("200", "the job", a.Job)], (404,)),
    ("get", "/v1/labels"): Op("Label document for a media URL (repeat `src`, up to 8, for an element's "
                              "candidate URLs: the first that resolves wins)",
                              [Ok("200", "label", a.LabelDocument), Ok("304", "not modified")], (400,),
                              query=[Query("src", {"type": "string", "minLength": 1, "maxLength": 2000}, True)]),
    ("get", "/v1/labels/{content_id}"): Op("Label document for a content id",
                                           [Ok("200", "label", a.LabelDocument), Ok("304", "not modified")],
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
    ("post", "/v1/streams"): Op("Register a live or on-demand stream (HLS playlist or DASH manifest on an origin "
                                "assigned to the publisher) as content, with its declaration; the monitor watches it",
                                [Ok("201", "the stream, its content id and monitor state", OBJECT)],
                                (400, 401, 403, 409, 413), secure=True, body={JSON: m.StreamIn}),
    ("get", "/v1/streams/{content_id}"): Op("A stream: declaration, monitor progress and case notes (its publisher "
                                            "or staff)", [Ok("200", "stream", OBJECT)], (401, 404), secure=True,
                                            path={"content_id": ID64}),
    ("patch", "/v1/streams/{content_id}"): Op("Change a stream's declaration while it runs (players follow at "
                                              "their next label refresh)", [Ok("200", "stream", OBJECT)],
                                              (400, 401, 403, 404, 413), secure=True, body={JSON: m.DeclarationIn},
                                              path={"content_id": ID64}),
    ("post", "/v1/fingerprints/prohibited"): Op(
        "Add media to the prohibited list (moderator, admin): copies are blocked on verify",
        [Ok("201", "added", OBJECT)], (400, 401, 403, 408, 413, 415, 422), secure=True,
        body={FORM: m.ProhibitedForm}),
    ("get", "/v1/fingerprints/prohibited"): Op("The prohibited list (moderator, admin, auditor)",
                                               [Ok("200", "items", a.ProhibitedList)], (401, 403), secure=True),
    ("delete", "/v1/fingerprints/prohibited/{ref}"): Op(
        "Remove an item from the prohibited list (moderator, admin)", [Ok("204", "removed")], (401, 403, 404),
        secure=True),
    ("post", "/v1/reports"): Op("Report media (public; the player plugin's report button)",
                                [Ok("201", "received; keep the secret to follow the case", a.ReportReceipt)],
                                (400, 404, 413, 415, 429), body={JSON: m.ReportIn, FORM: m.ReportForm}),
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
                                         body={URLENCODED: a.Anything}, path={"report_id": ID64}),
    ("get", "/v1/cases"): Op(
        "The moderation queue: most severe, then oldest first, with service levels and overdue flags",
        [Ok("200", "queue", OBJECT)], (400, 401, 403), secure=True,
        query=[Query("status", {"type": "string", "enum": list(CASE_STATUSES)}),
               Query("origin", {"type": "string", "enum": list(CaseOrigin)}), *LIMIT_OFFSET]),
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
    ("post", "/v1/accounts/{account_id}/login"): Op(
        "Set a staff account's console username and/or e-mail (admin)", [Ok("200", "the account", OBJECT)],
        (400, 401, 403, 404, 409, 413), secure=True, body={JSON: m.StaffLoginIn}, path={"account_id": ID64}),
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
                                   [Ok("303", "signed in"), Ok("401", "wrong login or password", content=HTML),
                                    Ok("403", "missing or stale CSRF token, or a cross-site post", content=HTML)],
                                   (429,), body={URLENCODED: a.Anything}),
    ("get", "/console/login/code"): Op("Second-factor page (after the password; else redirects)",
                                       [Ok("200", "page", content=HTML), Ok("303", "sign in first")]),
    ("post", "/console/login/code"): Op(
        "Sign in with a TOTP code (each code is good once)",
        [Ok("303", "signed in, or back to sign-in"), Ok("401", "wrong or replayed code", content=HTML)], (429,),
        body={URLENCODED: a.Anything}),
    ("get", "/console/login/enrol"): Op(
        "TOTP enrolment an admin must complete before signing in: a new secret, shown once",
        [Ok("200", "page", content=HTML), Ok("303", "sign in first")]),
    ("post", "/console/login/enrol"): Op(
        "Confirm TOTP enrolment with a code and sign in",
        [Ok("303", "enrolled and signed in"), Ok("401", "wrong code, page with a new secret", content=HTML)],
        (429,), body={URLENCODED: a.Anything}),
    ("post", "/console/cases/{case_id}/assign"): Op(
        "Assign a case to a moderator or admin (console form, CSRF token required)",
        [Ok("303", "assigned, or sign in first"), Ok("400", "refused, page with the reason", content=HTML)],
        (403, 404), body={URLENCODED: a.Anything}, path={"case_id": ID64}),
    ("post", "/console/settings"): Op("Set the console language (zh or en) of the signed-in staff member",
                                      [Ok("303", "saved")], (400, 403), body={URLENCODED: a.Anything}),
    ("get", "/console/account"): Op("The signed-in staff member's account page: sign-in names, second factor",
                                    PAGE, (403,)),
    ("post", "/console/account/totp"): Op(
        "Start setting up the TOTP second factor (password asked again): a new secret, shown once",
        [Ok("200", "page with the secret", content=HTML), Ok("303", "sign in first"),
         Ok("401", "wrong password", content=HTML), Ok("409", "a second factor is already set up", content=HTML)],
        (403, 429), body={URLENCODED: a.Anything}),
    ("post", "/console/account/totp/confirm"): Op(
        "Confirm the second factor with a first code",
        [Ok("303", "set up, or sign in first"), Ok("401", "wrong code, page with a new secret", content=HTML)],
        (403, 429), body={URLENCODED: a.Anything}),
    ("post", "/console/account/recovery"): Op(
        "Make a new set of one-time recovery codes for the second factor (password asked again): shown once",
        [Ok("200", "page with the codes", content=HTML), Ok("303", "sign in first"),
         Ok("401", "wrong password", content=HTML), Ok("409", "no second factor set up", content=HTML)],
        (403, 429), body={URLENCODED: a.Anything}),
    ("post", "/console/logout"): Op("Sign out", [Ok("303", "signed out")], (403,)),
    ("get", "/console/queue"): Op("The queue (console)", PAGE, (403, 404)),
    ("get", "/console/cases/{case_id}"): Op("A case (console)", [*PAGE, Ok("404", "no such case", content=HTML)],
                                            (403,), path={"case_id": ID64}),
    ("post", "/console/cases/{case_id}/actions"): Op(
        "Act on a case (console form, CSRF token required)",
        [Ok("303", "done, or sign in first"), Ok("400", "refused, page with the reason", content=HTML),
         Ok("409", "refused, page with the reason", content=HTML)], (403, 404), body={URLENCODED: a.Anything},
        path={"case_id": ID64}),
    ("get", "/console/cases/{case_id}/media"): Op(
        "A case's stored media for signed-in staff (also when blocked or paused)",
        [Ok("200", "the media", content={"application/octet-stream": {}})], (401, 404), path={"case_id": ID64}),
    ("get", "/console/cases/{case_id}/reports/{report_id}/file"): Op(
        "A reporter's attached file for signed-in staff, as a download (attachment, nosniff, sandboxed)",
        [Ok("200", "the file", content={"application/octet-stream": {}})], (401, 404),
        path={"case_id": ID64, "report_id": ID64}),
    ("get", "/console/cases/{case_id}/reports/{report_id}/preview.jpg"): Op(
        "A thumbnail of a reporter's attached picture or video for signed-in staff",
        [Ok("200", "JPEG", content={"image/jpeg": {}})], (401, 404, 422),
        path={"case_id": ID64, "report_id": ID64}),
    ("get", "/console/records"): Op("Audit chain status and export (console)", PAGE, (403, 404)),
    ("get", "/console/records/export"): Op(
        "Regulator bundle download (console)", [Ok("200", "zip", content={"application/zip": {}}),
                                                Ok("303", "sign in first")], (400, 403),
        query=[Query("from", {"type": "string"}, True), Query("to", {"type": "string"}, True)]),
}

# Appeals, statements of reasons and reports to regulators (backend/appeals.py, backend/transparency.py).
PERIOD = EXPORT_RANGE
DECISION_ID = {"type": "string", "pattern": "^[0-9]{1,18}$"}
OPERATIONS.update({
    ("post", "/v1/appeals"): Op(
        "Appeal a decision on your content or account within the appeal period, once per decision (publisher: "
        "API key, also while suspended, or the notice link's token); opens a case another moderator decides",
        [Ok("201", "the appeal", OBJECT)], (400, 401, 404, 409, 413), body={JSON: m.AppealIn}, body_required=True),
    ("get", "/v1/appeals/{appeal_id}"): Op("An appeal (staff, or the publisher that filed it)",
                                           [Ok("200", "the appeal", OBJECT)], (401, 403, 404), secure=True,
                                           path={"appeal_id": ID64}),
    ("post", "/v1/appeals/{appeal_id}/decision"): Op(
        "Decide an appeal: upheld, reversed (the decision is undone) or modified (moderator, admin; not the "
        "original decider)", [Ok("201", "done; the event sent to the publisher", OBJECT)],
        (400, 401, 403, 404, 409, 413), secure=True, body={JSON: m.AppealDecisionIn}, path={"appeal_id": ID64}),
    ("get", "/v1/decisions/{decision_id}"): Op(
        "A decision's statement of reasons and its appeal (the publisher: API key or X-Avlabel-Notice-Token)",
        [Ok("200", "the decision", OBJECT)], (400, 401, 403, 404), path={"decision_id": DECISION_ID}),
    ("post", "/v1/reports/{report_id}/contest"): Op(
        "Contest the dismissal of your report (the report's secret as Bearer)", [Ok("201", "the contest", OBJECT)],
        (400, 401, 404, 409, 413, 415), body={JSON: m.AppealIn}, path={"report_id": ID64}),
    ("options", "/v1/reports/{report_id}/contest"): Op("CORS preflight", [Ok("204", "allowed")]),
    ("get", "/appeal/{decision_id}"): Op("The publisher's notice page: statement of reasons and appeal form (HTML)",
                                         [Ok("200", "page", content=HTML)], path={"decision_id": DECISION_ID}),
    ("post", "/appeal/{decision_id}"): Op(
        "The notice page with the link's token (intent view), or filing the appeal (intent appeal) (HTML)",
        [Ok("200", "page", content=HTML), Ok("400", "refused, page with the reason", content=HTML),
         Ok("404", "no decision for this link", content=HTML), Ok("409", "refused", content=HTML)],
        body={URLENCODED: a.Anything}, path={"decision_id": DECISION_ID}),
    ("get", "/v1/transparency/report"): Op(
        "The transparency report for a period: reports by category, actions by type, median and p90 times, "
        "overdue cases, appeals and reversals, detector-opened cases (auditor, admin)",
        [Ok("200", "the report", OBJECT, content={"text/csv": {}})], (400, 401, 403), secure=True,
        query=[*PERIOD, Query("format", {"type": "string", "enum": ["json", "csv"]})]),
    ("get", "/v1/transparency/refutations"): Op(
        "Art. 13 refutation filing records for a period (auditor, admin)", [Ok("200", "records", OBJECT)],
        (400, 401, 403), secure=True, query=PERIOD),
    ("get", "/v1/transparency/dsa-statements"): Op(
        "Decisions of a period as DSA Transparency Database statements, without personal data (auditor, admin)",
        [Ok("200", "statements", OBJECT)], (400, 401, 403), secure=True, query=PERIOD),
    ("get", "/v1/metrics/detectors"): Op("Per model: flagged cases and how often moderators confirmed them",
                                         [Ok("200", "models", OBJECT)], (401, 403), secure=True),
    ("get", "/console/review"): Op("The review queue of detector flags (console)", PAGE, (403,)),
    ("get", "/console/metrics"): Op("Detector agreement per model (console)", PAGE, (403,)),
    ("get", "/console/transparency"): Op("The transparency report with charts (console)", PAGE, (400, 403),
                                         query=[Query("from", {"type": "string"}), Query("to", {"type": "string"})]),
    ("get", "/console/transparency/export"): Op(
        "Transparency downloads (console)", [Ok("200", "file", OBJECT), Ok("303", "sign in first")], (400, 403),
        query=[*PERIOD, Query("kind", {"type": "string", "enum": ["report", "refutations", "dsa"]}),
               Query("format", {"type": "string", "enum": ["json", "csv"]})]),
    ("get", "/console/appeals/{appeal_id}"): Op("An appeal (console)", [*PAGE, Ok("404", "no such appeal",
                                                                               content=HTML)],
                                                (403,), path={"appeal_id": ID64}),
    ("post", "/console/appeals/{appeal_id}/decision"): Op(
        "Decide an appeal (console form, CSRF token required; not the original decider)",
        [Ok("303", "done, or sign in first"), Ok("400", "refused, page with the reason", content=HTML),
         Ok("403", "refused, page with the reason", content=HTML),
         Ok("409", "refused, page with the reason", content=HTML)], (404,), body={URLENCODED: a.Anything},
        path={"appeal_id": ID64}),
})

# Form bodies whose fields the code describes only as HTML forms (no model carries them).
RAW_BODIES = {("post", "/console/login"): LOGIN_FORM, ("post", "/console/cases/{case_id}/actions"): CONSOLE_FORM}
