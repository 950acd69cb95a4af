"""The migrations and schema.py agree; the guards hold against REPLACE and upsert; opening a current database
runs no DDL; a database this release cannot use is refused with the command to run."""

from __future__ import annotations

import datetime as dt
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend import audit
from backend.records import install_guards
from backend.store import migrate
from backend.store.db import Database
from backend.store.schema import metadata
from tests import media_factory
from tests.backend.test_jobs import submit, wait_job
from tests.conftest import PG_ADMIN_URL, ROOT, Server, base_env, fresh_pg_database
from tests.store import previous_release as v0


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
        yield db
        db.close()
        return
    with fresh_pg_database("avlabel_migrations_") as url:
        db = Database(url.replace("postgresql://", "postgresql+psycopg://", 1))
        yield db
        db.close()


def triggers(db: Database) -> dict[str, str]:
    """The guard triggers as the database keeps them (SQLite: their SQL; PostgreSQL: definition and function)."""
    with db.engine.connect() as conn:
        if db.is_sqlite:
            rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        else:
            rows = conn.execute(text(
                "SELECT tgname, pg_get_triggerdef(t.oid) || pg_get_functiondef(tgfoid) FROM pg_trigger t "
                "WHERE NOT tgisinternal"))
        return dict(rows.all())


def test_head_matches_schema_py(empty_db: Database) -> None:
    """A column or table added to schema.py without a migration fails here (`avlabel db revision -m …`)."""
    assert len(migrate.scripts().get_heads()) == 1
    migrate.upgrade(empty_db)
    with empty_db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, metadata) == []
        assert context.get_current_revision() == migrate.head()


def test_head_guards_are_what_install_guards_makes(empty_db: Database) -> None:
    """`avlabel db upgrade` repairs or re-times the guards with records.install_guards: it must make exactly the
    triggers the migrations made."""
    migrate.upgrade(empty_db)
    made = triggers(empty_db)
    assert len(made) == (9 if empty_db.is_sqlite else 6)
    with empty_db.engine.begin() as conn:
        install_guards(conn, 180)
    assert triggers(empty_db) == made


