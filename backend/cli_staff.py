"""`avlabel accounts set-login | totp-enrol | totp-confirm | recovery-codes`: staff sign-in names, the TOTP
second factor and its one-time recovery codes.

The otpauth URI (which holds the secret) goes to standard output once, for the operator to hand to the
staff member; it is never logged. `totp-confirm` checks a first code, which turns the second factor on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from sqlalchemy import select

from backend import recovery_codes, staff_login
from backend.domain_errors import DomainError
from backend.private_files import ensure_secret
from backend.store.schema import accounts


def register(group: click.Group, open_db: Callable[[click.Context], Any],
             load_settings: Callable[[click.Context], Any]) -> None:
    def service_secret(ctx: click.Context) -> str:
        settings = load_settings(ctx)
        ensure_secret(settings)  # development: the install's own first-run secret, as the server uses
        value: str = settings.secret_key.get_secret_value()
        return value

    @group.command("set-login")
    @click.argument("account_id")
    @click.option("--username", default=None, help="2-64 of a-z 0-9 . _ - (stored lower-cased); '' clears it")
    @click.option("--email", default=None, help="an e-mail address to sign in with; '' clears it")
    @click.pass_context
    def set_login(ctx: click.Context, account_id: str, username: str | None, email: str | None) -> None:
        """Give a staff account the username and/or e-mail it signs in to the console with."""
        db = open_db(ctx)
        try:
            with db.tx() as conn:
                staff_login.set_login(conn, account_id, username, email, actor="cli")
        except DomainError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from exc
        click.echo(f"sign-in set for {account_id}")

    @group.command("totp-enrol")
    @click.argument("account_id")
    @click.option("--reset", is_flag=True, help="replace a second factor already enrolled (a lost device)")
    @click.pass_context
    def totp_enrol(ctx: click.Context, account_id: str, reset: bool) -> None:
        """Start TOTP enrolment: prints the otpauth URI once; confirm with `totp-confirm`."""
        db = open_db(ctx)
        secret = service_secret(ctx)
        try:
            with db.tx() as conn:
                uri = staff_login.begin_enrolment(conn, account_id, secret, reset=reset, actor="cli")
        except DomainError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from exc
        click.echo(uri)

    @group.command("recovery-codes")
    @click.argument("account_id")
    @click.pass_context
    def recovery(ctx: click.Context, account_id: str) -> None:
        """Make a new set of one-time recovery codes (the old set stops working); prints them once."""
        db = open_db(ctx)
        secret = service_secret(ctx)
        with db.tx() as conn:
            row = conn.execute(select(accounts.c.totp_enabled_at).where(accounts.c.id == account_id)).first()
            if row is None or row.totp_enabled_at is None:
                raise click.ClickException("no second factor set up for that account")
            made = recovery_codes.issue(conn, account_id, secret, actor="cli")
        click.echo("\n".join(made))

    @group.command("totp-confirm")
    @click.argument("account_id")
    @click.argument("code")
    @click.pass_context
    def totp_confirm(ctx: click.Context, account_id: str, code: str) -> None:
        """Turn the second factor on with a first code from the authenticator."""
        db = open_db(ctx)
        secret = service_secret(ctx)
        with db.tx() as conn:
            ok = staff_login.check_code(conn, account_id, code, secret)
        if not ok:
            raise click.ClickException("wrong or already used code")
        click.echo(f"second factor on for {account_id}")
