"""Reporting to regulators: GET /v1/transparency/report (JSON or ?format=csv), /v1/transparency/refutations
(Art. 13 filing records), /v1/transparency/dsa-statements (DSA Transparency Database statements), and
GET /v1/metrics/detectors (how often moderators confirm each model's flags)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend import records, transparency
from backend.auth import require_role
from backend.errors import ApiError
from backend.store.db import utcnow
from backend.store.schema import cases
from backend.vocabulary import CaseOrigin, Role

RECORD_READERS = (Role.AUDITOR, Role.ADMIN)
READERS = (Role.MODERATOR, Role.ADMIN, Role.AUDITOR)
FORMATS = ("json", "csv")


def period(request: Request) -> tuple[dt.datetime, dt.datetime]:
    start, end = request.query_params.get("from", ""), request.query_params.get("to", "")
    if not start or not end:
        raise ApiError(400, "invalid_range", "give ?from= and ?to= (YYYY-MM-DD or ISO 8601 date-time)")
    try:
        lo, hi = records.parse_bound(start[:40], end=False), records.parse_bound(end[:40], end=True)
    except ValueError as exc:
        raise ApiError(400, "invalid_range", str(exc)) from exc
    if hi <= lo:
        raise ApiError(400, "invalid_range", "`to` must be after `from`")
    return lo, hi


def build_report(services: Any, lo: dt.datetime, hi: dt.datetime) -> dict[str, Any]:
    settings = services.settings
    with services.db.read() as conn:
        return transparency.report(conn, lo, hi, settings.case_ack_hours, settings.case_decide_hours, utcnow())


def _csv(body: str, name: str) -> Response:
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "no-store"})


async def report(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, *RECORD_READERS)
    fmt = request.query_params.get("format", "json")
    if fmt not in FORMATS:
        raise ApiError(400, "invalid_format", "format must be json or csv")
    lo, hi = period(request)
    data = await services.db.run(build_report, services, lo, hi)
    if fmt == "csv":
        return _csv(transparency.to_csv(data), "avlabel-transparency")
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


async def refutations(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, *RECORD_READERS)
    lo, hi = period(request)

    def load() -> list[dict[str, Any]]:
        with services.db.read() as conn:
            return transparency.refutations(conn, lo, hi)

    items = await services.db.run(load)
    return JSONResponse({"from": lo.isoformat(), "to_exclusive": hi.isoformat(), "refutations": items},
                        headers={"Cache-Control": "no-store"})


async def dsa_statements(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, *RECORD_READERS)
    lo, hi = period(request)

    def load() -> list[dict[str, Any]]:
        with services.db.read() as conn:
            return transparency.dsa_statements(conn, lo, hi)

    return JSONResponse({"statements": await services.db.run(load)}, headers={"Cache-Control": "no-store"})


def detector_agreement(services: Any) -> list[dict[str, Any]]:
    with services.db.read() as conn:
        rows = conn.execute(select(cases.c.details, cases.c.status, cases.c.outcome).where(
            or_(cases.c.origin == CaseOrigin.DETECTOR_FLAG, cases.c.category == CaseOrigin.DETECTOR_FLAG))).all()
    return transparency.agreement(list(rows))


async def detector_metrics(request: Request) -> Response:
    services = request.app.state.services
    await require_role(request, *READERS)
    return JSONResponse({"models": await services.db.run(detector_agreement, services)})


def routes() -> list[Route]:
    return [
        Route("/v1/transparency/report", report, methods=["GET"]),
        Route("/v1/transparency/refutations", refutations, methods=["GET"]),
        Route("/v1/transparency/dsa-statements", dsa_statements, methods=["GET"]),
        Route("/v1/metrics/detectors", detector_metrics, methods=["GET"]),
    ]
