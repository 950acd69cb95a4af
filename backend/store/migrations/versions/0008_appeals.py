"""Appeals and case origins: `appeals` (publisher appeals, reporters' contests, each with its own case),
`cases.origin` (report, detector_flag, appeal) and `cases.details` (detector scores and model cards).

Revision ID: 0008_appeals
Revises: 0010_streams
Created: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_appeals"
down_revision: str | None = "0010_streams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("origin", sa.String(20), nullable=True))
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch.create_index("ix_cases_origin", ["origin"])
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("decision_id", sa.BigInteger(), nullable=False),
        sa.Column("original_case_id", sa.String(40), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("case_id", sa.String(40), sa.ForeignKey("cases.id"), nullable=False, unique=True),
        sa.Column("appellant", sa.String(40), nullable=False),
        sa.Column("original_actor", sa.String(40), nullable=False),
        sa.Column("original_action", sa.String(40), nullable=False),
        sa.Column("grounds", sa.String(4000), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("new_action", sa.String(40), nullable=True),
        sa.Column("outcome_reasons", sa.String(4000), nullable=True),
        sa.Column("decided_by", sa.String(40), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_appeals_decision_id", "appeals", ["decision_id"])
    op.create_index("ix_appeals_original_case_id", "appeals", ["original_case_id"])
    op.create_index("ix_appeals_created_at", "appeals", ["created_at"])
    op.create_index("ux_appeals_once", "appeals", ["decision_id", "appellant"], unique=True)


def downgrade() -> None:
    op.drop_table("appeals")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_origin")
        batch.drop_column("details")
        batch.drop_column("origin")
