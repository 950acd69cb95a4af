"""Real parts only: a uvicorn server in a subprocess, real PostgreSQL and Redis, the real CLI."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("AVLABEL_FIXTURES", ROOT.parent / "shared" / "fixtures" / "c2pa-python"))
PG_ADMIN_URL = os.environ.get("AVLABEL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("AVLABEL_TEST_REDIS", "redis://127.0.0.1:6379/0")
# Origins an admin assigned to the "publisher" account, so it may register hosting URLs there.
PUBLISHER_ORIGINS = ("https://cdn.example", "https://cdn.example.com", "https://cdn.example.org")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running avlabel service and the CLI bound to the same data."""

    data_dir: Path
    env: dict[str, str]
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    keys: dict[str, str] = field(default_factory=dict)
    account_ids: dict[str, str] = field(default_factory=dict)  # API key -> account id
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "backend.cli", "--data-dir", str(self.data_dir), *args]
        result = subprocess.run(cmd, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        if check and result.returncode != 0:
            raise AssertionError(f"{cmd} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def create_account(self, role: str, name: str, verified: bool = True) -> str:
        args = ["accounts", "create", "--role", role, "--name", name]
        if verified:
            args.append("--verified-identity")
        created = json.loads(self.cli(*args).stdout.strip().splitlines()[-1])
        key: str = created["api_key"]
        self.account_ids[key] = created["account_id"]
        return key

    def start(self, workers: int = 1) -> None:
        self.port = self.port or free_port()
        self.log_path = self.data_dir / "server.log"
        cmd = [sys.executable, "-m", "backend.cli", "--data-dir", str(self.data_dir), "serve",
               "--port", str(self.port), "--workers", str(workers)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("server did not start in 60 s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)  # type: ignore[arg-type]


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env = {k: v for k, v in inherited.items() if not k.startswith("AVLABEL_")}
    env["AVLABEL_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = str(ROOT)
    # Every test client is 127.0.0.1: a session's many reports must not hit the per-address limit.
    env["AVLABEL_REPORT_RATE_PER_HOUR"] = "1000"
    env.update(extra)
    return env


@contextmanager
def fresh_pg_database(prefix: str = "avlabel_test_") -> Iterator[str]:
    """A new, empty PostgreSQL database (its URL), dropped afterwards."""
    name = prefix + secrets.token_hex(4)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session."""
    with fresh_pg_database() as url:
        yield url


def make_server(data_dir: Path, shared: bool, pg_url: str = "", **extra: str) -> Server:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = base_env(data_dir, **extra)
    if shared:
        env["DATABASE_URL"] = pg_url
        env["REDIS_URL"] = REDIS_URL
        env["AVLABEL_REDIS_PREFIX"] = f"avltest:{secrets.token_hex(4)}:"
    server = Server(data_dir, env)
    server.keys["publisher"] = server.create_account("publisher", "Test Studio 测试工作室")
    server.cli("accounts", "add-origin", server.account_ids[server.keys["publisher"]], *PUBLISHER_ORIGINS)
    server.keys["unverified"] = server.create_account("publisher", "Unverified Studio", verified=False)
    server.keys["admin"] = server.create_account("admin", "Test Admin")
    server.keys["moderator"] = server.create_account("moderator", "Test Moderator")
    server.keys["auditor"] = server.create_account("auditor", "Test Auditor")
    return server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, pg_database: str) -> Iterator[Server]:
    """The shared deployment: PostgreSQL + Redis."""
    srv = make_server(tmp_path_factory.mktemp("shared"), True, pg_database)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The embedded default: SQLite and in-process cache under a data directory."""
    srv = make_server(tmp_path_factory.mktemp("embedded"), False)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(params=["embedded", "shared"])
def any_server(request: pytest.FixtureRequest) -> Server:
    name = "embedded_server" if request.param == "embedded" else "server"
    srv: Server = request.getfixturevalue(name)
    return srv
