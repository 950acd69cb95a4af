"""Moderators maintain the prohibited-media fingerprint list: add by upload, list, remove."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend import audit
from backend.auth import require_role
from backend.errors import ApiError
from backend.media import scratch_dir
from backend.services import Services
from backend.uploads import read_form
from backend.vocabulary import Role

MODERATORS = (Role.MODERATOR, Role.ADMIN)
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,119}$")


async def add_prohibited(request: Request) -> Response:
    services: Services = request.app.state.services
    account = await require_role(request, *MODERATORS)
    store = services.fingerprints
    with scratch_dir(services.settings.data_dir / "tmp") as work:
        upload, fields = await read_form(request, work)
        if upload is None:
            raise ApiError(400, "missing_file", "the multipart body needs a `file` part")
        reason = fields.get("reason", "")[:1000]
        media = await services.db.run(services.media.inspect, upload.path, upload.sha256)
        ref = fields.get("ref") or f"p_{media.sha256[:16]}"
        if not REF.match(ref):
            raise ApiError(400, "invalid_ref", "ref must be 1-120 letters, digits, '_', '.', ':' or '-'")
        note = {"reason": reason, "sha256": media.sha256, "added_by": account.id}

        def add() -> int:
            count = store.add_file(media.path, media.mime, "prohibited", ref, note, actor=account.id)
            if count:
                with services.db.tx() as conn:
                    audit.append(conn, account.id, "fingerprint.prohibited_added", ref,
                                 {"sha256": media.sha256, "mime": media.mime, "hashes": count, "reason": reason})
            return count

        count = await services.db.run(add)
    if count == 0:
        raise ApiError(422, "no_fingerprint",
                       "this media has no usable fingerprint (too flat or too short to identify copies of it)")
    return JSONResponse({"list": "prohibited", "ref": ref, "hashes": count, "sha256": media.sha256},
                        status_code=201)


async def list_prohibited(request: Request) -> Response:
    services: Services = request.app.state.services
    await require_role(request, *MODERATORS, Role.AUDITOR)
    items = await services.db.run(services.fingerprints.items, "prohibited")
    return JSONResponse({"list": "prohibited", "items": items})


async def remove_prohibited(request: Request) -> Response:
    services: Services = request.app.state.services
    account = await require_role(request, *MODERATORS)
    ref = request.path_params["ref"][:120]
    store = services.fingerprints

    def remove() -> bool:
        removed = store.remove("prohibited", ref, actor=account.id)
        if removed:
            with services.db.tx() as conn:
                audit.append(conn, account.id, "fingerprint.prohibited_removed", ref, {})
        return removed

    if not await services.db.run(remove):
        raise ApiError(404, "unknown_item", "no such item on the prohibited list")
    return Response(status_code=204)


async def setup(services: Services) -> None:
    """Build this worker's in-memory fingerprint index from the log before serving (a few seconds per
    million entries), so the first verify does not pay for it."""
    await services.db.run(services.fingerprints.sync)


def routes() -> list[Route]:
    return [
        Route("/v1/fingerprints/prohibited", add_prohibited, methods=["POST"]),
        Route("/v1/fingerprints/prohibited", list_prohibited, methods=["GET"]),
        Route("/v1/fingerprints/prohibited/{ref}", remove_prohibited, methods=["DELETE"]),
    ]
