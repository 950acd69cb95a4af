"""The application factory: everything is wired here, nothing at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from backend import __version__
from backend.errors import exception_handlers
from backend.limits import BodyLimitMiddleware
from backend.manifest_data import ManifestData
from backend.openapi import build_openapi
from backend.routes import (
    accounts,
    appeals,
    audit,
    cases,
    check,
    contents,
    fingerprints,
    ingest,
    jobs,
    labels,
    reports,
    signing,
    streams,
    system,
    transparency,
    verify,
)
from backend.security_headers import SecurityHeadersMiddleware
from backend.services import Services
from backend.settings import Settings
from backend.web import (
    appeal_page,
    console,
    console_account,
    console_actions,
    console_evidence,
    console_login,
    console_trust,
    demo,
    pages,
    plugin_assets,
    verify_page,
)

log = logging.getLogger(__name__)

# Each module offers routes(); optional setup(services) runs in the lifespan. The OpenAPI document
# is generated from these routes (backend/openapi.py).
ROUTE_MODULES: list[ModuleType] = [system, signing, ingest, verify, check, labels, contents, streams, verify_page,
                                   plugin_assets, demo, fingerprints, jobs, reports, pages, cases, accounts, audit,
                                   console, console_login, console_actions, appeals, transparency, appeal_page,
                                   console_trust, console_account, console_evidence]


def create_app(settings: Settings, services: Services | None = None) -> Starlette:
    routes: list[BaseRoute] = []
    for module in ROUTE_MODULES:
        routes.extend(module.routes())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        opened = services or Services.open(settings)
        app.state.services = opened
        for module in ROUTE_MODULES:
            setup = getattr(module, "setup", None)
            if setup is not None:
                await setup(opened)
        try:
            yield {}
        finally:
            for module in reversed(ROUTE_MODULES):
                teardown = getattr(module, "teardown", None)
                if teardown is not None:
                    await teardown(opened)
            await opened.close()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(SecurityHeadersMiddleware, frame_ancestors=settings.frame_ancestors),
            Middleware(
                BodyLimitMiddleware,
                default_limit=1024 * 1024,
                upload_limit=settings.max_upload_bytes,
                upload_paths=("/v1/sign", "/v1/verify", "/v1/check", "/v1/fingerprints", "/v1/reports"),
                read_timeout=settings.body_read_timeout_seconds,
            )
        ],
        exception_handlers=exception_handlers(),
    )
    app.state.settings = settings
    app.state.openapi = build_openapi(routes, __version__, ManifestData.load().signable)
    return app
