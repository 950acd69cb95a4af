"""Hosting URL ownership (issue 13): `content_urls` gains kind (exact | prefix), origin and publisher_id,
one owner per (kind, url); `publisher_origins` holds the origins an admin assigned to a publisher.

Existing rows: an absolute http(s) URL becomes an exact URL owned by its content's publisher (normalised:
lower-case scheme and host, default port and fragment dropped; of duplicates the oldest row keeps it).
Bare paths (and the service's own /media/ rows) keep kind NULL: no look-up matches them any more.

Revision ID: 0004
Revises: 0003
Created: 2026-12-01
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None


def _normalised(url: str) -> tuple[str, str] | None:
    """(url, origin) as the registry keys it then (a frozen copy of the rule), or None."""
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    shown = f"[{host}]" if ":" in host else host
    origin = f"{scheme}://{shown}" + (f":{port}" if port not in (None, {"http": 80, "https": 443}[scheme]) else "")
    return origin + (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), origin


def upgrade() -> None:
    op.create_table(
        "publisher_origins",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("path_prefix", sa.String(length=1000), nullable=False),
        sa.Column("assigned_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("publisher_origins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publisher_origins_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ux_publisher_origins", ["account_id", "origin", "path_prefix"], unique=True)

    with op.batch_alter_table("content_urls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("origin", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("publisher_id", sa.String(length=40), nullable=True))

    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT u.id, u.url, c.publisher_id FROM content_urls u JOIN contents c ON c.content_id = u.content_id "
        "ORDER BY u.id")).all()
    taken: set[str] = set()
    for row in rows:
        found = _normalised(row.url)
        if found is None or found[0] in taken or len(found[0]) > 2000 or len(found[1]) > 300:
            continue
        taken.add(found[0])
        conn.execute(sa.text("UPDATE content_urls SET url = :url, kind = 'exact', origin = :origin, "
                             "publisher_id = :publisher WHERE id = :id"),
                     {"url": found[0], "origin": found[1], "publisher": row.publisher_id, "id": row.id})

    with op.batch_alter_table("content_urls", schema=None) as batch_op:
        batch_op.create_index("ix_content_urls_origin", ["origin", "kind"], unique=False)
        batch_op.create_index("ux_content_urls_kind_url", ["kind", "url"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("content_urls", schema=None) as batch_op:
        batch_op.drop_index("ux_content_urls_kind_url")
        batch_op.drop_index("ix_content_urls_origin")
        batch_op.drop_column("publisher_id")
        batch_op.drop_column("origin")
        batch_op.drop_column("kind")

    with op.batch_alter_table("publisher_origins", schema=None) as batch_op:
        batch_op.drop_index("ux_publisher_origins")
        batch_op.drop_index(batch_op.f("ix_publisher_origins_account_id"))

    op.drop_table("publisher_origins")
