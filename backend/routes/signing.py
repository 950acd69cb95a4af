"""POST /v1/sign: a verified publisher's generated media in, the same format with a signed manifest out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from backend.accounts import check_may_publish, check_restrictions
from backend.auth import current_account
from backend.errors import ApiError
from backend.media import scratch_dir
from backend.signing.service import SignRequest
from backend.uploads import flag, read_form


async def sign(request: Request) -> Response:
    services = request.app.state.services
    account = await current_account(request)
    check_may_publish(account)
    with scratch_dir(services.settings.data_dir / "tmp") as work:
        upload, fields = await read_form(request, work)
        if upload is None:
            raise ApiError(400, "missing_file", "the multipart body needs a `file` part")
        req = SignRequest(
            generator=fields.get("generator", ""),
            source_type=fields.get("source_type") or "trainedAlgorithmicMedia",
            title=fields.get("title") or None,
            content_id=fields.get("content_id") or None,
            visible_label=flag(fields, "visible_label"),
            hosting_urls=[u.strip() for u in fields.get("hosting_urls", "").split(",") if u.strip()],
        )
        services.signing.validate(req)
        check_restrictions(account, req.visible_label)
        allowed = services.settings.restricted_signings_per_hour
        if account.status == "restricted" and await services.cache.hit(
                f"restricted-sign:{account.id}", 3600) > allowed:
            raise ApiError(429, "account_restricted_rate",
                           f"this account is restricted to {allowed} signings per hour", {"Retry-After": "3600"})
        media = await services.db.run(services.signing.inspect, upload.path, upload.sha256)
        result = await services.db.run(services.signing.sign, media, req, account, work)
    headers = {
        "X-Content-Id": result.content_id,
        "X-Content-SHA256": result.sha256,
        "X-Manifest-Label": result.manifest_label,
        "X-Explicit-Label": result.explicit_label,
        "Location": f"/v1/labels/{result.content_id}",
    }
    return FileResponse(
        result.path,
        media_type=result.mime,
        headers=headers,
        filename=f"{result.content_id}.{media.extension}",
    )


def routes() -> list[Route]:
    return [Route("/v1/sign", sign, methods=["POST"])]


NO_CONTROLS = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
OPENAPI = {
    "/v1/sign": {
        "post": {
            "summary": "Sign generated media with a C2PA manifest and GB 45438-2025 labels",
            "security": [{"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file", "generator"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "generator": {"type": "string", "minLength": 1, "maxLength": 200,
                                              "pattern": NO_CONTROLS},
                                "source_type": {
                                    "type": "string",
                                    "enum": ["trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia",
                                             "algorithmicallyEnhanced"],
                                },
                                "title": {"type": "string", "maxLength": 500,
                                          "pattern": "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"},
                                "content_id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{2,39}$"},
                                "visible_label": {"type": "string", "enum": ["true", "false"]},
                                "hosting_urls": {"type": "string", "description": "comma-separated URLs"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "the signed media, in the format it came in",
                        "content": {kind: {"schema": {"type": "string", "format": "binary"}}
                                    for kind in ("image/*", "video/*", "audio/*")}},
                "400": {"$ref": "#/components/responses/Error"},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "409": {"$ref": "#/components/responses/Error"},
                "413": {"$ref": "#/components/responses/Error"},
                "415": {"$ref": "#/components/responses/Error"},
                "429": {"$ref": "#/components/responses/Error"},
            },
        }
    }
}
