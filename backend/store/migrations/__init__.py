"""Alembic migrations of both stores (SQLite and PostgreSQL); run through backend.store.migrate."""
