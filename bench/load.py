"""Load on a real server on loopback: label lookups held at a constant 1,000 req/s (bench.loadgen), the
label endpoint's closed-loop ceiling and POST /v1/verify of a signed JPEG at its maximum sustainable rate
(wrk, with a Lua script that posts the multipart body and prints JSON). Embedded (1 worker) and shared
(PostgreSQL + Redis, 2 workers). Every generator is bounded in time and stops by itself."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import PeakRss, Row
from bench.fixtures import jpeg_1mp, running_server
from bench.labels import _sign
from tests.conftest import ROOT, Server

LABEL_RATE = 1000.0
LABEL_P99_TARGET_MS = 20.0

WRK_LUA = r"""
local path = os.getenv("AVL_BODY")
if path then
  local f = assert(io.open(path, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. os.getenv("AVL_BOUNDARY")
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nAVL_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,'
    .. '"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def constant_rate(srv: Server, path: str, rate: float, seconds: float) -> tuple[dict[str, Any], float]:
    cmd = [sys.executable, "-m", "bench.loadgen", "--url", srv.url + path, "--rate", str(rate),
           "--duration", str(seconds), "--connections", "32"]
    with PeakRss(srv.proc.pid if srv.proc else None) as rss:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1]), rss.mb


def wrk(srv: Server, path: str, seconds: int, connections: int, tmp: Path,
        body: tuple[bytes, str] | None = None) -> tuple[dict[str, Any], float]:
    script = tmp / "avl.lua"
    script.write_text(WRK_LUA)
    env = {"PATH": "/usr/bin:/bin"}
    if body is not None:
        body_path = tmp / f"body-{secrets.token_hex(3)}.bin"
        body_path.write_bytes(body[0])
        env.update(AVL_BODY=str(body_path), AVL_BOUNDARY=body[1])
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), srv.url + path]
    with PeakRss(srv.proc.pid if srv.proc else None) as rss:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, env=env, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("AVL_JSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("AVL_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    return result, rss.mb


def multipart(path: Path) -> tuple[bytes, str]:
    boundary = "avlbench" + secrets.token_hex(8)
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="signed.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n").encode()
    return head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode(), boundary


def _mode_rows(srv: Server, mode: str, quick: bool, tmp: Path) -> list[Row]:
    rows: list[Row] = []
    with srv.client() as http:
        content_id = _sign(srv, http, jpeg_1mp(tmp / f"{mode[:4]}.jpg", seed=7))
        signed = tmp / f"{mode[:4]}-signed.jpg"
        resp = http.get(f"/media/{content_id}.jpg")
        resp.raise_for_status()
        signed.write_bytes(resp.content)
        http.get(f"/v1/labels/{content_id}").raise_for_status()  # warm the cache

    seconds = 10.0 if quick else 60.0
    held, rss = constant_rate(srv, f"/v1/labels/{content_id}", LABEL_RATE, seconds)
    # The machine is shared: the 1-minute load average right after the run says how much else was running.
    busy = os.getloadavg()[0]
    ok = (held["error_count"] == 0 and held["p99_ms"] < LABEL_P99_TARGET_MS
          and held["achieved_rps"] >= 0.98 * LABEL_RATE)
    rows.append(Row(
        case=f"{mode}: GET /v1/labels/{{id}} held at {LABEL_RATE:.0f} req/s for {seconds:.0f} s",
        value=held["p50_ms"], p99=held["p99_ms"], unit="ms", n=held["completed"],
        target=f"p99 < {LABEL_P99_TARGET_MS:g} ms, 0 errors, rate held", met=ok, peak_rss_mb=rss,
        note=(f"achieved {held['achieved_rps']} req/s, errors {held['error_count']} {held['errors'] or ''}, "
              f"max {held['max_ms']} ms; latency from the scheduled send time (bench.loadgen); "
              f"load average {busy:.1f} on {os.cpu_count()} cores"),
        extra=held))

    ceiling, rss = wrk(srv, f"/v1/labels/{content_id}", 5 if quick else 15, 16, tmp)
    rows.append(Row(case=f"{mode}: GET /v1/labels/{{id}} closed-loop ceiling (wrk, 16 connections)",
                    value=round(ceiling["rps"]), unit="req/s", n=ceiling["requests"], peak_rss_mb=rss,
                    baseline=f"held rate {LABEL_RATE:.0f} req/s", baseline_value=LABEL_RATE,
                    ratio=round(ceiling["rps"] / LABEL_RATE, 2),
                    note=f"p50 {ceiling['p50_us'] / 1000:.2f} ms, p99 {ceiling['p99_us'] / 1000:.2f} ms, "
                         f"errors {ceiling['errors']}; headroom over the held rate", extra=ceiling))

    connections = 4
    verify, rss = wrk(srv, "/v1/verify", 5 if quick else 20, connections, tmp, body=multipart(signed))
    rows.append(Row(case=f"{mode}: POST /v1/verify of a signed 1 MP JPEG, max sustainable rate (wrk)",
                    value=round(verify["rps"], 1), unit="req/s", n=verify["requests"], peak_rss_mb=rss,
                    note=f"{connections} connections, p50 {verify['p50_us'] / 1000:.1f} ms, "
                         f"p99 {verify['p99_us'] / 1000:.1f} ms, errors {verify['errors']} (non-2xx "
                         f"{verify['status']}); verify rate limit raised for the bench", extra=verify))
    return rows


def run(quick: bool) -> list[Row]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is missing: apt-get install wrk (scripts/install.sh does)")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="avlabel-bench-load-") as d:
        tmp = Path(d)
        with running_server(tmp / "embedded") as srv:
            rows += _mode_rows(srv, "embedded, 1 worker", quick, tmp)
        with running_server(tmp / "shared", shared=True, workers=2) as srv:
            rows += _mode_rows(srv, "PostgreSQL + Redis, 2 workers", quick, tmp)
    return rows
