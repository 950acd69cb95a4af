"""A constant-rate HTTP GET generator for loopback load tests (what wrk2 does and wrk does not).

    python -m bench.loadgen --url http://127.0.0.1:8000/v1/labels/c_1 --rate 1000 --duration 60

Requests are scheduled at fixed times (t0 + i/rate) over a pool of keep-alive connections, and each
latency is measured from its scheduled time, not from when a free connection sent it, so a stalled
server shows up in the percentiles instead of silently lowering the rate (coordinated omission).
Bounded: loopback hosts only, at most rate x duration requests, a hard deadline, then it stops by itself
and prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


class Schedule:
    def __init__(self, start: float, rate: float, total: int) -> None:
        self.start = start
        self.interval = 1.0 / rate
        self.total = total
        self.issued = 0

    def next_due(self) -> float | None:
        if self.issued >= self.total:
            return None
        due = self.start + self.issued * self.interval
        self.issued += 1
        return due


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, port)


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def worker(host: str, port: int, request: bytes, schedule: Schedule, stats: Stats, per_request: float) -> None:
    clock = time.perf_counter  # uvloop's loop.time() ticks in whole milliseconds
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while (due := schedule.next_due()) is not None:
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            async with asyncio.timeout(per_request):
                if conn is None:
                    conn = await _connect(host, port)
                status = await _one(conn[0], conn[1], request)
            stats.statuses[str(status)] += 1
            stats.latencies.append(clock() - due)
            if status >= 400:
                stats.errors[f"http_{status}"] += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, TimeoutError) as exc:
            stats.errors[type(exc).__name__] += 1
            stats.latencies.append(clock() - due)
            if conn is not None:
                conn[1].close()
            conn = None
    if conn is not None:
        conn[1].close()


async def generate(url: str, rate: float, duration: float, connections: int, per_request: float) -> dict[str, object]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"refusing to load {host!r}: loopback only")
    port = parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    request = (f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: avlabel-loadgen\r\n"
               "Accept: application/json\r\n\r\n").encode()
    total = int(rate * duration)
    schedule = Schedule(time.perf_counter() + 0.2, rate, total)
    stats = Stats()
    wall = time.monotonic()
    tasks = [asyncio.create_task(worker(host, port, request, schedule, stats, per_request)) for _ in range(connections)]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=duration + per_request + 10)
    except TimeoutError:
        stats.errors["generator_deadline"] += 1
    elapsed = time.monotonic() - wall - 0.2
    lat = np.asarray(stats.latencies) * 1000 if stats.latencies else np.zeros(1)
    done = sum(stats.statuses.values())
    return {
        "url": url, "target_rps": rate, "duration_s": round(elapsed, 2), "connections": connections,
        "scheduled": total, "completed": done, "achieved_rps": round(done / elapsed, 1) if elapsed > 0 else 0,
        "p50_ms": round(float(np.percentile(lat, 50)), 3), "p90_ms": round(float(np.percentile(lat, 90)), 3),
        "p99_ms": round(float(np.percentile(lat, 99)), 3), "max_ms": round(float(lat.max()), 3),
        "statuses": dict(stats.statuses), "errors": dict(stats.errors),
        "error_count": int(sum(stats.errors.values())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second, held constant")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (at most 600)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=5.0, help="per request, seconds")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 600 or not 0 < args.rate <= 20000:
        parser.error("duration must be in (0, 600] s and rate in (0, 20000] req/s")
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # uvicorn[standard] brings uvloop; plain asyncio works too, with more CPU
        runner = asyncio.run
    result = runner(generate(args.url, args.rate, args.duration, args.connections, args.timeout))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
