"""The worker's side of one analysis: spawn the child, keep the job's lease alive, enforce the wall clock."""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import backend
from backend.jobs.analysis import AnalysisTask
from backend.jobs.store import Job
from backend.settings import Settings

log = logging.getLogger(__name__)
_PACKAGE_ROOT = str(Path(backend.__file__).resolve().parent.parent)


@dataclass
class Outcome:
    status: str  # done, failed, lost (another worker owns the job now), aborted (worker shutting down)
    answer: dict[str, Any] | None = None
    elapsed_ms: float | None = None
    code: str | None = None
    message: str | None = None


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
    return env


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_analysis(settings: Settings, job: Job, keepalive: Callable[[], bool], keepalive_every: float,
                 abort: threading.Event) -> Outcome:
    """Blocking. The thread that calls this must wait for the child (it is the child's PDEATHSIG parent)."""
    jobs_dir = settings.data_dir / "jobs"
    jobs_dir.mkdir(parents=True, exist_ok=True)
    result_path = jobs_dir / f"{job.id}.{os.getpid()}-{threading.get_ident()}.result.json"
    result_path.unlink(missing_ok=True)
    task = AnalysisTask(settings, job.id, str(job.media_path), job.mime, job.size, job.sha256, str(result_path),
                        os.getpid(), job.kind)
    timeout = settings.job_timeout_seconds
    started = time.monotonic()
    # Its own session, so a timeout kills everything the analysis started (decoders it may spawn).
    proc = subprocess.Popen([sys.executable, "-m", "backend.jobs.analysis"], stdin=subprocess.PIPE,
                            env=_child_env(), start_new_session=True)
    try:
        assert proc.stdin is not None
        proc.stdin.write(pickle.dumps(task))
        proc.stdin.close()
    except BrokenPipeError:
        pass  # the child died at once; its exit status says why
    try:
        returncode = _supervise(proc, job, keepalive, keepalive_every, abort, started, timeout)
    finally:
        if proc.poll() is None:  # whatever happened here, no analysis outlives its supervision
            _kill(proc)
    if isinstance(returncode, Outcome):
        result_path.unlink(missing_ok=True)
        return returncode
    return _read_outcome(result_path, returncode, settings)


def _supervise(proc: subprocess.Popen[bytes], job: Job, keepalive: Callable[[], bool], keepalive_every: float,
               abort: threading.Event, started: float, timeout: float) -> int | Outcome:
    """The child's exit status, or the outcome that ended it early."""
    next_keepalive = started + keepalive_every
    while True:
        try:
            return proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if abort.is_set():
            return Outcome("aborted")
        if now - started >= timeout:
            return Outcome("failed", code="time_limit_exceeded",
                           message=f"the analysis took longer than the job time limit of {timeout:g} s")
        if now >= next_keepalive:
            next_keepalive = now + keepalive_every
            try:
                ours = keepalive()
            except Exception as exc:  # a database or Redis hiccup: keep going, the lease has slack
                log.warning("job %s: could not renew its lease (%s)", job.id, exc)
                ours = True
            if not ours:
                log.warning("job %s was taken over by another worker; stopping this analysis", job.id)
                return Outcome("lost")


def _read_outcome(result_path: Path, returncode: int, settings: Settings) -> Outcome:
    data: dict[str, Any] = {}
    try:
        data = json.loads(result_path.read_text())
    except (OSError, ValueError):
        pass
    finally:
        result_path.unlink(missing_ok=True)
    if returncode == 0 and isinstance(data.get("answer"), dict):
        return Outcome("done", answer=data["answer"], elapsed_ms=data.get("elapsed_ms"))
    error = data.get("error") if isinstance(data.get("error"), dict) else None
    if error:
        return Outcome("failed", code=str(error.get("code")), message=str(error.get("message")))
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.Signals._value2member_map_ else -returncode
        return Outcome("failed", code="analysis_crashed",
                       message=f"the analysis process was ended by signal {name}; it may have exceeded the job "
                               f"memory limit of {settings.job_memory_bytes >> 20} MiB")
    return Outcome("failed", code="analysis_failed", message=f"the analysis process exited with status {returncode}")
