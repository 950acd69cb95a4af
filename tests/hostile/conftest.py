"""Hostile input against a real server: a seed corpus of real media, and a guard that checks every answer.

Every case must end in a 4xx JSON error or a clear verdict, never a 5xx; each request within a CPU-time
ceiling of the server (a bound against runaway work that a busy machine cannot trip, unlike wall time) and
the server process under 1 GB of RSS. Each request's wall time, server CPU time and peak RSS go into
test-artifacts/hostile-report.json, for reading, not for pass/fail.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from bench.common import PeakRss
from tests import media_factory
from tests.conftest import FIXTURES, ROOT, Server, make_server

VERDICTS = {"signed_synthetic", "signed_not_synthetic", "signed_untrusted", "tampered", "unsigned", "unreadable"}
# Server CPU seconds per request: generous (cases take well under one second of CPU); a loop that
# never ends, or a quadratic blow-up, goes far past it whatever the machine's load.
REQUEST_CPU_SECONDS = 10.0
# A request with no answer at all in this long is hung (the client gives up and the case fails).
HANG_SECONDS = 120.0
RSS_LIMIT = 1024**3
LONG = os.environ.get("AVLABEL_LONG") == "1"
REPORT_PATH = ROOT / "test-artifacts" / "hostile-report.json"
REPORT: list[dict[str, Any]] = []  # one row per hostile request of this session


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, its reaped children and its live descendants."""
    try:
        proc = psutil.Process(pid)
        times = proc.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in proc.children(recursive=True):
            try:
                child_times = child.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += child_times.user + child_times.system
        return float(total)
    except psutil.NoSuchProcess:
        return 0.0


def record(row: dict[str, Any]) -> None:
    REPORT.append(row)


def write_report() -> None:
    def spread(key: str) -> dict[str, float]:
        values = sorted(float(r[key]) for r in REPORT)
        if not values:
            return {}
        return {"max": values[-1], "median": statistics.median(values), "p95": values[int(0.95 * (len(values) - 1))]}

    REPORT_PATH.parent.mkdir(exist_ok=True)
    summary = {"requests": len(REPORT), "wall_seconds": spread("wall_seconds"), "cpu_seconds": spread("cpu_seconds"),
               "peak_rss_mb": spread("peak_rss_mb"), "cpu_ceiling_seconds": REQUEST_CPU_SECONDS,
               "rss_limit_mb": RSS_LIMIT // (1024 * 1024)}
    REPORT_PATH.write_text(json.dumps({"summary": summary, "requests": REPORT}, indent=1))


@pytest.fixture(scope="session", autouse=True)
def hostile_report() -> Iterator[None]:
    yield
    if REPORT:
        write_report()


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float
    raw: bytes
    peak_rss: int
    cpu_seconds: float


class Guard:
    """Sends hostile requests and asserts the invariants on each answer."""

    def __init__(self, srv: Server, request_cpu_seconds: float = REQUEST_CPU_SECONDS) -> None:
        self.srv = srv
        self.http = httpx.Client(base_url=srv.url, timeout=HANG_SECONDS)
        self.request_cpu_seconds = request_cpu_seconds
        self.cases = 0

    def close(self) -> None:
        self.http.close()

    def send(self, method: str, path: str, **kwargs: object) -> Answer:
        assert self.srv.proc is not None
        # Sampled while the request runs: the peak matters, and big buffers are freed right after.
        pid = self.srv.proc.pid
        with PeakRss(pid, interval=0.01) as rss:
            cpu_start = tree_cpu_seconds(pid)
            start = time.monotonic()
            resp = self.http.request(method, path, **kwargs)  # type: ignore[arg-type]
            seconds = time.monotonic() - start
            cpu = tree_cpu_seconds(pid) - cpu_start
        self.cases += 1
        files = kwargs.get("files")
        upload = next(iter(files.values()))[0] if isinstance(files, dict) and files else ""
        record({"method": method, "path": path, "upload": upload, "status": resp.status_code,
                "wall_seconds": round(seconds, 4), "cpu_seconds": round(cpu, 4), "peak_rss_mb": rss.mb})
        if resp.status_code >= 500:
            log = self.srv.log_path.read_text(errors="replace")[-4000:] if self.srv.log_path else ""
            raise AssertionError(f"{path}: {resp.status_code} {resp.text[:300]}\nserver log:\n{log}")
        try:
            body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{path}: invalid JSON in a {resp.status_code} answer") from exc
        if resp.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            assert isinstance(error, dict) and error.get("code") and error.get("message"), resp.text[:300]
        assert cpu < self.request_cpu_seconds, f"{path}: {cpu:.2f} s of server CPU ({resp.status_code})"
        assert rss.peak < RSS_LIMIT, f"server RSS peaked at {rss.mb} MB on {path}"
        return Answer(resp.status_code, body if isinstance(body, dict) else {}, seconds, resp.content, rss.peak,
                      cpu)

    def verify(self, blob: bytes, name: str = "upload.bin") -> Answer:
        answer = self.send("POST", "/v1/verify", files={"file": (name, blob)})
        if answer.status == 200:
            assert answer.body.get("verdict") in VERDICTS, answer.body
        return answer

    def sign(self, blob: bytes, name: str = "upload.bin", **fields: str) -> Answer:
        data = {"generator": "hostile-gen 1.0", **fields}
        answer = self.send("POST", "/v1/sign", files={"file": (name, blob)}, data=data,
                           headers={"Authorization": f"Bearer {self.srv.keys['publisher']}"})
        if answer.status == 200:
            assert answer.raw, "a signing answered 200 without media"
        return answer


@pytest.fixture(scope="session")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("hostile"), False, AVLABEL_VERIFY_RATE_PER_MINUTE="100000000",
                      AVLABEL_REPORT_RATE_PER_HOUR="100000000")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def guard(hostile_server: Server) -> Iterator[Guard]:
    g = Guard(hostile_server)
    yield g
    g.close()
    # The server survived everything and still answers.
    assert hostile_server.proc is not None and hostile_server.proc.poll() is None
    assert httpx.get(hostile_server.url + "/healthz", timeout=10).status_code == 200


