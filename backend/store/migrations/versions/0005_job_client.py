"""Queued jobs say who queued them, for the backlog quotas (AVLABEL_JOB_QUEUE_PER_CLIENT and the rest).

`jobs.client` is the account (`account:<id>`) or a keyed digest of the address (`addr:<hmac>`); rows made
before this revision have none and count only towards the overall quota.

Revision ID: 0005
Revises: 0004
Created: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("client", sa.String(80), nullable=True))
        batch.create_index("ix_jobs_client", ["client"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_client")
        batch.drop_column("client")
