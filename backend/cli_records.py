"""`avlabel audit | keys | db`: the audit chain and its exports, the signing identity, the schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from backend.cli_common import database_of, db_of, services_of, settings_of
from backend.services import load_identity
from backend.signing.keys import SigningIdentity, SigningIdentityError
from backend.store.db import Database
from backend.store.migrate import DatabaseNotReady


@click.group()
def audit() -> None:
    """The hash-chained audit log: verify, export for regulators, prune beyond retention."""


def _audit_db(ctx: click.Context) -> tuple[Database, SigningIdentity]:
    """The database with the signing identity registered, so this tool's own appends are checkpointed."""
    from backend import checkpoints

    settings = settings_of(ctx)
    try:
        identity = load_identity(settings)
    except SigningIdentityError as exc:
        raise click.ClickException(f"cannot use the signing identity: {exc}") from exc
    db = db_of(ctx)
    checkpoints.register(db.engine, identity, settings.audit_checkpoint_every)
    return db, identity


@audit.command("verify")
@click.option("--checkpoint", "saved", type=click.Path(path_type=Path, exists=True, dir_okay=False), multiple=True,
              help="a checkpoint (JSON from GET /v1/audit/checkpoints or a bundle) kept outside the database")
@click.pass_context
def audit_verify(ctx: click.Context, saved: tuple[Path, ...]) -> None:
    """Check the whole chain against the signed checkpoints; exit 1 naming the problem and entry."""
    from backend import checkpoints
    from backend.audit import verify_chain

    db, identity = _audit_db(ctx)
    extra: list[dict[str, Any]] = []
    for path in saved:
        data = json.loads(path.read_text())
        extra.extend(data["checkpoints"] if isinstance(data, dict) and "checkpoints" in data else
                     data if isinstance(data, list) else [data])
    with db.read() as conn:
        report = verify_chain(conn, checkpoints.trust_of(identity), extra)
    if report.ok:
        anchored = (f", signed up to seq {report.checkpoint_seq} ({report.unanchored} newer entries unsigned)"
                    if report.checkpoint_seq else ", no signed checkpoint yet")
        click.echo(f"ok {report.entries} entries{anchored}")
        return
    click.echo(f"{report.problem}: at entry seq {report.first_broken_seq}: {report.reason}", err=True)
    sys.exit(1)


@audit.command("verify-export")
@click.argument("bundle", type=click.Path(path_type=Path, exists=True))
@click.option("--cert", "cert", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True,
              help="the service's signing certificate (or its CA), PEM, obtained from the operator")
def audit_verify_export(bundle: Path, cert: Path) -> None:
    """Check an export bundle (folder or zip) offline, with nothing but the public certificate."""
    from cryptography import x509

    from backend.audit_bundle import verify_bundle

    try:
        trust = x509.load_pem_x509_certificates(cert.read_bytes())
    except ValueError as exc:
        raise click.BadParameter(f"{cert} holds no PEM certificate") from exc
    report = verify_bundle(bundle, trust)
    click.echo(json.dumps({"ok": report.ok, "entries": report.entries, "checkpoints": report.checkpoints,
                           "covering_checkpoint_seq": report.covering_checkpoint_seq,
                           "problems": report.problems}, indent=2, ensure_ascii=False))
    sys.exit(0 if report.ok else 1)


