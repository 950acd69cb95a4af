"""What every `avlabel` sub-command needs: the settings, the database, the services, as click errors."""

from __future__ import annotations

from typing import Any

import click
from pydantic import ValidationError

from backend.private_files import prepare_data_dir
from backend.services import Services
from backend.settings import Settings, load_settings
from backend.signing.keys import SigningIdentityError
from backend.store.db import Database
from backend.store.migrate import DatabaseNotReady
from backend.store.migrate import prepare as prepare_database


def settings_of(ctx: click.Context) -> Settings:
    obj: dict[str, Any] = ctx.obj
    try:
        return load_settings(obj.get("config"), data_dir=obj.get("data_dir"))
    except ValidationError as exc:
        raise click.ClickException(f"invalid settings: {exc}") from exc


def database_of(settings: Settings) -> Database:
    prepare_data_dir(settings)  # 0700, and the SQLite file 0600 before SQLite makes it
    return Database(settings.sqlalchemy_url)


def db_of(ctx: click.Context) -> Database:
    settings = settings_of(ctx)
    db = database_of(settings)
    try:
        prepare_database(db, settings.audit_retention_days)
    except DatabaseNotReady as exc:
        db.close()
        raise click.ClickException(str(exc)) from exc
    return db


def services_of(ctx: click.Context) -> Services:
    try:
        return Services.open(settings_of(ctx))
    except SigningIdentityError as exc:
        raise click.ClickException(f"cannot use the signing identity: {exc}") from exc
    except DatabaseNotReady as exc:
        raise click.ClickException(str(exc)) from exc
