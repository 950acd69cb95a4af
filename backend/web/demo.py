"""The demo page at `/`: every label state on real signed media, each with the player plugin attached.

With `settings.demo` on, start-up makes the media locally, signs it with the service's own signing
flow and registers it; a tampered copy is checked by the real verifier before it is shown as tampered.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import anyio.to_thread
from sqlalchemy import update
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from backend import audit
from backend.errors import ApiError
from backend.media import scratch_dir
from backend.signing.service import SignRequest
from backend.store.schema import contents
from backend.web import demo_media
from backend.web.plugin_assets import hashed_name

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent / "demo_assets"
GENERATOR = "avlabel demo generator 1.0"
# A manifest string an attacker controls: the plugin must show it as text.
HOSTILE = '<img src=x onerror="document.title=\'pwned\'"> hostile-gen 1.0'
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'")
PUBLIC_FILES = {name: ASSETS / name for name in ("demo.css", "demo.js", "vjs-config.js")}


@dataclass
class Demo:
    directory: Path
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Item:
    content_id: str
    kind: str  # video | audio | image | jpeg
    title: str
    generator: str = GENERATOR


ITEMS = (
    Item("demo-video", "video", "Demo clip: synthetic motion"),
    Item("demo-audio", "audio", "Demo clip: synthetic melody"),
    Item("demo-image", "image", "Demo picture: synthetic shapes"),
    Item("demo-tampered", "jpeg", "Demo picture that is altered after signing"),
    Item("demo-hostile", "image", HOSTILE, HOSTILE),
    Item("demo-blocked", "video", "Demo clip removed by a moderator"),
)


def _source(item: Item, work: Path, seed: int) -> Path:
    if item.kind == "video":
        return demo_media.video(work / "source.mp4")
    if item.kind == "audio":
        return demo_media.melody(work / "source.wav")
    if item.kind == "jpeg":
        return demo_media.picture(work / "source.jpg", seed, fmt="JPEG")
    return demo_media.picture(work / "source.png", seed)


def _set_state(services: Any, content_id: str, state: str, note: dict[str, Any]) -> None:
    with services.db.tx() as conn:
        conn.execute(update(contents).where(contents.c.content_id == content_id).values(
            label_state=state, label_note=note, updated_at=dt.datetime.now(dt.UTC)))
        audit.append(conn, "demo", "demo.label_state", content_id, {"state": state, **note})


def prepare(services: Any) -> Demo:
    """Blocking: makes and signs whatever demo media is missing (idempotent, safe across workers)."""
    directory = services.settings.data_dir / "demo"
    directory.mkdir(parents=True, exist_ok=True)
    demo = Demo(directory)
    for seed, item in enumerate(ITEMS):
        if services.verify.registry_by_id(item.content_id) is not None:
            continue
        with scratch_dir(services.settings.data_dir / "tmp") as work:
            media = services.signing.inspect(_source(item, work, seed))
            req = SignRequest(generator=item.generator, title=item.title, content_id=item.content_id)
            try:
                services.signing.sign(media, req, None, work)
            except ApiError as exc:
                if exc.status != 409:  # another worker signed it first
                    raise
        if item.content_id == "demo-blocked":
            _set_state(services, item.content_id, "blocked", {"reason": "Demo: removed after a complaint"})
    _prepare_unsigned(directory)
    _prepare_tampered(services, demo)
    return demo


def _prepare_unsigned(directory: Path) -> None:
    target = directory / "unsigned.png"
    if not target.exists():
        tmp = directory / f".unsigned.{os.getpid()}.png"
        demo_media.picture(tmp, 99)
        tmp.replace(target)


def _prepare_tampered(services: Any, demo: Demo) -> None:
    target = demo.directory / "tampered.jpg"
    signed = services.settings.data_dir / "media" / "demo-tampered.jpg"
    if not target.exists():
        tmp = demo.directory / f".tampered.{os.getpid()}.jpg"
        demo_media.tamper(signed, tmp)
        tmp.replace(target)
    verdict = services.verify.verify_media(services.media.inspect(target))["verdict"]
    if verdict == "tampered":
        entry = services.verify.registry_by_id("demo-tampered") or {}
        if entry.get("label_state") != "tampered":
            _set_state(services, "demo-tampered", "tampered", {"reason": "the verifier found the file altered"})
    else:
        demo.problems.append(f"the tampered demo copy verifies as {verdict!r}, not 'tampered'")
        log.warning("demo: %s", demo.problems[-1])


async def setup(services: Any) -> None:
    if not services.settings.demo:
        return
    demo = await anyio.to_thread.run_sync(prepare, services)
    for item in ITEMS:
        await services.labels.invalidate(item.content_id)
    services.web.demo = demo
    log.info("demo media ready under %s", demo.directory)


async def demo_page(request: Request) -> Response:
    services = request.app.state.services
    demo: Demo | None = services.web.demo
    if demo is None:
        raise ApiError(404, "demo_disabled", "the demo page is off: start the service with `avlabel serve --demo`")
    lang = "zh-CN" if request.query_params.get("lang", "").startswith("zh") else "en"
    plugin = hashed_name(services.web.plugin_assets, "avlabel-player.js")
    page = Template((ASSETS / "demo.html").read_text(encoding="utf-8")).substitute(
        lang=lang, plugin_src=f"/plugin/{plugin}",
        problems="".join(f"<p class=problem>{html.escape(p)}</p>" for p in demo.problems),
    )
    headers = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    return HTMLResponse(page, headers=headers)


async def demo_file(request: Request) -> Response:
    services = request.app.state.services
    demo: Demo | None = services.web.demo
    name = request.path_params["name"]
    path = PUBLIC_FILES.get(name)
    if path is None and demo is not None and name in ("unsigned.png", "tampered.jpg"):
        path = demo.directory / name
    if path is None or not path.is_file():
        raise ApiError(404, "not_found", "no such demo file")
    return FileResponse(path, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


def routes() -> list[Route]:
    return [Route("/", demo_page, methods=["GET"]), Route("/demo/{name}", demo_file, methods=["GET"])]