SEED_FILES = (
    "C.jpg", "C_with_CAWG_data.jpg", "dashinit.mp4", "dash1.m4s",
    "files-for-reading-tests/CA.jpg", "files-for-reading-tests/E-sig-CA.jpg", "files-for-reading-tests/cloud.jpg",
    "files-for-reading-tests/video1.mp4", "files-for-reading-tests/sample1_signed.wav",
    "files-for-signing-tests/libpng-test.png", "files-for-signing-tests/test.webp",
    "files-for-signing-tests/test_xmp.webp", "files-for-signing-tests/IMG_0003.jpg",
    "files-for-signing-tests/sample1.avif", "files-for-signing-tests/TUSCANY.TIF",
)


class Corpus(list[tuple[str, bytes]]):
    """The seed files; a short repr, so a failing case's report does not print megabytes."""

    def __repr__(self) -> str:
        return f"<corpus of {len(self)} files: {', '.join(name for name, _ in self)}>"


@pytest.fixture(scope="session")
def corpus(hostile_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """Real media (signed by others, signed by us, unsigned), at most ~1 MB each so cases stay quick."""
    seeds = [(name, (FIXTURES / name).read_bytes()) for name in SEED_FILES if (FIXTURES / name).exists()]
    tmp = tmp_path_factory.mktemp("corpus")
    made = [
        ("ours.jpg", media_factory.jpeg_bytes((320, 240), seed=60)),
        ("ours.png", media_factory.png(tmp / "o.png", size=(200, 150), seed=61).read_bytes()),
        ("ours.wav", media_factory.wav(tmp / "o.wav", seconds=0.5).read_bytes()),
        ("ours.flac", media_factory.flac(tmp / "o.flac", seconds=0.5).read_bytes()),
        ("ours.mp4", media_factory.video(tmp / "o.mp4", seconds=0.4, size=(160, 120)).read_bytes()),
    ]
    with hostile_server.client() as http:
        for name, blob in list(made):
            resp = http.post("/v1/sign", headers={"Authorization": f"Bearer {hostile_server.keys['publisher']}"},
                             files={"file": (name, blob)}, data={"generator": "corpus-gen 1.0"})
            assert resp.status_code == 200, resp.text
            made.append((f"signed-{name}", resp.content))
    return Corpus(seeds + made)


def fixture_path(name: str) -> Path:
    return FIXTURES / name
