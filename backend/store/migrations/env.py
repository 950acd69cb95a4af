"""Alembic environment. It never opens a connection of its own: backend.store.migrate hands over one
already inside a transaction (SQLite BEGIN IMMEDIATE, PostgreSQL under an advisory lock), so a whole
upgrade commits or rolls back as one, on both stores, and two processes never upgrade at once."""

from __future__ import annotations

from alembic import context

from backend.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `avlabel db upgrade` (backend.store.migrate), not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    transactional_ddl=True,  # SQLite too: its DDL is transactional
    render_as_batch=True,  # SQLite alters most columns by copying the table
    compare_type=True,
    process_revision_directives=context.config.attributes.get("process_revision_directives"),
)
with context.begin_transaction():
    context.run_migrations()
