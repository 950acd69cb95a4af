"""Media and servers the benchmarks make for themselves: a 1 MP JPEG, an MP4 of a given size (ffmpeg),
an in-process Services on a fresh data directory, and real uvicorn servers on loopback."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from backend import accounts
from backend.accounts import Account
from backend.services import Services
from backend.settings import Settings
from tests import media_factory
from tests.conftest import PG_ADMIN_URL, Server, make_server

CACHE = Path(__file__).resolve().parent / ".cache"
# The bench drives /v1/verify far past the public per-client limit.
UNLIMITED = {"AVLABEL_VERIFY_RATE_PER_MINUTE": "1000000000"}


def jpeg_1mp(path: Path, seed: int = 1) -> Path:
    path.write_bytes(media_factory.jpeg_bytes((1000, 1000), seed=seed))
    return path


def mp4_of_size(megabytes: int) -> Path:
    """An H.264 MP4 of about `megabytes` MB, made once with ffmpeg and kept under bench/.cache/."""
    CACHE.mkdir(exist_ok=True)
    out = CACHE / f"clip-{megabytes}MB.mp4"
    if out.exists():
        return out
    seed = CACHE / "seed.mp4"
    if not seed.exists():
        # One second of noisy 720p at near-lossless quality: ~35 MB, quick to encode.
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=1280x720:rate=30,noise=alls=30:allf=t", "-t", "1", "-c:v", "libx264",
                        "-preset", "ultrafast", "-qp", "8", "-pix_fmt", "yuv420p", str(seed)],
                       check=True, timeout=300)
    tmp = out.with_suffix(".part.mp4")
    # Loop the seed without re-encoding until the size limit: disk speed, not encoder speed.
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(seed),
                    "-c", "copy", "-fs", str(megabytes * 1_000_000), str(tmp)], check=True, timeout=600)
    tmp.rename(out)
    return out


def open_services(data_dir: Path, **settings: object) -> tuple[Services, Account]:
    """In-process services on the embedded default, with one verified publisher."""
    services = Services.open(Settings(data_dir=data_dir, **settings))  # type: ignore[arg-type]
    with services.db.tx() as conn:
        account = accounts.create_account(conn, "Bench Studio", "publisher", actor="bench")
        accounts.verify_identity(conn, services.settings.secret_key.get_secret_value(), account.id, "org_code",
                                 "bench-attested", actor="bench")
    with services.db.read() as conn:
        loaded = accounts.get_account(conn, account.id)
    assert loaded is not None
    return services, loaded


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh database on the shared PostgreSQL, dropped afterwards (never touches other databases)."""
    import secrets

    name = "avlabel_bench_" + secrets.token_hex(4)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_server(data_dir: Path, shared: bool = False, workers: int = 1, **env: str) -> Iterator[Server]:
    """A real `avlabel serve` on loopback: embedded, or on PostgreSQL + Redis with several workers."""
    with _maybe_pg(shared) as pg_url:
        srv = make_server(data_dir, shared, pg_url, **{**UNLIMITED, **env})
        srv.start(workers=workers)
        try:
            yield srv
        finally:
            srv.stop()
            if shared:
                _drop_redis_prefix(srv.env["REDIS_URL"], srv.env["AVLABEL_REDIS_PREFIX"])


@contextmanager
def _maybe_pg(shared: bool) -> Iterator[str]:
    if not shared:
        yield ""
        return
    with pg_database() as url:
        yield url


def _drop_redis_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def have(tool: str) -> bool:
    return shutil.which(tool) is not None
