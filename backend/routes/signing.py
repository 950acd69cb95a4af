"""POST /v1/sign: a verified publisher's generated media in, the same format with a signed manifest out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from backend.accounts import check_may_publish, check_restrictions
from backend.auth import current_account
from backend.domain_errors import RateLimited
from backend.errors import ApiError
from backend.media import scratch_dir
from backend.signing.service import SignRequest
from backend.uploads import flag, read_form
from backend.vocabulary import AccountStatus


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
            corner_mark=bool(flag(fields, "corner_mark")),
            prompt_at_end=bool(flag(fields, "prompt_at_end")),
            hosting_urls=[u.strip() for u in fields.get("hosting_urls", "").split(",") if u.strip()],
        )
        services.signing.validate(req)
        check_restrictions(account, req.visible_label)
        allowed = services.settings.restricted_signings_per_hour
        if account.status == AccountStatus.RESTRICTED and await services.cache.hit(
                f"restricted-sign:{account.id}", 3600) > allowed:
            raise RateLimited("account_restricted_rate",
                              f"this account is restricted to {allowed} signings per hour", 3600)
        media = await services.db.run(services.media.inspect, upload.path, upload.sha256)
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
