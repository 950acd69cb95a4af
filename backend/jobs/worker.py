"""The worker loop: take a job, run its analysis under limits, commit the outcome, acknowledge.

The same loop runs as threads inside `avlabel serve` and as `avlabel worker` processes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

from backend.jobs.analysis import analysis_version
from backend.jobs.queues import Delivery, StreamSource, TableSource
from backend.jobs.runner import run_analysis
from backend.jobs.store import JobStore
from backend.services import Services
from backend.vocabulary import JobKind

log = logging.getLogger(__name__)


def consumer_name(index: int = 0) -> str:
    base = f"{socket.gethostname()}:{os.getpid()}"
    return base if index == 0 else f"{base}:{index}"


def make_source(services: Services, wake: threading.Event | None = None) -> TableSource:
    store = JobStore(services.db)
    if services.settings.redis_url:
        return StreamSource(services.settings, store, wake)
    return TableSource(services.settings, store, wake)


class Worker:
    def __init__(self, services: Services, source: TableSource, name: str, stop: threading.Event,
                 abort: threading.Event) -> None:
        self.services = services
        self.settings = services.settings
        self.store = JobStore(services.db)
        self.source = source
        self.name = name
        self.stop = stop
        self.abort = abort

    def run(self) -> None:
        log.info("job worker %s started (%s)", self.name, type(self.source).__name__)
        backoff = 0.5
        while not self.stop.is_set():
            try:
                self.source.housekeeping()
                delivery = self.source.take(self.name)
                if delivery is not None:
                    self.process(delivery)
                backoff = 0.5
            except Exception:  # whatever one job or one outage does, the worker keeps running
                log.exception("job worker %s: error, retrying in %.1f s", self.name, backoff)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        self.source.close()
        log.info("job worker %s stopped", self.name)

    def process(self, delivery: Delivery) -> None:
        job = delivery.job
        limit = self.settings.job_max_deliveries
        if job.attempts > limit:
            self.store.fail(job.id, "too_many_deliveries",
                            f"the job was started {job.attempts - 1} time(s) and never finished (its worker was "
                            f"killed or crashed each time); given up after {limit} deliveries")
            self._finish(delivery)
            return
        cached = None if job.kind == JobKind.INGEST else self.store.result(job.sha256, analysis_version(self.services))
        if cached is not None:  # the same bytes were analysed meanwhile: no second analysis
            self.store.complete(job.id, job.sha256, cached[0], None)
            self._finish(delivery)
            return
        if not job.media_path or not Path(job.media_path).is_file():
            self.store.fail(job.id, "media_missing",
                            "the uploaded media is not in the job store (workers must share the data directory)")
            self._finish(delivery)
            return
        log.info("job %s: analysing %s (%d bytes), delivery %d", job.id, job.mime, job.size, job.attempts)
        outcome = run_analysis(self.settings, job, lambda: self.source.keepalive(delivery, self.name),
                               self.source.keepalive_every, self.abort)
        if outcome.status == "lost":
            return
        if outcome.status == "aborted":
            self.source.give_back(delivery, self.name)
            log.info("job %s handed back on shutdown", job.id)
            return
        if outcome.status == "done" and job.kind == JobKind.INGEST:
            recorded = True  # the child marked it done in the ingest's own transaction
        elif outcome.status == "done" and outcome.answer is not None:
            recorded = self.store.complete(job.id, job.sha256, outcome.answer, outcome.elapsed_ms)
        else:
            recorded = self.store.fail(job.id, outcome.code or "analysis_failed", outcome.message or "")
        log.info("job %s: %s%s", job.id, outcome.status if outcome.status == "done" else outcome.code,
                 "" if recorded else " (already recorded by another worker)")
        self._finish(delivery)

    def _finish(self, delivery: Delivery) -> None:
        """Acknowledge only after the outcome is committed; then the upload is no longer needed."""
        self.source.finish(delivery)
        if delivery.job.media_path:
            Path(delivery.job.media_path).unlink(missing_ok=True)


class WorkerPool:
    """In-process workers (threads) for `avlabel serve`, or the body of `avlabel worker`."""

    def __init__(self, services: Services, count: int, wake: threading.Event | None = None) -> None:
        self.services = services
        self.stop_event = threading.Event()
        self.abort_event = threading.Event()
        self.wake = wake or threading.Event()
        self.workers = [Worker(services, make_source(services, self.wake), consumer_name(i), self.stop_event,
                               self.abort_event) for i in range(count)]
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for worker in self.workers:
            thread = threading.Thread(target=worker.run, name=f"job-worker-{worker.name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self, abort: bool, timeout: float | None = None) -> None:
        """Stop taking jobs; with `abort`, also end running analyses and hand their jobs back."""
        self.stop_event.set()
        if abort:
            self.abort_event.set()
        self.wake.set()  # idle table workers notice at once
        for thread in self.threads:
            thread.join(timeout)

    def alive(self) -> bool:
        return any(t.is_alive() for t in self.threads)
