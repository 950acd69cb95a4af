"""Streams as content (issue 15): `streams` (a registered HLS/DASH stream, its declaration and the
monitor's progress and lease) and `stream_notes` (the monitor's findings: the case notes of a stream).

Revision ID: 0010_streams
Revises: 0005
Created: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_streams"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None

SeqId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "streams",
        sa.Column("content_id", sa.String(40), primary_key=True),
        sa.Column("publisher_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("playlist_url", sa.String(2000), nullable=False),
        sa.Column("protocol", sa.String(10), nullable=False),
        sa.Column("live", sa.Boolean, nullable=False),
        sa.Column("declaration", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("next_sequence", sa.BigInteger, nullable=False),
        sa.Column("checked_segments", sa.Integer, nullable=False),
        sa.Column("last_segment_url", sa.String(2000)),
        sa.Column("last_checked_at", sa.DateTime(timezone=True)),
        sa.Column("owner", sa.String(80)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("case_id", sa.String(40)),
        sa.Column("c2pa", sa.JSON),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_streams_publisher_id", "streams", ["publisher_id"])
    op.create_table(
        "stream_notes",
        sa.Column("id", SeqId, primary_key=True, autoincrement=True),
        sa.Column("content_id", sa.String(40), nullable=False),
        sa.Column("case_id", sa.String(40)),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("segment_url", sa.String(2000)),
        sa.Column("media_time", sa.Float),
        sa.Column("message", sa.String(1000), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_stream_notes_content_id", "stream_notes", ["content_id"])
    op.create_index("ix_stream_notes_case_id", "stream_notes", ["case_id"])


def downgrade() -> None:
    op.drop_table("stream_notes")
    op.drop_table("streams")
