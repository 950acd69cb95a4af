"""Database access: one engine, short transactions, run off the event loop."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from backend.errors import ApiError

T = TypeVar("T")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso_utc(value: dt.datetime | None) -> str | None:
    """ISO 8601 with its UTC offset; SQLite hands timestamps back naive, and a browser would read a naive
    time as local time."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=10)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            self._sqlite_durable(self.engine)

    @staticmethod
    def _sqlite_durable(engine: Engine) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # acknowledged writes survive power loss
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # IMMEDIATE takes the write lock up front so hash-chained appends never interleave.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def create_schema(self) -> None:
        """Brings the database to the newest schema revision, as `avlabel db upgrade` does (tests, tools)."""
        from backend.store.migrate import upgrade

        upgrade(self)

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise ApiError(503, "database_unavailable", "the database is unavailable; try again") from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise ApiError(503, "database_unavailable", "the database is unavailable; try again") from exc

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        except DBAPIError as exc:
            if exc.connection_invalidated or isinstance(exc, OperationalError):
                raise ApiError(503, "database_unavailable", "the database is unavailable; try again") from exc
            if isinstance(exc, DataError):
                # A value the database cannot hold (e.g. a NUL character in PostgreSQL text): the input's fault.
                raise ApiError(400, "invalid_value", "a value in the request cannot be stored or looked up") from exc
            raise

    def close(self) -> None:
        self.engine.dispose()
