"""Every content says where its AI label comes from (GB 45438-2025 tiers) and how it entered the registry.

`contents.tier`: ai_generated, declared_possibly, suspected, or null (not AI, or from before tiers: signing
by this service implies ai_generated when `synthetic`). `contents.origin`: signed (POST /v1/sign), ingested
(POST /v1/ingest) or reported (a case's media registered for a moderator's action); null before this
revision. `contents.evidence`: what ingest read from the uploaded file (its manifest's issuer, trust and
integrity, the implicit label, the declaration, the detection verdict).

Revision ID: 0006_ingest
Revises: 0010_streams
Created: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_ingest"
down_revision: str | None = "0008_appeals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contents") as batch:
        batch.add_column(sa.Column("tier", sa.String(20), nullable=True))
        batch.add_column(sa.Column("origin", sa.String(20), nullable=True))
        batch.add_column(sa.Column("evidence", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contents") as batch:
        batch.drop_column("evidence")
        batch.drop_column("origin")
        batch.drop_column("tier")
