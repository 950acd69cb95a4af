"""Schema revisions (Alembic, both stores): the start-up check, `avlabel db upgrade | current | revision`.

The rule: an empty database (none of avlabel's tables) is created at the newest revision by whichever
process opens it first, so a first `avlabel serve` just works. Any other database must already be at
the newest revision, with the guard triggers enforcing the configured retention; otherwise every
process refuses to start, naming `avlabel db upgrade`. Only that command (and the first opening of an
empty database) changes the schema: servers, workers, job processes and other commands only read it.
"""

from __future__ import annotations

import functools
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from backend.records import guard_retention, install_guards
from backend.store.db import Database
from backend.store.schema import metadata

log = logging.getLogger(__name__)


class _QuietContext(logging.Filter):
    """Alembic announces its dialect on every revision read, i.e. at every process start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("Context impl", "Will assume"))


logging.getLogger("alembic.runtime.migration").addFilter(_QuietContext())

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
UPGRADE_COMMAND = "avlabel db upgrade"
_PG_MIGRATE_LOCK = 0x61766C6D  # "avlm"
DEFAULT_RETENTION_DAYS = 180


class DatabaseNotReady(RuntimeError):
    """The database is not at the revision this release needs; the message says what to run."""


@dataclass(frozen=True)
class Status:
    revision: str | None  # None: no alembic_version (empty, or made before migrations)
    head: str
    has_tables: bool
    retention_days: int | None

    @property
    def empty(self) -> bool:
        return self.revision is None and not self.has_tables


def alembic_config(conn: Connection | None = None, retention_days: int = DEFAULT_RETENTION_DAYS) -> Config:
    cfg = Config()  # no alembic.ini: everything is set here, so an installed wheel migrates too
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.attributes["connection"] = conn
    cfg.attributes["retention_days"] = retention_days
    return cfg


@functools.cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    heads = scripts().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({', '.join(heads)}); merge them into one")
    return heads[0]


def status(conn: Connection) -> Status:
    revision = MigrationContext.configure(conn).get_current_revision()
    ours = set(inspect(conn).get_table_names()) & set(metadata.tables)
    retention = guard_retention(conn) if ours else None
    return Status(revision, head(), bool(ours), retention)


def problem(state: Status, retention_days: int) -> str | None:
    """What stops this release from using the database, in words for the operator; None when nothing."""
    if state.revision is None:
        return ("the database has avlabel tables but no schema revision: it was made by avlabel 0.1.0 or "
                f"earlier, before migrations. Back it up, then run `{UPGRADE_COMMAND}`")
    if state.revision != state.head:
        known = {s.revision for s in scripts().walk_revisions()}
        if state.revision not in known:
            return (f"the database is at schema revision {state.revision}, which this release does not know "
                    f"(made by a newer avlabel?); this release needs {state.head}")
        return (f"the database is at schema revision {state.revision}, this release needs {state.head}: "
                f"back it up, then run `{UPGRADE_COMMAND}`")
    if state.retention_days != retention_days:
        if state.retention_days is None:
            return f"the database's record guards (triggers) are missing or incomplete: run `{UPGRADE_COMMAND}`"
        return (f"the database's record guards enforce {state.retention_days} days of retention but "
                f"AVLABEL_AUDIT_RETENTION_DAYS is {retention_days}: run `{UPGRADE_COMMAND}` to apply it")
    return None


def prepare(db: Database, retention_days: int) -> None:
    """Start-up check of every process: creates an empty database, else raises DatabaseNotReady unless the
    database is current (reads only)."""
    with db.read() as conn:
        state = status(conn)
    if state.empty:
        before, after = upgrade(db, retention_days)
        if before != after:
            log.info("created the database schema at revision %s", after)
        return
    reason = problem(state, retention_days)
    if reason:
        raise DatabaseNotReady(f"{reason} (database {db.engine.url.render_as_string(hide_password=True)})")


def upgrade(db: Database, retention_days: int = DEFAULT_RETENTION_DAYS) -> tuple[str | None, str]:
    """Brings the database to the newest revision and the configured retention, in one transaction; returns
    the revisions before and after."""
    with db.engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE, so one upgrader at a time
        if not db.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATE_LOCK})
        before = MigrationContext.configure(conn).get_current_revision()
        command.upgrade(alembic_config(conn, retention_days), "head")
        if guard_retention(conn) != retention_days:
            install_guards(conn, retention_days)
        after = MigrationContext.configure(conn).get_current_revision()
    if after is None:
        raise RuntimeError("the migrations recorded no revision")
    return before, after


def new_revision(message: str) -> Path:
    """Writes the next revision file, autogenerated from the difference between schema.py and the newest
    revision (on a scratch SQLite database). For developers; review the file before committing it."""
    rev_id = f"{len(list(scripts().walk_revisions())) + 1:04d}"
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'head.sqlite3'}")
        try:
            upgrade(db)
            with db.engine.begin() as conn:
                cfg = alembic_config(conn)
                cfg.attributes["process_revision_directives"] = _refuse_empty
                script = command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
        finally:
            db.close()
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic wrote no single revision")
    return Path(script.path)


def _refuse_empty(_context: Any, _revision: Any, directives: list[Any]) -> None:
    if directives[0].upgrade_ops.is_empty():
        raise DatabaseNotReady("schema.py matches the newest revision: there is nothing to migrate")
