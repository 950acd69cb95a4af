"""Fault tests: real processes killed and restarted. Only private Redis/PostgreSQL instances are stopped."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, make_server
from tests.faults.stores import PrivatePostgres, PrivateRedis


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    pg.init()
    yield pg
    pg.destroy()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    r = PrivateRedis(tmp_path / "redis")
    r.start()
    yield r
    r.stop()


def server_on(data_dir: Path, database_url: str = "", redis_url: str = "", **env: str) -> Server:
    """A server whose stores are the given (private) ones; empty means the embedded default."""
    extra = dict(env)
    if database_url:
        extra["DATABASE_URL"] = database_url
    if redis_url:
        extra["REDIS_URL"] = redis_url
    return make_server(data_dir, False, **extra)


# A request with no answer in this long is hung; below it, slowness on a busy machine is not a failure.
HANG_SECONDS = 60.0


@dataclass
class Outcome:
    at: float
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    seconds: float
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    tag: str = ""


class Hammer:
    """Threads that keep sending one kind of request and record every outcome, until stopped."""

    def __init__(self, base_url: str, send: Callable[[httpx.Client, int], tuple[httpx.Response, str]],
                 threads: int = 2, pause: float = 0.0, timeout: float = 10.0) -> None:
        self.base_url = base_url
        self.send = send
        self.pause = pause
        self.timeout = timeout
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(threads)]

    def _loop(self, worker: int) -> None:
        n = 0
        with httpx.Client(base_url=self.base_url, timeout=self.timeout) as http:
            while not self._stop.is_set():
                n += 1
                start = time.monotonic()
                try:
                    resp, tag = self.send(http, worker * 1_000_000 + n)
                    out = Outcome(start, resp.status_code, time.monotonic() - start, resp.content,
                                  dict(resp.headers), tag)
                except httpx.HTTPError as exc:
                    out = Outcome(start, 0, time.monotonic() - start, type(exc).__name__.encode())
                with self._lock:
                    self.outcomes.append(out)
                if self.pause:
                    time.sleep(self.pause)

    def __enter__(self) -> Hammer:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)

    def between(self, start: float, end: float) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if start <= o.at < end]

    @staticmethod
    def statuses(outcomes: list[Outcome]) -> Counter[int]:
        return Counter(o.status for o in outcomes)
