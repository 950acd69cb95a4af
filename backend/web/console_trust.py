"""Console pages for trust and safety work beside the queue: the review queue of detector flags
(/console/review), per-model agreement (/console/metrics), the transparency report with charts
(/console/transparency) and deciding an appeal (/console/appeals/{id}). Charts are drawn by the
vendored Chart.js (/static/chart.umd.min.js) from data embedded as JSON, under the same strict CSP."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from backend import appeals, cases, moderation, records, registry, statements, transparency
from backend.domain_errors import DomainError, NotFound
from backend.errors import ApiError, status_of
from backend.routes.transparency import FORMATS, build_report, detector_agreement, period
from backend.store.db import utcnow
from backend.store.schema import cases as cases_table
from backend.vocabulary import CONTENT_ACTIONS, OPEN_CASE_STATUSES, AppealOutcome, CaseOrigin
from backend.web.console import ACTORS, RECORD_READERS, _ctx, _login_redirect, _posted, _signed_in
from backend.web.console_errors import refusal
from backend.web.pages import render

REVIEW_LIMIT = 200


def safe_link(value: Any) -> str | None:
    """Only same-site paths and https links become hrefs."""
    text = str(value or "")
    return text if text.startswith(("https://", "/")) and not text.startswith("//") else None


def review_items(services: Any) -> list[dict[str, Any]]:
    settings = services.settings
    now = utcnow()
    with services.db.read() as conn:
        rows = conn.execute(select(cases_table).where(
            or_(cases_table.c.origin == CaseOrigin.DETECTOR_FLAG, cases_table.c.category == CaseOrigin.DETECTOR_FLAG),
            cases_table.c.status.in_(OPEN_CASE_STATUSES))
            .order_by(cases_table.c.severity.desc(), cases_table.c.created_at).limit(REVIEW_LIMIT)).all()
        return [_review_item(conn, row, settings, now) for row in rows]


def _review_item(conn: Any, row: Any, settings: Any, now: dt.datetime) -> dict[str, Any]:
    """One flag to review: the case, its media's kind, and the models' scores and cards."""
    item = cases.summary(row, settings.case_ack_hours, settings.case_decide_hours, now)
    entry = registry.by_id(conn, row.content_id) if row.content_id else None
    item["media_kind"] = None if entry is None or not entry.stored_path else (
        "video" if entry.mime.startswith("video/") else "audio" if entry.mime.startswith("audio/") else "img")
    flag = (row.details or {}).get("detector_flag") or {}
    item["models"] = [{**m, "card_link": safe_link(m["card"])} for m in statements.flag_models(row.details)]
    item["verdict"] = flag.get("verdict") or flag.get("reason")
    return item


async def review_page(request: Request) -> Response:
    signed = await _signed_in(request)
    if signed is None:
        return _login_redirect()
    items = await request.app.state.services.db.run(review_items, request.app.state.services)
    return render("console_review.html", **_ctx(*signed, items=items))


async def metrics_page(request: Request) -> Response:
    signed = await _signed_in(request)
    if signed is None:
        return _login_redirect()
    models = await request.app.state.services.db.run(detector_agreement, request.app.state.services)
    return render("console_metrics.html", **_ctx(*signed, models=models, chart={"models": models}))


async def transparency_page(request: Request) -> Response:
    signed = await _signed_in(request)
    if signed is None:
        return _login_redirect()
    if signed[0].role not in RECORD_READERS:
        raise ApiError(403, "forbidden", "reports to regulators are for auditors and admins")
    today = utcnow().date()
    start = request.query_params.get("from", "")[:40] or (today - dt.timedelta(days=30)).isoformat()
    end = request.query_params.get("to", "")[:40] or today.isoformat()
    try:
        lo, hi = records.parse_bound(start, end=False), records.parse_bound(end, end=True)
    except ValueError as exc:
        raise ApiError(400, "invalid_range", str(exc)) from exc
    if hi <= lo:
        raise ApiError(400, "invalid_range", "`to` must be after `from`")
    data = await request.app.state.services.db.run(build_report, request.app.state.services, lo, hi)
    return render("console_transparency.html", **_ctx(*signed, report=data, start=start, end=end))


async def transparency_export(request: Request) -> Response:
    """Downloads for the signed-in auditor or admin: the report (JSON or CSV), refutation records, DSA statements."""
    signed = await _signed_in(request)
    if signed is None:
        return _login_redirect()
    if signed[0].role not in RECORD_READERS:
        raise ApiError(403, "forbidden", "reports to regulators are for auditors and admins")
    services = request.app.state.services
    lo, hi = period(request)
    kind = request.query_params.get("kind", "report")
    fmt = request.query_params.get("format", "json")
    if kind not in ("report", "refutations", "dsa") or fmt not in FORMATS:
        raise ApiError(400, "invalid_export", "kind is report, refutations or dsa; format json or csv")

    def load() -> Any:
        if kind == "report":
            return build_report(services, lo, hi)
        with services.db.read() as conn:
            if kind == "refutations":
                return {"refutations": transparency.refutations(conn, lo, hi)}
            return {"statements": transparency.dsa_statements(conn, lo, hi)}

    data = await services.db.run(load)
    name = f"avlabel-{kind}-{lo.date().isoformat()}"
    if kind == "report" and fmt == "csv":
        return Response(transparency.to_csv(data), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "no-store"})
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="{name}.json"',
                                       "Cache-Control": "no-store"})


async def appeal_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    signed = await _signed_in(request)
    if signed is None:
        return _login_redirect()
    services = request.app.state.services
    appeal_id = request.path_params["appeal_id"][:64]
    settings = services.settings

    def load() -> tuple[dict[str, Any], dict[str, Any]]:
        with services.db.read() as conn:
            appeal = appeals.detail(conn, appeal_id)
            original = cases.detail(conn, appeal["original_case_id"], settings.case_ack_hours,
                                    settings.case_decide_hours)
            return appeal, original

    try:
        appeal, original = await services.db.run(load)
    except DomainError as exc:
        message = refusal(exc, signed[0].console_locale)
        return render("console_error.html", status=status_of(exc), **_ctx(*signed, message=message))
    decision = next((a for a in original["actions"] if a["id"] == appeal["decision_id"]), None)
    me = signed[0]
    return render("console_appeal.html", status=status, **_ctx(
        *signed, appeal=appeal, original=original, decision=decision, error=error, outcomes=tuple(AppealOutcome),
        actions=CONTENT_ACTIONS, same_decider=me.id == appeal["original_actor"],
        can_decide=me.role in ACTORS and appeal["status"] == "open"))


async def appeal_decide(request: Request) -> Response:
    posted = await _posted(request)
    if posted is None:
        return _login_redirect()
    account, csrf, form = posted
    appeal_id = request.path_params["appeal_id"][:64]
    body: dict[str, Any] = {"outcome": form.get("outcome"), "reasons": form.get("reasons", "")}
    action = str(form.get("action", "")).strip()
    if action:
        body["action"] = action
        body["public_statement"] = str(form.get("public_statement", "")).strip() or None
    try:
        decision = appeals.parse_decision(body)
        await moderation.decide_appeal(request.app.state.services, appeal_id, decision, account.id)
    except NotFound:
        raise
    except DomainError as exc:
        return await appeal_page(request, error=refusal(exc, account.console_locale), status=status_of(exc))
    return RedirectResponse(f"/console/appeals/{appeal_id}", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/console/review", review_page, methods=["GET"]),
        Route("/console/metrics", metrics_page, methods=["GET"]),
        Route("/console/transparency", transparency_page, methods=["GET"]),
        Route("/console/transparency/export", transparency_export, methods=["GET"]),
        Route("/console/appeals/{appeal_id}", appeal_page, methods=["GET"]),
        Route("/console/appeals/{appeal_id}/decision", appeal_decide, methods=["POST"]),
    ]



