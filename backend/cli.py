"""The `avlabel` command: serve, worker, monitor, sign, verify, accounts, audit, keys, db."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from tqdm import tqdm

from backend import accounts as accounts_mod
from backend import cli_staff
from backend.domain_errors import Conflict, DomainError
from backend.media import scratch_dir
from backend.private_files import prepare_data_dir
from backend.services import Services, load_identity
from backend.settings import Settings, load_settings
from backend.signing.keys import SigningIdentity, SigningIdentityError
from backend.signing.service import SignRequest
from backend.store.db import Database
from backend.store.migrate import DatabaseNotReady
from backend.store.migrate import prepare as prepare_database
from backend.vocabulary import IdentityKind, Role


def _settings(ctx: click.Context) -> Settings:
    obj: dict[str, Any] = ctx.obj
    try:
        return load_settings(obj.get("config"), data_dir=obj.get("data_dir"))
    except ValidationError as exc:
        raise click.ClickException(f"invalid settings: {exc}") from exc


def _database(settings: Settings) -> Database:
    prepare_data_dir(settings)  # 0700, and the SQLite file 0600 before SQLite makes it
    return Database(settings.sqlalchemy_url)


def _db(ctx: click.Context) -> Database:
    settings = _settings(ctx)
    db = _database(settings)
    try:
        prepare_database(db, settings.audit_retention_days)
    except DatabaseNotReady as exc:
        db.close()
        raise click.ClickException(str(exc)) from exc
    return db


def _open(ctx: click.Context) -> Services:
    try:
        return Services.open(_settings(ctx))
    except SigningIdentityError as exc:
        raise click.ClickException(f"cannot use the signing identity: {exc}") from exc
    except DatabaseNotReady as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="default ./avlabel-data")
@click.option("--config", type=click.Path(path_type=Path, exists=True), default=None, help="TOML or JSON file")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, config: Path | None) -> None:
    """avlabel: label and verify AI-generated media."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = {"data_dir": data_dir, "config": config}


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--workers", default=1, type=int, help="several workers need DATABASE_URL and REDIS_URL")
@click.option("--demo/--no-demo", default=False, help="sign and serve the demo media at /")
@click.option("--no-worker", is_flag=True, help="run no in-process job worker (use `avlabel worker` processes)")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, demo: bool, no_worker: bool) -> None:
    """Run the HTTP service (with an in-process job worker per process unless --no-worker)."""
    import os

    import uvicorn

    settings = _settings(ctx)
    try:
        load_identity(settings)  # refuse a bad key before any worker starts
    except SigningIdentityError as exc:
        raise click.ClickException(f"cannot use the signing identity: {exc}") from exc
    if workers > 1 and settings.embedded:
        raise click.UsageError("--workers > 1 needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    _db(ctx).close()  # refuse an outdated database before any worker starts
    # Workers rebuild settings from the environment in the factory below.
    os.environ["AVLABEL_DATA_DIR"] = str(settings.data_dir)
    if demo:
        os.environ["AVLABEL_DEMO"] = "true"
    if no_worker:
        os.environ["AVLABEL_JOB_WORKERS"] = "0"
    if ctx.obj.get("config"):
        os.environ["AVLABEL_CONFIG"] = str(ctx.obj["config"])
    from backend.serving import HeadLimitedProtocol

    uvicorn.run("backend.asgi:app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, access_log=False, http=HeadLimitedProtocol,
                timeout_keep_alive=settings.keep_alive_seconds,
                h11_max_incomplete_event_size=settings.max_header_bytes)


@main.command()
@click.option("--concurrency", default=1, type=click.IntRange(1, 64), help="jobs analysed at once")
@click.pass_context
def worker(ctx: click.Context, concurrency: int) -> None:
    """Run queued verification jobs (Redis Stream consumer; the jobs table without REDIS_URL).

    SIGTERM or Ctrl-C: take no new job and finish the running ones; a second signal ends them at once
    (their jobs are handed back).
    """
    import asyncio
    import signal

    from backend.jobs.worker import WorkerPool

    services = _open(ctx)
    pool = WorkerPool(services, concurrency)

    def on_signal(signum: int, _frame: object) -> None:
        if pool.stop_event.is_set():
            pool.abort_event.set()
        pool.stop_event.set()
        logging.getLogger(__name__).info("signal %d: stopping after the running job", signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pool.start()
    while pool.alive():
        pool.stop_event.wait(0.5)
    pool.stop(abort=False)
    asyncio.run(services.close())


@main.command()
@click.option("--concurrency", default=4, type=click.IntRange(1, 256), help="streams watched at once")
@click.pass_context
def monitor(ctx: click.Context, concurrency: int) -> None:
    """Watch registered live streams (a Redis Stream consumer; needs REDIS_URL and a shared database).

    SIGTERM or Ctrl-C: hand the streams back (another monitor takes them over from the last checked segment).
    """
    import asyncio
    import signal

    from backend.streams.monitor import StreamMonitor

    services = _open(ctx)
    if not services.settings.redis_url:
        raise click.UsageError("`avlabel monitor` needs REDIS_URL: its work items are a Redis Stream")

    async def run() -> None:
        watcher = StreamMonitor(services, concurrency)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, watcher.stop.set)
        await watcher.run()
        await services.close()

    asyncio.run(run())


def _sign_one(services: Services, src: Path, out: Path, req: SignRequest) -> dict[str, Any]:
    with scratch_dir(services.settings.data_dir / "tmp") as work:
        media = services.signing.inspect(src)
        result = services.signing.sign(media, req, None, work, out=out)
    return {"file": str(src), "output": str(out), "content_id": result.content_id, "sha256": result.sha256}


@main.command()
@click.argument("source", type=click.Path(path_type=Path, exists=True))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--generator", required=True, help="model name and version")
@click.option("--source-type", default="trainedAlgorithmicMedia")
@click.option("--title", default=None)
@click.option("--visible-label/--no-visible-label", default=None)
@click.option("--corner-mark", is_flag=True, help="video: a small persistent AI生成 mark too")
@click.option("--prompt-at-end", is_flag=True, help="audio: the rhythm prompt at the end too")
@click.pass_context
def sign(ctx: click.Context, source: Path, output: Path, generator: str, source_type: str, title: str | None,
         visible_label: bool | None, corner_mark: bool, prompt_at_end: bool) -> None:
    """Sign FILE into OUTPUT, or every file of a folder into an output folder."""
    services = _open(ctx)
    try:
        if source.is_dir():
            output.mkdir(parents=True, exist_ok=True)
            files = sorted(p for p in source.iterdir() if p.is_file())
            failed = 0
            for path in tqdm(files, desc="signing", unit="file"):
                req = SignRequest(generator, source_type, title, None, visible_label, corner_mark, prompt_at_end)
                try:
                    _sign_one(services, path, output / path.name, req)
                except DomainError as exc:
                    failed += 1
                    tqdm.write(f"{path.name}: {exc.code}: {exc.message}")
            click.echo(json.dumps({"signed": len(files) - failed, "failed": failed}))
            sys.exit(1 if failed else 0)
        req = SignRequest(generator, source_type, title, None, visible_label, corner_mark, prompt_at_end)
        click.echo(json.dumps(_sign_one(services, source, output, req), indent=2))
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc


@main.command()
@click.argument("source", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.pass_context
def verify(ctx: click.Context, source: Path) -> None:
    """Print the same JSON verdict the API gives."""
    services = _open(ctx)
    try:
        media = services.media.inspect(source)
        click.echo(json.dumps(services.verify.verify_media(media), indent=2, ensure_ascii=False))
    except DomainError as exc:
        click.echo(json.dumps({"error": {"code": exc.code, "message": exc.message}}))
        sys.exit(2)


@main.command()
@click.argument("source", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--uploader", default="cli", help="the uploader's account reference on the platform")
@click.option("--declared-ai", is_flag=True, help="the uploader declares the content may be AI-generated")
@click.option("--title", default=None)
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None, help="where to write the labelled file")
@click.pass_context
def ingest(ctx: click.Context, source: Path, uploader: str, declared_ai: bool, title: str | None,
           out: Path | None) -> None:
    """Ingest FILE as a platform upload (as POST /v1/ingest): tier, label, propagate, re-sign, register."""
    import shutil

    from backend.ingest import IngestRequest, IngestService
    from backend.media import scratch_dir

    services = _open(ctx)
    try:
        with scratch_dir(services.settings.data_dir / "tmp") as work:
            media = services.media.inspect(source)
            result = IngestService(services.signing, services.verify).ingest(
                media, IngestRequest(uploader, declared_ai, title), None, work)
        if out is not None:
            shutil.copyfile(result.path, out)
        click.echo(json.dumps({"content_id": result.content_id, "sha256": result.sha256, "tier": result.tier,
                               "implicit_label": result.record, "evidence": result.evidence,
                               "c2pa_manifest": result.c2pa_manifest(), "stored": str(result.path)},
                              indent=2, ensure_ascii=False))
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc


@main.command()
@click.argument("source", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.pass_context
def check(ctx: click.Context, source: Path) -> None:
    """Print the GB 45438-2025 conformance report (the same JSON as POST /v1/check); exit 1 if not compliant."""
    from backend.implicit_label.conformance import check as conformance

    services = _open(ctx)
    try:
        media = services.media.inspect(source)
        report = conformance(media, services.reader, services.data, services.identity)
    except DomainError as exc:
        click.echo(json.dumps({"error": {"code": exc.code, "message": exc.message}}))
        sys.exit(2)
    click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    sys.exit(0 if report["compliant"] else 1)


@main.group()
def accounts() -> None:
    """Manage accounts and API keys."""


@accounts.command("create")
# Choices by value: click matches Enum members by name (ADMIN), the CLI takes the stored word (admin).
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", required=True)
@click.option("--verified-identity", is_flag=True, help="an admin has checked the publisher's real identity")
@click.option("--identity-kind", type=click.Choice([k.value for k in IdentityKind]),
              default=IdentityKind.ORG_CODE.value)
@click.option("--identity-number", default=None, help="read from AVLABEL_IDENTITY_NUMBER if omitted")
@click.pass_context
def accounts_create(ctx: click.Context, role: str, name: str, verified_identity: bool, identity_kind: str,
                    identity_number: str | None) -> None:
    """Create an account and print its API key (shown once)."""
    import os

    services = _open(ctx)
    number = identity_number or os.environ.get("AVLABEL_IDENTITY_NUMBER") or "attested-by-cli-operator"
    with services.db.tx() as conn:
        account = accounts_mod.create_account(conn, name, role, actor="cli")
        if verified_identity:
            accounts_mod.verify_identity(conn, services.settings.secret_key.get_secret_value(), account.id,
                                         identity_kind, number, actor="cli")
        key = accounts_mod.issue_api_key(conn, account.id, actor="cli")
    click.echo(json.dumps({"account_id": account.id, "role": role, "api_key": key}))


@accounts.command("add-origin")
@click.argument("account_id")
@click.argument("origins", nargs=-1, required=True)
@click.option("--path-prefix", default="/", help="only URLs whose path starts with this (default: the whole origin)")
@click.pass_context
def accounts_add_origin(ctx: click.Context, account_id: str, origins: tuple[str, ...], path_prefix: str) -> None:
    """Let a publisher register hosting URLs under each ORIGIN (scheme://host[:port])."""
    from backend import registry_urls
    from backend.store.db import utcnow

    db = _db(ctx)
    try:
        with db.tx() as conn:
            for origin in origins:
                view, created = registry_urls.assign(conn, account_id, origin, path_prefix, "cli", utcnow())
                click.echo(json.dumps({**view, "created": created}))
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc


@accounts.command("set-password")
@click.argument("account_id")
@click.password_option(envvar="AVLABEL_PASSWORD", help="read from AVLABEL_PASSWORD or prompted")
@click.pass_context
def accounts_set_password(ctx: click.Context, account_id: str, password: str) -> None:
    """Set the console password of an admin, moderator or auditor account."""
    from backend.passwords import set_password
    from backend.vocabulary import CONSOLE_ROLES

    db = _db(ctx)
    try:
        with db.tx() as conn:
            row = accounts_mod.get_row(conn, account_id)
            if row.role not in CONSOLE_ROLES:
                raise Conflict("not_a_console_role", "only admin, moderator and auditor accounts use the console")
            set_password(conn, account_id, password, actor="cli")
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    click.echo(f"password set for {account_id}")


cli_staff.register(accounts, _db, _settings)


@main.group()
def audit() -> None:
    """The hash-chained audit log: verify, export for regulators, prune beyond retention."""


def _audit_db(ctx: click.Context) -> tuple[Database, SigningIdentity]:
    """The database with the signing identity registered, so this tool's own appends are checkpointed."""
    from backend import checkpoints

    settings = _settings(ctx)
    try:
        identity = load_identity(settings)
    except SigningIdentityError as exc:
        raise click.ClickException(f"cannot use the signing identity: {exc}") from exc
    db = _db(ctx)
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

    settings = _settings(ctx)
    db, identity = _audit_db(ctx)
    with db.tx() as conn:
        removed = prune(conn, settings.audit_retention_days, identity)
    click.echo(f"removed {removed} entries older than {settings.audit_retention_days} days")


@main.group()
def keys() -> None:
    """Signing identity."""


@keys.command("show")
@click.pass_context
def keys_show(ctx: click.Context) -> None:
    """Show the signing certificate in use (never the private key)."""
    services = _open(ctx)
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

    settings = _settings(ctx)
    if settings.signing_key:
        raise click.ClickException("rotate production keys in your KMS/PKI and update AVLABEL_SIGNING_* instead")
    rotate_dev_signer(settings.data_dir / "keys")
    click.echo("rotated the development signer certificate")


@main.group()
def db() -> None:
    """The database schema: its revision, and upgrading it to the one this release needs."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Migrate the database to this release's schema (back it up first); also applies the retention setting."""
    from alembic.util import CommandError

    from backend.store.migrate import upgrade

    settings = _settings(ctx)
    database = _database(settings)
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

    settings = _settings(ctx)
    database = _database(settings)
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


if __name__ == "__main__":
    main()
