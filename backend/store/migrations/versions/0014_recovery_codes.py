"""One-time recovery codes for the staff TOTP second factor (`staff_recovery_codes`): a keyed hash of each
code, the account, when it was made and when it was used.

Revision ID: 0014_recovery_codes
Revises: 0013_ingest_jobs
Created: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_recovery_codes"
down_revision: str | None = "0013_ingest_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_recovery_codes",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_staff_recovery_codes_account_id", "staff_recovery_codes", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_recovery_codes_account_id", table_name="staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
