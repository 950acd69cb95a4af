"""Real parts only: a uvicorn server in a subprocess, real PostgreSQL and Redis, the real CLI.

Also: the `needs_shared` marker (tests that need ../shared skip with one reason when it is absent),
the layer markers applied from the fixtures a test uses, and the one-line skip summary.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():  # a venv made before httpx2 was a dev dependency: TestClient falls back to httpx
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path:
    """`../shared` beside this checkout; in a git worktree, beside the main checkout too."""
    if os.environ.get("AVLABEL_SHARED"):
        return Path(os.environ["AVLABEL_SHARED"])
    candidates = [ROOT.parent / "shared"]
    dot_git = ROOT / ".git"
    if dot_git.is_file():  # a worktree: "gitdir: <main checkout>/.git/worktrees/<name>"
        gitdir = dot_git.read_text().partition("gitdir:")[2].strip()
        if gitdir:
            candidates.append(Path(gitdir).parents[2].parent / "shared")
    return next((c for c in candidates if c.is_dir()), candidates[0])


SHARED = _shared_dir()
FIXTURES = Path(os.environ.get("AVLABEL_FIXTURES", SHARED / "fixtures" / "c2pa-python"))


@dataclass(frozen=True)
class SharedResource:
    path: Path
    shown: str  # as the skip reason names it
    what: str

    @property
    def reason(self) -> str:
        return f"needs {self.shown} ({self.what}); absent on this clone"


# What `@pytest.mark.needs_shared(name)` can ask for; the default is the c2pa interop media.
SHARED_RESOURCES = {
    "fixtures": SharedResource(FIXTURES, "../shared/fixtures/c2pa-python", "interop media"),
    "fsdd": SharedResource(Path(os.environ.get("AVLABEL_FSDD_DIR", SHARED / "datasets" / "real-speech-fsdd")),
                           "../shared/datasets/real-speech-fsdd", "real speech data set"),
    "datasets": SharedResource(SHARED / "datasets", "../shared/datasets", "image and speech data sets"),
    "eval-speech": SharedResource(Path(os.environ.get("AVLABEL_EVAL_SPEECH_DIR",
                                                      SHARED / "datasets" / "eval-neural-speech")),
                                  "../shared/datasets/eval-neural-speech", "neural speech evaluation set"),
    "ljspeech": SharedResource(Path(os.environ.get("AVLABEL_LJSPEECH_DIR",
                                                   SHARED / "datasets" / "real-speech-ljspeech")),
                               "../shared/datasets/real-speech-ljspeech", "real wideband speech"),
}


def require_shared(name: str = "fixtures") -> Path:
    """The resource's path, or a skip with its one reason (for fixtures that need ../shared)."""
    resource = SHARED_RESOURCES[name]
    if not resource.path.is_dir():
        pytest.skip(resource.reason)
    return resource.path


def shared_params(values: Iterable[str], name: str = "fixtures") -> list[Any]:
    """Parametrize values read from ../shared at collection time; one skipped placeholder when it is absent."""
    found = list(values)
    if found or SHARED_RESOURCES[name].path.is_dir():
        return found
    return [pytest.param("absent", marks=pytest.mark.needs_shared(name))]


