"""Monitor processes next to the shared test server (PostgreSQL + Redis), and loopback live streams."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, Server
from tests.streams.live_hls import LiveServer

MONITOR_ENV = {"AVLABEL_MONITOR_ALLOW_PRIVATE": "true", "AVLABEL_MONITOR_CLAIM_IDLE_SECONDS": "4",
               "AVLABEL_MONITOR_STALL_SECONDS": "5"}


class Monitor:
    def __init__(self, server: Server, name: str, **env: str) -> None:
        self.log_path = server.data_dir / f"monitor-{name}.log"
        cmd = [sys.executable, "-m", "backend.cli", "--data-dir", str(server.data_dir), "monitor"]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, env={**server.env, **MONITOR_ENV, **env}, cwd=ROOT, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def monitors(server: Server) -> Iterator[Callable[..., Monitor]]:
    started: list[Monitor] = []

    def start(name: str = "a", **env: str) -> Monitor:
        m = Monitor(server, name, **env)
        started.append(m)
        return m

    yield start
    for m in started:
        m.stop()


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    srv = LiveServer()
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def stream_publisher(server: Server, live_server: LiveServer) -> dict[str, str]:
    """A publisher that owns the loopback origin the live streams are served from."""
    key = server.create_account("publisher", "Live Studio 直播工作室")
    server.cli("accounts", "add-origin", server.account_ids[key], live_server.origin)
    return {"Authorization": f"Bearer {key}"}


def register(server: Server, headers: dict[str, str], url: str, declaration: str = "ai_presenter") -> str:
    with server.client() as http:
        resp = http.post("/v1/streams", json={"playlist_url": url, "live": True, "declaration": declaration},
                         headers=headers)
    assert resp.status_code == 201, resp.text
    content_id: str = resp.json()["content_id"]
    return content_id


def stream_view(server: Server, headers: dict[str, str], content_id: str) -> dict[str, Any]:
    with server.client() as http:
        resp = http.get(f"/v1/streams/{content_id}", headers=headers)
    assert resp.status_code == 200, resp.text
    view: dict[str, Any] = resp.json()
    return view


def wait_for(what: Callable[[], Any], timeout: float, message: str, monitors: list[Any] | None = None) -> Any:
    """Polls until `what()` is truthy; on timeout the monitors' logs are in the failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.3)
    logs = "\n".join(m.log()[-3000:] for m in monitors or [])
    raise AssertionError(f"timed out waiting for {message}\n{logs}")


def prohibit(server: Server, clip: Path, ref: str) -> None:
    with server.client() as http, clip.open("rb") as fh:
        resp = http.post("/v1/fingerprints/prohibited", files={"file": (clip.name, fh, "video/mp4")},
                         data={"ref": ref, "reason": "test: prohibited clip"},
                         headers={"Authorization": f"Bearer {server.keys['moderator']}"})
    assert resp.status_code == 201, resp.text


def label(server: Server, content_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = httpx.get(f"{server.url}/v1/labels/{content_id}", timeout=10).json()
    return doc
