"""Queued ingest: a job says what it does (`kind`: verify or ingest), what the ingest was asked for (`params`:
the platform account, uploader, declared_ai, title, hosting URLs and the content id chosen when it was
accepted) and, for an ingest, its answer (`result`: the 201 body without the label document). Verify jobs keep
their results in `verify_results`, by hash; rows made before this revision are verify jobs.

Revision ID: 0013_ingest_jobs
Revises: 0012_report_details
Created: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_ingest_jobs"
down_revision: str | None = "0012_report_details"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="verify"))
        batch.add_column(sa.Column("params", sa.JSON, nullable=True))
        batch.add_column(sa.Column("result", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("result")
        batch.drop_column("params")
        batch.drop_column("kind")