def test_replace_and_upsert_cannot_rewrite_records(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    with empty_db.tx() as conn:
        for i in range(3):
            audit.append(conn, "tester", "content.signed", f"c_{i}", {"n": i})
    with empty_db.read() as conn:
        before = conn.execute(text("SELECT seq, actor, hash FROM audit_log ORDER BY seq")).all()
    seq, _, digest = before[0]
    row = "CURRENT_TIMESTAMP, 'mallory', 'content.signed', 'c_0', '{}', 'x'"
    if empty_db.is_sqlite:
        attempts = [
            f"INSERT OR REPLACE INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash) "
            f"VALUES ({seq}, {row}, 'forged')",
            f"REPLACE INTO audit_log (at, actor, action, subject, data, prev_hash, hash) VALUES ({row}, '{digest}')",
            f"INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash) "
            f"VALUES ({seq}, {row}, 'forged') ON CONFLICT (seq) DO UPDATE SET actor = 'mallory'",
        ]
    else:
        attempts = [
            f"INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash) "
            f"VALUES ({seq}, {row}, 'forged') ON CONFLICT (seq) DO UPDATE SET actor = 'mallory'",
            f"INSERT INTO audit_log (at, actor, action, subject, data, prev_hash, hash) VALUES ({row}, '{digest}') "
            f"ON CONFLICT (hash) DO UPDATE SET actor = 'mallory'",
            f"MERGE INTO audit_log a USING (SELECT {seq} AS seq) s ON a.seq = s.seq "
            f"WHEN MATCHED THEN UPDATE SET actor = 'mallory'",
            f"MERGE INTO audit_log a USING (SELECT {seq} AS seq) s ON a.seq = s.seq WHEN MATCHED THEN DELETE",
        ]
    for sql in attempts:
        with pytest.raises(DBAPIError, match="append-only|kept for 180 days"), empty_db.engine.begin() as conn:
            conn.exec_driver_sql(sql)
    with empty_db.read() as conn:
        assert conn.execute(text("SELECT seq, actor, hash FROM audit_log ORDER BY seq")).all() == before
        assert audit.verify_chain(conn).ok
    with empty_db.tx() as conn:  # ordinary appends still work
        audit.append(conn, "tester", "content.signed", "c_3", {"n": 3})


def test_replace_passed_the_previous_release_guards(tmp_path: Path) -> None:
    """The hole 0002 closes: on 0.1.0's SQLite triggers an INSERT OR REPLACE rewrote an audit entry."""
    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    v0.create(db)
    with db.tx() as conn:
        audit.append(conn, "tester", "content.signed", "c_0", {"n": 0})
        conn.exec_driver_sql("INSERT OR REPLACE INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash)"
                             " VALUES (1, CURRENT_TIMESTAMP, 'mallory', 'x', NULL, '{}', 'x', 'forged')")
        assert conn.exec_driver_sql("SELECT actor FROM audit_log").scalar() == "mallory"
    db.close()


def schema_version(srv: Server) -> int:
    db = Database(f"sqlite:///{srv.data_dir / 'avlabel.sqlite3'}")
    try:
        with db.engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA schema_version").scalar() or 0)
    finally:
        db.close()


def test_processes_opening_a_current_database_run_no_ddl(tmp_path: Path) -> None:
    """SQLite counts every schema change in `schema_version`: the CLI, a server start and a queued job's
    analysis process (each opens the services) leave it alone once the database is current."""
    data_dir = tmp_path / "data"
    srv = Server(data_dir, base_env(data_dir, AVLABEL_ASYNC_VERIFY_BYTES="1000"))
    assert srv.cli("db", "current").stdout.startswith("empty")
    srv.keys["publisher"] = srv.create_account("publisher", "Studio")  # a first command creates the schema
    created = schema_version(srv)
    assert created > 0 and srv.cli("db", "current").stdout.strip() == f"{migrate.head()} (head)"
    srv.create_account("admin", "Admin")
    srv.cli("audit", "verify")
    srv.start()
    try:
        blob = media_factory.png(tmp_path / "big.png", seed=3, size=(256, 256)).read_bytes()
        assert len(blob) > 1000
        assert wait_job(srv, submit(srv, blob))["status"] == "done"
    finally:
        srv.stop()
    assert schema_version(srv) == created


def test_retention_change_is_applied_by_db_upgrade(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    srv = Server(data_dir, base_env(data_dir))
    srv.cli("db", "upgrade")
    longer = Server(data_dir, base_env(data_dir, AVLABEL_AUDIT_RETENTION_DAYS="400"))
    refused = longer.cli("audit", "verify", check=False)
    assert refused.returncode != 0
    assert "enforce 180 days" in refused.stderr and "avlabel db upgrade" in refused.stderr
    assert "records retention: 400 days" in longer.cli("db", "upgrade").stdout
    db = Database(f"sqlite:///{data_dir / 'avlabel.sqlite3'}")
    try:
        with db.tx() as conn:
            audit.append(conn, "tester", "content.signed", "c_0", {"n": 0})
        with db.engine.begin() as conn:  # 200 days old: deletable under 180 days, kept under 400
            conn.exec_driver_sql("DROP TRIGGER avlabel_keep_audit_log_update")
            old = dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
            conn.execute(text("UPDATE audit_log SET at = :at"), {"at": old})
        with pytest.raises(DBAPIError, match="kept for 400 days"), db.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM audit_log")
    finally:
        db.close()
    # The dropped trigger is noticed and put back by the same command.
    assert "missing or incomplete" in longer.cli("db", "current", check=False).stderr
    longer.cli("db", "upgrade")
    assert longer.cli("db", "current").stdout.strip().endswith("(head)")


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_outdated_or_unknown_revision_is_refused(store: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    name = ""
    extra: dict[str, str] = {}
    if store == "postgresql":
        name = "avlabel_rev_" + secrets.token_hex(4)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        extra["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    srv = Server(data_dir, base_env(data_dir, **extra))
    try:
        data_dir.mkdir()
        url = extra.get("DATABASE_URL") or f"sqlite:///{data_dir / 'avlabel.sqlite3'}"
        db = Database(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with db.engine.begin() as conn:  # a deployment that stopped at the first revision
            command.upgrade(migrate.alembic_config(conn), "0001")
        refused: Any = srv.cli("accounts", "create", "--role", "admin", "--name", "x", check=False)
        assert refused.returncode != 0
        assert "revision 0001" in refused.stderr and "avlabel db upgrade" in refused.stderr
        assert srv.cli("db", "current", check=False).returncode == 1
        assert "upgraded from 0001 to" in srv.cli("db", "upgrade").stdout
        srv.cli("accounts", "create", "--role", "admin", "--name", "x")

        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        db.close()
        newer = srv.cli("audit", "verify", check=False)
        assert newer.returncode != 0 and "does not know" in newer.stderr
        assert srv.cli("db", "upgrade", check=False).returncode != 0
    finally:
        if name:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_first_openers_racing_on_an_empty_database_both_succeed(store: str, tmp_path: Path) -> None:
    """Several workers (or commands) starting at once on a new database: one creates it, the others wait."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with fresh_pg_database("avlabel_race_") if store == "postgresql" else _no_database() as url:
        env = base_env(data_dir, **({"DATABASE_URL": url} if url else {}))
        cmd = [sys.executable, "-m", "backend.cli", "--data-dir", str(data_dir), "accounts", "create",
               "--role", "admin", "--name"]
        procs = [subprocess.Popen([*cmd, f"admin {i}"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for i in range(3)]
        outputs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], [err[-2000:] for _, err in outputs]
        srv = Server(data_dir, env)
        assert srv.cli("db", "current").stdout.strip() == f"{migrate.head()} (head)"


@contextmanager
def _no_database() -> Iterator[str]:
    yield ""


def test_a_pre_release_database_is_not_half_upgraded(tmp_path: Path) -> None:
    """A table missing a 0.1.0 column cannot be adopted: the upgrade says which, and changes nothing."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = Database(f"sqlite:///{data_dir / 'avlabel.sqlite3'}")
    v0.create(db)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE accounts DROP COLUMN webhook_secret")
        conn.exec_driver_sql("DROP TABLE fingerprint_log")
    srv = Server(data_dir, base_env(data_dir))
    failed = srv.cli("db", "upgrade", check=False)
    assert failed.returncode != 0 and "accounts lacks column(s) webhook_secret" in failed.stderr
    with db.engine.connect() as conn:
        tables = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars())
    assert "alembic_version" not in tables and "fingerprint_log" not in tables
    db.close()
