"""Staff sign in by username or e-mail with a TOTP second factor, and read the console in their language.

`accounts.username`, `accounts.email`: unique (e-mail stored lower-cased), null for publishers and for staff
not yet given one. `accounts.totp_secret`: the TOTP secret encrypted with a key derived from the service
secret (never stored, logged or returned in clear); `totp_enabled_at` is set once a code from it was
entered, `totp_last_step` is the 30-second step of the last code accepted (a code is good once).
`accounts.console_locale`: zh or en, zh by default. `cases.assigned_to`: the moderator or admin a case is
assigned to in the console's queue, null while unassigned.

Revision ID: 0011_staff_login
Revises: 0006_ingest
Created: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_staff_login"
down_revision: str | None = "0006_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("username", sa.String(64), nullable=True))
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("totp_secret", sa.String(300), nullable=True))
        batch.add_column(sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("console_locale", sa.String(8), nullable=False, server_default="zh"))
        batch.create_index("ix_accounts_username", ["username"], unique=True)
        batch.create_index("ix_accounts_email", ["email"], unique=True)
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("assigned_to", sa.String(40), nullable=True))
        batch.create_index("ix_cases_assigned_to", ["assigned_to"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_assigned_to")
        batch.drop_column("assigned_to")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_email")
        batch.drop_index("ix_accounts_username")
        for name in ("console_locale", "totp_last_step", "totp_enabled_at", "totp_secret", "email", "username"):
            batch.drop_column(name)
