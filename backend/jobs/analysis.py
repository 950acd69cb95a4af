"""One job's analysis, run in a child process of the worker: `python -m backend.jobs.analysis`.

The child gets its task (settings included) pickled on stdin from its parent worker, limits its own
address space (RLIMIT_AS), dies with its parent (PR_SET_PDEATHSIG), and writes its answer or error as
JSON to the result file the parent named. It never records anything final: the worker does, so a
killed or runaway child cannot leave a half-written result. The wall-clock limit is the parent's.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import pickle
import resource
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend import __version__
from backend.domain_errors import DomainError, LimitExceeded
from backend.jobs.probe import probe
from backend.jobs.store import JobStore
from backend.media import Media
from backend.services import Services
from backend.settings import Settings
from backend.vocabulary import JobKind

log = logging.getLogger("backend.jobs.analysis")

EXIT_OK, EXIT_FAILED, EXIT_MEMORY = 0, 1, 3
_PR_SET_PDEATHSIG = 1

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class AnalysisTask:
    settings: Settings
    job_id: str
    path: str
    mime: str
    size: int
    sha256: str
    result_path: str
    parent_pid: int
    kind: JobKind = JobKind.VERIFY


def analysis_version(services: Services) -> str:
    """Names the code that produced a result; a cached result from other code is analysed again."""
    return f"avlabel/{__version__}; detect/{services.verify.detection_version}"


def analyse(services: Services, task: AnalysisTask, progress: Progress) -> dict[str, Any]:
    """The same verify pipeline the synchronous `POST /v1/verify` runs, with progress along the way; for an
    ingest job, the same ingest `POST /v1/ingest` runs."""
    settings = services.settings
    media = Media(Path(task.path), task.mime, task.size, task.sha256)
    version = analysis_version(services)
    progress(0.05, "probe")
    probe(media, settings.max_image_pixels)
    _test_knobs(settings, progress)
    if task.kind == JobKind.INGEST:
        from backend.jobs.ingest_job import run_ingest  # the verify child does not load the signing side

        progress(0.2, "ingest")
        return run_ingest(services, task.job_id, media)
    answer = services.verify.verify_media(media, progress)
    answer["analysis_version"] = version
    return answer


def _test_knobs(settings: Settings, progress: Progress) -> None:
    """Make a job deliberately slow or memory-hungry, for the tests of crashes and limits only."""
    if settings.environment == "production":
        return
    if settings.test_job_allocate_bytes > 0:
        progress(0.1, "test_allocate")
        hog = bytearray(settings.test_job_allocate_bytes)
        del hog
    if settings.test_job_delay_seconds > 0:
        progress(0.1, "test_delay")
        time.sleep(settings.test_job_delay_seconds)


def _vm_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def limit_memory(limit: int) -> None:
    used = _vm_bytes()
    if used >= limit:
        raise LimitExceeded("memory_limit_exceeded",
                            f"the analysis needs {used >> 20} MiB before it starts, above the job memory limit of "
                            f"{limit >> 20} MiB")
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        log.warning("cannot ask to die with the worker; an orphaned analysis ends at its own pace")


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, default=str))
    os.replace(tmp, path)


def main() -> int:
    _die_with_parent()
    task: AnalysisTask = pickle.load(sys.stdin.buffer)  # noqa: S301 - written by our own parent process
    if os.getppid() != task.parent_pid:
        return EXIT_FAILED  # the worker died before we armed PDEATHSIG
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    result = Path(task.result_path)
    started = time.monotonic()
    try:
        services = Services.open(task.settings)
    except Exception as exc:  # the child must always leave a reason behind
        log.exception("cannot open services for job %s", task.job_id)
        _write(result, {"error": {"code": "analysis_failed", "message": f"{type(exc).__name__}: {exc}"[:500]}})
        return EXIT_FAILED
    store = JobStore(services.db)
    try:
        limit_memory(task.settings.job_memory_bytes)

        def progress(fraction: float, stage: str) -> None:
            try:
                store.report_progress(task.job_id, fraction, stage)
            except DomainError:  # progress is a courtesy; a database hiccup must not fail the job
                log.warning("could not record progress of job %s", task.job_id)

        answer = analyse(services, task, progress)
        _write(result, {"answer": answer, "elapsed_ms": round((time.monotonic() - started) * 1000, 1)})
        return EXIT_OK
    except MemoryError:
        limit = task.settings.job_memory_bytes >> 20
        _write(result, {"error": {"code": "memory_limit_exceeded",
                                  "message": f"the analysis exceeded the job memory limit of {limit} MiB"}})
        return EXIT_MEMORY
    except DomainError as exc:
        _write(result, {"error": {"code": exc.code, "message": exc.message}})
        return EXIT_FAILED
    except Exception as exc:  # any failure ends this job with its reason, never the worker
        log.exception("analysis of job %s failed", task.job_id)
        _write(result, {"error": {"code": "analysis_failed", "message": f"{type(exc).__name__}: {exc}"[:500]}})
        return EXIT_FAILED
    finally:
        asyncio.run(services.close())


if __name__ == "__main__":
    sys.exit(main())
