"""POST /v1/verify: any media (or a registry lookup) in, an explained verdict out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend import accounts, reports
from backend.api_models import VerifyLookup, parse_body
from backend.auth import bearer_token
from backend.errors import ApiError
from backend.json_body import read_json_object
from backend.limits import client_address, rate_limit
from backend.media import scratch_dir
from backend.services import Services
from backend.uploads import read_form
from backend.verification import fragments


async def verify(request: Request) -> Response:
    services: Services = request.app.state.services
    await rate_limit(request, "verify", services.settings.verify_rate_per_minute, 60)
    if request.headers.get("content-type", "").startswith("application/json"):
        return await _lookup(request)
    with scratch_dir(services.settings.data_dir / "tmp") as work:
        upload, _ = await read_form(request, work)
        if upload is None:
            raise ApiError(400, "missing_file", "the multipart body needs a `file` part")
        media = await services.db.run(services.media.inspect, upload.path, upload.sha256)
        queue = services.jobs
        if queue.should_queue(media):
            # Large media (video, long audio): stored durably and verified by a worker; 202 + job.
            status, body = await services.db.run(queue.submit, media, await _job_client(request))
            headers = {"Location": body["status_url"]} if status == 202 else None
            return JSONResponse(body, status_code=status, headers=headers)
        answer = await services.db.run(services.verify.verify_media, media)
    return JSONResponse(answer)


async def _job_client(request: Request) -> str:
    """Whose backlog a queued job counts against: the API key's account, else the client's address (kept
    as a keyed digest, as reports keep it). A key that does not authenticate counts as the address."""
    services: Services = request.app.state.services
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
    services: Services = request.app.state.services
    body = parse_body(VerifyLookup, await read_json_object(request))
    sha, content_id = body.sha256, body.content_id
    answer = await services.db.run(services.verify.lookup, sha.lower() if sha else None, content_id)
    if answer is None and sha:
        answer = await services.db.run(services.jobs.cached_answer, sha.lower())  # analysed before by a job
    if answer is None:
        raise ApiError(404, "not_registered", "no registered content matches")
    return JSONResponse(answer)


async def verify_fragment(request: Request) -> Response:
    """A stream's init segment followed by one media segment, as `file`: c2pa's fragment reader decides."""
    services: Services = request.app.state.services
    await rate_limit(request, "verify", services.settings.verify_rate_per_minute, 60)
    with scratch_dir(services.settings.data_dir / "tmp") as work:
        upload, _ = await read_form(request, work)
        if upload is None:
            raise ApiError(400, "missing_file", "the multipart body needs a `file` part: init segment + fragment")
        answer = await services.db.run(fragments.verify, services.reader, services.data, upload.path)
    return JSONResponse(answer)


def routes() -> list[Route]:
    return [Route("/v1/verify", verify, methods=["POST"]),
            Route("/v1/verify/fragment", verify_fragment, methods=["POST"])]
