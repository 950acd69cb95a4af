"""The `avlabel` command: serve, worker, monitor, sign, verify, accounts, audit, keys, db."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from backend import accounts as accounts_mod
from backend import cli_records, cli_staff
from backend.cli_common import db_of, services_of, settings_of
from backend.domain_errors import Conflict, DomainError
from backend.media import scratch_dir
from backend.services import Services, load_identity
from backend.signing.keys import SigningIdentityError
from backend.signing.service import SignRequest
from backend.vocabulary import IdentityKind, Role


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

    settings = settings_of(ctx)
    try:
        load_identity(settings)  # refuse a bad key before any worker starts
    except SigningIdentityError as exc:
        raise click.ClickException(f"cannot use the signing identity: {exc}") from exc
    if workers > 1 and settings.embedded:
        raise click.UsageError("--workers > 1 needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    db_of(ctx).close()  # refuse an outdated database before any worker starts
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

    services = services_of(ctx)
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

    services = services_of(ctx)
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
    services = services_of(ctx)
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
    services = services_of(ctx)
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

    services = services_of(ctx)
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

    services = services_of(ctx)
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

    services = services_of(ctx)
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

    db = db_of(ctx)
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

    db = db_of(ctx)
    try:
        with db.tx() as conn:
            row = accounts_mod.get_row(conn, account_id)
            if row.role not in CONSOLE_ROLES:
                raise Conflict("not_a_console_role", "only admin, moderator and auditor accounts use the console")
            set_password(conn, account_id, password, actor="cli")
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    click.echo(f"password set for {account_id}")


cli_staff.register(accounts, db_of, settings_of)


main.add_command(cli_records.audit)
main.add_command(cli_records.keys)
main.add_command(cli_records.db)


if __name__ == "__main__":
    main()