def shared_names(sub: str) -> list[str]:
    """File names in a folder of the interop media (empty when absent), read without failing collection."""
    folder = FIXTURES / sub
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# Layers, from the fixtures a test uses (tests that build a server in their body carry the marks
# themselves): `server` runs the real service in a subprocess; `postgres` needs PostgreSQL and Redis.
# The fast in-process layer is what none of server/postgres/browser/slow marks.
SERVER_FIXTURES = {"server", "any_server", "workers", "no_worker", "queued"}
POSTGRES_FIXTURES = {"server", "pg_database", "jobs_db", "private_pg", "private_redis"}
POSTGRES_PARAMS = {"shared", "postgresql"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        server_dirs = item.path.parent.name in ("faults", "hostile", "contract", "e2e")
        if names & SERVER_FIXTURES or any(n.endswith("_server") for n in names) or server_dirs:
            item.add_marker(pytest.mark.server)
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        if "api" in names and callspec is not None and callspec.params.get("api") == "embedded":
            item.add_marker(pytest.mark.server)
        if names & POSTGRES_FIXTURES or any(isinstance(v, str) and v in POSTGRES_PARAMS for v in params):
            item.add_marker(pytest.mark.postgres)
        for mark in item.iter_markers("needs_shared"):
            resource = SHARED_RESOURCES[mark.args[0] if mark.args else "fixtures"]
            if not resource.path.is_dir():
                item.add_marker(pytest.mark.skip(reason=resource.reason))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One line: how many were skipped and why (scripts/test.sh repeats it at the very end)."""
    if config.option.collectonly:
        return
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    total = sum(reasons.values())
    detail = "; ".join(f"{reason} ({n})" if len(reasons) > 1 else reason for reason, n in reasons.most_common())
    terminalreporter.write_line(f"skipped {total}: {detail}" if total else "skipped 0")
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
    # ... nor its many console sign-ins as the same moderator (the proxied server keeps the real limits).
    env["AVLABEL_LOGIN_RATE_PER_ACCOUNT"] = "1000"
    env["AVLABEL_LOGIN_RATE_PER_ADDRESS"] = "1000"
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


@pytest.fixture(scope="session")
def proxied_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An embedded server behind a trusted reverse proxy (127.0.0.1): each test client names its own
    real address in X-Forwarded-For, as the proxy would, so per-client limits can be tested."""
    srv = make_server(tmp_path_factory.mktemp("proxied"), False, AVLABEL_TRUSTED_PROXIES="127.0.0.1/32, ::1",
                      AVLABEL_REPORT_RATE_PER_HOUR="3", AVLABEL_LOGIN_RATE_PER_ACCOUNT="10",
                      AVLABEL_LOGIN_RATE_PER_ADDRESS="10")
    srv.start()
    yield srv
    srv.stop()


def client_at(srv: Server, address: str, **kwargs: object) -> httpx.Client:
    """A client whose requests reach `srv` through the trusted proxy on behalf of `address`."""
    return srv.client(headers={"X-Forwarded-For": address}, **kwargs)


class InProcess:
    """The real app from `create_app(settings)`, driven through Starlette's TestClient on SQLite in a temp
    data directory: no server process, no PostgreSQL, no Redis. Looks like a `Server` to the request
    helpers (`client()`, `keys`, `data_dir`), so API and decision tests run on either."""

    def __init__(self, data_dir: Path, **overrides: Any) -> None:
        from backend.app import create_app
        from backend.settings import Settings

        values: dict[str, Any] = {"data_dir": data_dir, "DATABASE_URL": "", "REDIS_URL": "",
                                  "report_rate_per_hour": 1000, "verify_rate_per_minute": 100_000_000}
        self.data_dir = data_dir
        self.settings = Settings(**{**values, **overrides})
        self.http = TestClient(create_app(self.settings))
        self.keys: dict[str, str] = {}
        self.account_ids: dict[str, str] = {}  # API key -> account id

    def __enter__(self) -> InProcess:
        from backend import registry_urls
        from backend.store.db import utcnow

        self.http.__enter__()  # runs the lifespan: services opened, background loops started
        for key, role, name, verified in ACCOUNTS:
            self.keys[key] = self.create_account(role, name, verified)
        with self.http.app.state.services.db.tx() as conn:  # type: ignore[attr-defined]
            for origin in PUBLISHER_ORIGINS:
                registry_urls.assign(conn, self.account_ids[self.keys["publisher"]], origin, None, "test", utcnow())
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.__exit__(*exc)

    def create_account(self, role: str, name: str, verified: bool = True) -> str:
        from backend import accounts

        services = self.http.app.state.services  # type: ignore[attr-defined]
        with services.db.tx() as conn:
            account = accounts.create_account(conn, name, role, actor="test")
            if verified:
                accounts.verify_identity(conn, services.settings.secret_key.get_secret_value(), account.id,
                                         "org_code", "attested-by-test", actor="test")
            key: str = accounts.issue_api_key(conn, account.id, actor="test")
        self.account_ids[key] = account.id
        return key

    def client(self, **_kwargs: object) -> AbstractContextManager[TestClient]:
        return nullcontext(self.http)  # the one client, its lifespan already running


Api = InProcess | Server  # what the `api` fixture gives

ACCOUNTS = [("publisher", "publisher", "Test Studio 测试工作室", True),
            ("unverified", "publisher", "Unverified Studio", False), ("admin", "admin", "Test Admin", True),
            ("moderator", "moderator", "Test Moderator", True), ("auditor", "auditor", "Test Auditor", True)]


@pytest.fixture(scope="session")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    """The fast layer's app: one per session, SQLite in a temp data directory."""
    with InProcess(tmp_path_factory.mktemp("in-process")) as app:
        yield app


@pytest.fixture(params=["in_process", "embedded"])
def api(request: pytest.FixtureRequest) -> InProcess | Server:
    """API and decision tests: in-process (the fast layer) and against the real embedded server."""
    srv: InProcess | Server = request.getfixturevalue("in_process" if request.param == "in_process"
                                                      else "embedded_server")
    return srv


@pytest.fixture(params=["embedded", "shared"])
def any_server(request: pytest.FixtureRequest) -> Server:
    name = "embedded_server" if request.param == "embedded" else "server"
    srv: Server = request.getfixturevalue(name)
    return srv
