"""The verification pages for people.

- `/verify`: an upload box (file input and drag and drop); `static/verify.js` posts the file to
  `POST /v1/verify` (polling the job when the file is queued) and writes the answer in words, as text only;
  then a report form offers to report that file, attaching it (multipart) when asked.
- `/verify/{id}`: a registered content's thumbnail or poster frame (or an audio player), the tier in words,
  issuer and trust, the provenance chain from its manifest, the evidence and the detectors' model-card
  figures, and a report form that posts to `POST /v1/reports` (`static/verify_report.js`), zh/en by
  `?lang=` or Accept-Language.
- `/verify/{id}/poster.jpg`: the thumbnail (`web/posters.py`); bad or missing media is a 4xx JSON error.

Every value comes from the registry or a manifest and is escaped by the templates; the scripts are static
files (the CSP forbids inline script) and write answers with textContent only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend import registry, tiers
from backend.errors import ApiError
from backend.services import Services
from backend.vocabulary import LabelState, ReportCategory, Tier
from backend.web import posters, verify_view
from backend.web import verify_words as words
from backend.web.pages import render

STOPPED = (LabelState.BLOCKED, LabelState.PENDING_LABEL)  # no thumbnail, as /media serves none


def _page_words(services: Services, lang: str) -> dict[str, Any]:
    """What verify.js needs to put an answer into words, in both languages (it shows `lang`)."""
    data = services.data
    states = {state: data.display(state) for state in LabelState if data.display(state)}
    return {"lang": lang, "ui": words.UI, "verdict": words.VERDICT, "trust": words.TRUST,
            "integrity": words.INTEGRITY, "states": states,
            "tiers": {t: tiers.wording(data, t) for t in Tier}
            | {"ai_enhanced": tiers.wording(data, Tier.AI_GENERATED, tiers.ENHANCED_SUFFIX)}}


async def upload_page(request: Request) -> Response:
    services: Services = request.app.state.services
    lang = words.language(request)
    return render("verify_upload.html", lang=lang, t=words.UI[lang], other="en" if lang == "zh" else "zh",
                  page_words=words.json_for_html(_page_words(services, lang)), attachable=True,
                  categories=_categories(lang), report_words=_report_words(lang))


def _categories(lang: str) -> list[tuple[str, str]]:
    return [(c.value, words.CATEGORY[c][lang]) for c in ReportCategory]


def _report_words(lang: str) -> str:
    return words.json_for_html({"ui": words.UI[lang], "errors": words.REPORT_ERRORS[lang]})


def _load(services: Services, content_id: str) -> tuple[registry.Content | None, dict[str, Any] | None,
                                                        list[dict[str, Any]]]:
    with services.db.read() as conn:
        row = registry.by_id(conn, content_id)
    if row is None:
        return None, None, []
    source = stored_file(services, row)
    provenance = verify_view.chain(services.reader, source, row.mime) if source else None
    analysis = None
    for sha in dict.fromkeys(h for h in (row.input_sha256, row.sha256) if h):
        analysis = services.jobs.cached_answer(sha)
        if analysis is not None:
            break
    return row, provenance, verify_view.model_signals(analysis)


async def detail_page(request: Request) -> Response:
    services: Services = request.app.state.services
    lang = words.language(request)
    t = words.UI[lang]
    content_id = request.path_params["content_id"][:64]
    common = {"lang": lang, "t": t, "other": "en" if lang == "zh" else "zh", "content_id": content_id}
    body = await services.labels.get(content_id)
    if body is None:
        return render("verify_detail.html", status=404, doc=None, **common)
    doc = json.loads(body)
    row, provenance, signals = await services.db.run(_load, services, content_id)
    if row is None:
        return render("verify_detail.html", status=404, doc=None, **common)
    state = str(doc.get("state"))
    display = doc.get("display") or {}
    tier_words = doc.get("tier_display") or {}
    kind = row.mime.split("/")[0]
    evidence = row.evidence or {}
    source = evidence.get("source") or ("signed" if row.origin in (None, "signed") and row.signature != "none"
                                        else "none")
    facts = [
        ("content_id", doc.get("content_id")),
        ("state", display.get(lang) or state),
        ("tier_code", tier_words.get("short")),
        ("issuer", doc.get("issuer")),
        ("trust", words.pick(words.TRUST, doc.get("issuer_trust"), lang)),
        ("integrity", words.pick(words.INTEGRITY, doc.get("integrity"), lang)),
        ("signature", doc.get("signature")),
        ("publisher", doc.get("publisher")),
        ("generator", doc.get("generator")),
        ("signed_at", doc.get("signed_at")),
        ("updated_at", doc.get("updated_at")),
    ]
    refutation = doc.get("refutation") or {}
    block = doc.get("block") or {}
    return render(
        "verify_detail.html", doc=doc, facts=[(t[k], "—" if v in (None, "") else str(v)) for k, v in facts],
        headline=(tier_words.get(lang) if tier_words else None) or display.get(lang) or t["no_label"],
        headline_other=(tier_words or display).get("en" if lang == "zh" else "zh"),
        kind=kind, stopped=state in STOPPED, has_media=stored_file(services, row) is not None,
        refutation=refutation, block=block, provenance=provenance, signals=signals,
        evidence_source=words.pick(words.SOURCE, source, lang),
        detection_verdict=evidence.get("detection_verdict"),
        cards=verify_view.model_cards(services.settings.models_dir), categories=_categories(lang),
        report_words=_report_words(lang),
        audio_url=_audio_url(row) if kind == "audio" else None, **common)


def stored_file(services: Services, row: registry.Content) -> Path | None:
    """The content's file in the media store (`<data>/media/<name>`), if the service keeps one."""
    if not row.stored_path:
        return None
    path = services.settings.data_dir / "media" / row.stored_path.replace("\\", "/").rsplit("/", 1)[-1]
    return path if path.is_file() else None


def _audio_url(row: registry.Content) -> str | None:
    """The service's own /media/ URL of a stored audio file, if it keeps one."""
    if not row.stored_path:
        return None
    name = row.stored_path.replace("\\", "/").rsplit("/", 1)[-1]
    return f"/media/{name}" if name.startswith(row.content_id + ".") else None


async def poster(request: Request) -> Response:
    services: Services = request.app.state.services
    content_id = request.path_params["content_id"][:64]
    doc = await services.labels.get(content_id)

    def load() -> registry.Content | None:
        with services.db.read() as conn:
            return registry.by_id(conn, content_id)

    row = await services.db.run(load) if doc is not None else None
    if row is None:
        raise ApiError(404, "not_found", "no registered content has this id")
    if json.loads(doc or b"{}").get("state") in STOPPED:
        raise ApiError(451, "content_blocked", "a moderator stopped this media; it has no thumbnail")
    source = stored_file(services, row)
    if source is None:
        raise ApiError(404, "no_media", "this service keeps no file for this content")
    try:
        body = await anyio.to_thread.run_sync(posters.cached, services.settings.data_dir / "posters", row.sha256,
                                              source, row.mime)
    except posters.PosterUnavailable as exc:
        raise ApiError(422, "no_thumbnail", str(exc)) from exc
    return Response(body, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=60",
                                                            "X-Content-Type-Options": "nosniff"})


def routes() -> list[Route]:
    return [Route("/verify", upload_page, methods=["GET"]),
            Route("/verify/{content_id}", detail_page, methods=["GET"]),
            Route("/verify/{content_id}/poster.jpg", poster, methods=["GET"])]