@audit.command("export")
@click.option("--from", "start", required=True, help="YYYY-MM-DD (whole day) or ISO 8601 date-time")
@click.option("--to", "end", required=True, help="YYYY-MM-DD (inclusive day) or ISO 8601 date-time (exclusive)")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="bundle directory")
@click.pass_context
def audit_export(ctx: click.Context, start: str, end: str, output: Path) -> None:
    """Write the regulator bundle (JSON Lines + CSV + manifest of SHA-256 sums, signed checkpoints, the
    certificate and a signature over the sums) for a date range."""
    from backend import checkpoints
    from backend.records import export, parse_bound

    try:
        lo, hi = parse_bound(start, end=False), parse_bound(end, end=True)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if hi <= lo:
        raise click.BadParameter("--to must be after --from")
    if output.exists() and any(output.iterdir()):
        raise click.ClickException(f"{output} is not empty")
    db, identity = _audit_db(ctx)
    with db.tx() as conn:
        checkpoints.write(conn, identity, "export")
    with db.read() as conn:
        manifest = export(conn, lo, hi, output, identity)
    click.echo(json.dumps({"output": str(output), "datasets": manifest["datasets"],
                           "audit_chain_ok": manifest["audit_chain"]["ok"]}))


@audit.command("prune")
@click.pass_context
def audit_prune(ctx: click.Context) -> None:
    """Remove audit entries older than the retention period (never younger: the database refuses)."""
    from backend.records import prune

    settings = settings_of(ctx)
    db, identity = _audit_db(ctx)
    with db.tx() as conn:
        removed = prune(conn, settings.audit_retention_days, identity)
    click.echo(f"removed {removed} entries older than {settings.audit_retention_days} days")


@click.group()
def keys() -> None:
    """Signing identity."""


@keys.command("show")
@click.pass_context
def keys_show(ctx: click.Context) -> None:
    """Show the signing certificate in use (never the private key)."""
    services = services_of(ctx)
    ident = services.identity
    click.echo(json.dumps({
        "issuer": ident.issuer, "key_id": ident.key_id, "algorithm": ident.alg,
        "subject": ident.leaf.subject.rfc4514_string(), "not_after": ident.not_after.isoformat(),
        "development": ident.development,
    }, indent=2))


@keys.command("rotate")
@click.pass_context
def keys_rotate(ctx: click.Context) -> None:
    """Issue a new development signer certificate; media signed before still verifies."""
    from backend.signing.keys import rotate_dev_signer

    settings = settings_of(ctx)
    if settings.signing_key:
        raise click.ClickException("rotate production keys in your KMS/PKI and update AVLABEL_SIGNING_* instead")
    rotate_dev_signer(settings.data_dir / "keys")
    click.echo("rotated the development signer certificate")


@click.group()
def db() -> None:
    """The database schema: its revision, and upgrading it to the one this release needs."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Migrate the database to this release's schema (back it up first); also applies the retention setting."""
    from alembic.util import CommandError

    from backend.store.migrate import upgrade

    settings = settings_of(ctx)
    database = database_of(settings)
    try:
        before, after = upgrade(database, settings.audit_retention_days)
    except (CommandError, RuntimeError) as exc:
        raise click.ClickException(f"cannot upgrade: {exc}") from exc
    finally:
        database.close()
    click.echo(f"already at revision {after}" if before == after else f"upgraded from {before or 'none'} to {after}")
    click.echo(f"records retention: {settings.audit_retention_days} days")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the database's schema revision; exit 1 unless this release can use it as it is."""
    from backend.store.migrate import problem, status

    settings = settings_of(ctx)
    database = database_of(settings)
    try:
        with database.read() as conn:
            state = status(conn)
    finally:
        database.close()
    if state.empty:
        click.echo(f"empty (head is {state.head}; `avlabel serve` or `avlabel db upgrade` creates it)")
        return
    reason = problem(state, settings.audit_retention_days)
    click.echo(f"{state.revision or 'none'}" + (" (head)" if state.revision == state.head else ""))
    if reason:
        click.echo(reason, err=True)
        sys.exit(1)


@db.command("revision")
@click.option("-m", "--message", required=True, help="what the change is, e.g. \"add console sessions\"")
def db_revision(message: str) -> None:
    """For developers: write the next migration from the difference between schema.py and the newest revision."""
    from backend.store.migrate import new_revision

    try:
        path = new_revision(message)
    except DatabaseNotReady as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {path}: review it (and add trigger or data steps by hand), then commit it")
