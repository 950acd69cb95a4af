"""What every benchmark module shares: the Row it returns, timing, percentiles and peak-RSS sampling."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import psutil
from tqdm import tqdm


@dataclass
class Row:
    """One line of the results table. `value` is the headline figure (p50 for latency series)."""

    case: str
    value: float | None
    unit: str
    p99: float | None = None
    baseline: str | None = None  # the in-run anchor this figure is compared with
    baseline_value: float | None = None
    ratio: float | None = None  # value / baseline_value
    target: str | None = None  # e.g. "ratio <= 1.5"
    met: bool | None = None
    peak_rss_mb: float | None = None
    n: int | None = None
    note: str = ""
    benchmark: str = ""  # filled in by bench.run with the module's name
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def coerce(cls, item: Row | dict[str, Any]) -> Row:
        """Modules may return Row objects or plain dicts with the same keys."""
        if isinstance(item, Row):
            return item
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in item.items() if k in known}
        extra = {k: v for k, v in item.items() if k not in known}
        row = cls(**kwargs)
        row.extra.update(extra)
        return row


def ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return value / base


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def ms(samples_s: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds of samples in seconds."""
    return pct(samples_s, 50) * 1000, pct(samples_s, 99) * 1000


def progress(n: int, desc: str) -> Iterator[int]:
    """A progress bar on a terminal, silent in CI logs."""
    return iter(tqdm(range(n), desc=desc, leave=False, disable=None))


def timed(fn: Callable[[], Any], n: int, desc: str, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in progress(n, desc):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def tree_rss(pid: int) -> int:
    """RSS of a process and its children (uvicorn workers), in bytes; 0 when it is gone."""
    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return int(total)
    except psutil.Error:
        return 0


class PeakRss:
    """Samples the RSS of a process tree every few milliseconds while a block runs.

    The process's own ru_maxrss only grows, so per-case peaks need sampling.
    """

    def __init__(self, pid: int | None = None, interval: float = 0.02) -> None:
        self.pid = pid or os.getpid()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self.peak = tree_rss(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(self.pid))

    @property
    def mb(self) -> float:
        return round(self.peak / (1024 * 1024), 1)


@contextmanager
def peak_rss(pid: int | None = None) -> Iterator[PeakRss]:
    with PeakRss(pid) as sampler:
        yield sampler


def latency_row(case: str, samples: list[float], rss: PeakRss | None = None, base: list[float] | None = None,
                base_name: str | None = None, note: str = "", target: str | None = None,
                met: bool | None = None) -> Row:
    p50, p99 = ms(samples)
    base_p50 = ms(base)[0] if base else None
    return Row(case=case, value=round(p50, 3), unit="ms", p99=round(p99, 3), baseline=base_name,
               baseline_value=round(base_p50, 3) if base_p50 is not None else None,
               ratio=round(r, 2) if (r := ratio(p50, base_p50)) is not None else None,
               target=target, met=met, peak_rss_mb=rss.mb if rss else None, n=len(samples), note=note)
