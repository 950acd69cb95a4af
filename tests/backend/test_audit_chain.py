"""The audit chain verifies as written and reports the first edited entry (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import update

from backend import audit
from backend.store.db import Database
from backend.store.schema import audit_log
from tests.conftest import PG_ADMIN_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'a.sqlite3'}")
        name = ""
    else:
        name = "avlabel_audit_" + secrets.token_hex(4)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        db = Database("postgresql+psycopg://" + PG_ADMIN_URL.removeprefix("postgresql://").rsplit("/", 1)[0]
                      + "/" + name)
    db.create_schema()
    yield db
    db.close()
    if name:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_chain_verifies_and_finds_an_edit(database: Database) -> None:
    with database.tx() as conn:
        for i in range(5):
            audit.append(conn, "tester", "content.signed", f"c_{i}", {"n": i, "text": "标识 <b>"})
    with database.read() as conn:
        report = audit.verify_chain(conn)
    assert report.ok and report.entries == 5
    with database.tx() as conn:
        third = conn.execute(audit_log.select().order_by(audit_log.c.seq).offset(2).limit(1)).first()
        assert third is not None
        # The edit a database superuser can make past the append-only guards (the triggers).
        if database.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER avlabel_keep_audit_log_update")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(update(audit_log).where(audit_log.c.seq == third.seq).values(actor="someone else"))
    with database.read() as conn:
        broken = audit.verify_chain(conn)
    assert not broken.ok and broken.first_broken_seq == third.seq
