"""Factory entry point for uvicorn: `uvicorn backend.asgi:app --factory`."""

from __future__ import annotations

from starlette.applications import Starlette

from backend.app import create_app
from backend.settings import load_settings


def app() -> Starlette:
    return create_app(load_settings())
