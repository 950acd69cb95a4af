"""The append-only guard also refuses SQLite's REPLACE.

`INSERT OR REPLACE` (and `REPLACE INTO`) on a key that exists deletes the old row, then inserts; with
recursive_triggers off (the default, and any other client's setting) the delete trigger does not fire,
so an entry could be rewritten in place. A BEFORE INSERT trigger refuses an insert whose key (or, for
the audit log, whose hash) is already present; it holds for every client of the file.

PostgreSQL needs nothing: `INSERT … ON CONFLICT DO UPDATE` fires the BEFORE UPDATE trigger, which refuses.

Revision ID: 0002
Revises: 0001
Created: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

# table -> the unique columns a REPLACE could collide on
KEYS = {"audit_log": ("seq", "hash"), "reports": ("id",), "case_actions": ("id",)}


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for table, keys in KEYS.items():
        clash = " OR ".join(f"{k} = NEW.{k}" for k in keys)
        conn.exec_driver_sql(
            f"CREATE TRIGGER avlabel_keep_{table}_insert BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) BEGIN "
            f"SELECT RAISE(ABORT, 'avlabel: {table} records are append-only (replace refused)'); END")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for table in KEYS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS avlabel_keep_{table}_insert")
