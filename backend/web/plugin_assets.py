"""Serves the built player plugin: short-cached stable names and immutable content-hashed names.

player_plugin/dist (settings.plugin_dist) is read once when the app starts; `npm run build` makes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend.errors import ApiError

log = logging.getLogger(__name__)

SHORT_CACHE = "public, max-age=300, must-revalidate"
IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".ts": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".css": "text/css; charset=utf-8",
}
# Stable names → served with revalidation; the manifest adds <name>.<hash>.<ext> as immutable aliases.
# The streaming adapters (adapters/avlabel-<player>.js|mjs) are served because the manifest lists them.
STABLE = ("avlabel-player.js", "avlabel-player.mjs", "avlabel-player.d.ts", "manifest.json",
          "vendor/video.min.js", "vendor/video-js.min.css")
_ADAPTER = re.compile(r"^adapters/avlabel-[a-z]+\.m?js$")


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str
    immutable: bool


def load_assets(dist: Path) -> dict[str, Asset]:
    """The served files by URL name; empty when the plugin has not been built."""
    manifest_path = dist / "manifest.json"
    if not manifest_path.is_file():
        log.warning("player plugin not built (%s missing): run `npm ci && npm run build` in player_plugin",
                    manifest_path)
        return {}
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    assets: dict[str, Asset] = {}
    listed = [n for n in manifest.get("files", {}) if isinstance(n, str) and _ADAPTER.match(n)]
    for name in (*STABLE, *listed):
        path = dist / name
        if not path.is_file():
            continue
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        media_type = TYPES.get(Path(name).suffix, "application/octet-stream")
        assets[name] = Asset(body, media_type, etag, immutable=False)
        entry = manifest.get("files", {}).get(name)
        if entry and name.endswith("js"):
            assets[entry["hashed_name"]] = Asset(body, media_type, etag, immutable=True)
    return assets


def hashed_name(assets: dict[str, Asset], name: str) -> str:
    """The immutable URL name of a stable asset (falls back to the stable name)."""
    stable = assets.get(name)
    for key, asset in assets.items():
        if asset.immutable and stable is not None and asset.etag == stable.etag:
            return key
    return name


async def setup(services: Any) -> None:
    services.web.plugin_assets = load_assets(Path(services.settings.plugin_dist))


async def plugin_asset(request: Request) -> Response:
    assets: dict[str, Asset] = request.app.state.services.web.plugin_assets
    name = request.path_params["name"]
    asset = assets.get(name)
    if asset is None:
        if not assets:
            raise ApiError(404, "plugin_not_built",
                           "the player plugin is not built: run `npm ci && npm run build` in player_plugin")
        raise ApiError(404, "not_found", "no such plugin file")
    headers = {
        "ETag": asset.etag,
        "Cache-Control": IMMUTABLE if asset.immutable else SHORT_CACHE,
        # Module scripts and cross-origin <script type=module> need CORS.
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def routes() -> list[Route]:
    return [Route("/plugin/{name:path}", plugin_asset, methods=["GET", "HEAD"])]
