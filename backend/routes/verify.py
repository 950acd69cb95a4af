"""POST /v1/verify: any media (or a registry lookup) in, an explained verdict out."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend import accounts, reports
from backend.auth import bearer_token
from backend.errors import ApiError
from backend.json_body import read_json_object
from backend.limits import client_address, rate_limit
from backend.media import scratch_dir
from backend.routes import jobs
from backend.uploads import read_form

SHA256 = re.compile(r"^[0-9a-f]{64}$")


async def verify(request: Request) -> Response:
    services = request.app.state.services
    await rate_limit(request, "verify", services.settings.verify_rate_per_minute, 60)
    if request.headers.get("content-type", "").startswith("application/json"):
        return await _lookup(request)
    with scratch_dir(services.settings.data_dir / "tmp") as work:
        upload, _ = await read_form(request, work)
        if upload is None:
            raise ApiError(400, "missing_file", "the multipart body needs a `file` part")
        media = await services.db.run(services.signing.inspect, upload.path, upload.sha256)
        queue = services.extras.get("jobs")
        if queue is not None and queue.should_queue(media):
            # Large media (video, long audio): stored durably and verified by a worker; 202 + job.
            status, body = await services.db.run(queue.submit, media, await _job_client(request))
            headers = {"Location": body["status_url"]} if status == 202 else None
            return JSONResponse(body, status_code=status, headers=headers)
        answer = await services.db.run(services.verify.verify_media, media)
    return JSONResponse(answer)


async def _job_client(request: Request) -> str:
    """Whose backlog a queued job counts against: the API key's account, else the client's address (kept
    as a keyed digest, as reports keep it). A key that does not authenticate counts as the address."""
    services = request.app.state.services
    token = bearer_token(request)
    if token is not None:
        def load() -> accounts.Account | None:
            with services.db.read() as conn:
                return accounts.authenticate(conn, token)

        account = await services.db.run(load)
        if account is not None:
            return f"account:{account.id}"
    secret = services.settings.secret_key.get_secret_value()
    return "addr:" + reports.client_digest(secret, client_address(request))


async def _lookup(request: Request) -> Response:
    services = request.app.state.services
    body = await read_json_object(request)
    sha, content_id = body.get("sha256"), body.get("content_id")
    if sha is not None and (not isinstance(sha, str) or not SHA256.match(sha.lower())):
        raise ApiError(400, "invalid_sha256", "sha256 must be 64 hexadecimal characters")
    if content_id is not None and (not isinstance(content_id, str) or not 0 < len(content_id) <= 64):
        raise ApiError(400, "invalid_content_id", "content_id must be a string of at most 64 characters")
    if not sha and not content_id:
        raise ApiError(400, "missing_reference", "give `sha256` or `content_id`, or upload a `file`")
    answer = await services.db.run(services.verify.lookup, sha.lower() if sha else None, content_id)
    queue = services.extras.get("jobs")
    if answer is None and sha and queue is not None:
        answer = await services.db.run(queue.cached_answer, sha.lower())  # analysed before by a job
    if answer is None:
        raise ApiError(404, "not_registered", "no registered content matches")
    return JSONResponse(answer)


def routes() -> list[Route]:
    return [Route("/v1/verify", verify, methods=["POST"])]


_VERIFY_ANSWER = {
    "type": "object",
    "required": ["verdict"],
    "properties": {
        "verdict": {"type": "string", "enum": ["signed_synthetic", "signed_not_synthetic", "signed_untrusted",
                                                "tampered", "unsigned", "unreadable"]},
        "sha256": {"type": ["string", "null"]},
        "content_id": {"type": ["string", "null"]},
        "manifest": {"type": ["object", "null"]},
        "validation_state": {"type": ["string", "null"]},
        "failure_codes": {"type": "array", "items": {"type": "string"}},
        "display": {"type": ["object", "null"]},
        "label_state": {"type": "string"},
        "cached": {"type": "boolean", "description": "answered from an earlier analysis of the same bytes"},
        "analysed_at": {"type": "string", "format": "date-time"},
        "analysis_version": {"type": "string"},
    },
}

OPENAPI = {
    "/v1/verify": {
        "post": {
            "summary": "Verify media: C2PA provenance, registry and detection",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {"type": "object", "required": ["file"],
                                   "properties": {"file": {"type": "string", "format": "binary"}}}
                    },
                    "application/json": {
                        "schema": {"type": "object", "properties": {
                            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                            "content_id": {"type": "string", "maxLength": 64}}}
                    },
                },
            },
            "responses": {
                "200": {"description": "verdict", "content": {"application/json": {"schema": _VERIFY_ANSWER}}},
                "202": {"description": "large media queued for verification; poll status_url (GET /v1/jobs/{id})",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        "content": {"application/json": {"schema": jobs.ACCEPTED}}},
                "400": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
                "413": {"$ref": "#/components/responses/Error"},
                "408": {"$ref": "#/components/responses/Error"},
                "415": {"$ref": "#/components/responses/Error"},
                "429": {"$ref": "#/components/responses/Error"},
            },
        }
    }
}
