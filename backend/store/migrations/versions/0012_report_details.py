"""A report's own details: the reporter's good-faith statement, the playback time range reported, and the
group of a report that covers several media items (`reports.details`, JSON, null for older reports).

A plain ADD COLUMN (no table rebuild), so the append-only guard triggers on `reports` stay in place.

Revision ID: 0012_report_details
Revises: 0011_staff_login
Created: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_report_details"
down_revision: str | None = "0011_staff_login"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reports", sa.Column("details", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("details")
