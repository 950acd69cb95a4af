"""Read-only record access for auditors and admins: the chain check, entries, and the regulator bundle."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend import audit, records
from backend.auth import require_role
from backend.errors import ApiError
from backend.routes.params import MAX_SEQ, query_int
from backend.store.schema import audit_log

READERS = ("auditor", "admin")


async def verify(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, *READERS)

    def run() -> audit.ChainReport:
        with services.db.read() as conn:
            return audit.verify_chain(conn)

    report = await services.db.run(run)
    return JSONResponse({"ok": report.ok, "entries": report.entries, "first_broken_seq": report.first_broken_seq,
                         "reason": report.reason or None})


async def entries(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, *READERS)
    after = query_int(request, "after", 0, 0, MAX_SEQ)
    limit = query_int(request, "limit", 100, 1, 1000)

    def run() -> list[dict[str, Any]]:
        with services.db.read() as conn:
            rows = conn.execute(select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq)
                                .limit(limit)).mappings()
            return [{**r, "at": records.plain(r["at"])} for r in rows]

    return JSONResponse({"entries": await services.db.run(run)})


def bundle_zip(services: Any, start: str, end: str) -> bytes:
    try:
        lo, hi = records.parse_bound(start, end=False), records.parse_bound(end, end=True)
    except ValueError as exc:
        raise ApiError(400, "invalid_range", str(exc)) from exc
    if hi <= lo:
        raise ApiError(400, "invalid_range", "`to` must be after `from`")
    with tempfile.TemporaryDirectory(dir=services.settings.data_dir) as tmp:
        out = Path(tmp) / "bundle"
        with services.db.read() as conn:
            records.export(conn, lo, hi, out)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(out.iterdir()):
                zf.write(path, path.name)
    return buf.getvalue()


async def export(request: Request) -> Response:
    services = request.app.state.services
    account = await require_role(request, *READERS)
    start, end = request.query_params.get("from", ""), request.query_params.get("to", "")
    if not start or not end:
        raise ApiError(400, "invalid_range", "give ?from= and ?to= (YYYY-MM-DD or ISO 8601 date-time)")
    body = await services.db.run(bundle_zip, services, start, end)

    def note() -> None:
        with services.db.tx() as conn:
            audit.append(conn, account.id, "audit.exported", None, {"from": start, "to": end})

    await services.db.run(note)
    name = f"avlabel-records-{start[:10]}-{end[:10]}.zip"
    return Response(body, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def routes() -> list[Route]:
    return [
        Route("/v1/audit/verify", verify, methods=["GET"]),
        Route("/v1/audit/entries", entries, methods=["GET"]),
        Route("/v1/audit/export", export, methods=["GET"]),
    ]
