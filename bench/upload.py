"""A large upload through POST /v1/verify beside the same bytes sent by curl to a plain file sink.

Both servers run on loopback under uvicorn (httptools) and both store the body durably (written, then
fsynced): the sink writes the request body to a file as it arrives; avlabel parses the multipart stream into
its scratch file while hashing it, sniffs the type and moves the file into jobs/ (202, queued; no job worker
runs, so only the upload path is measured). The client is curl in both cases. Each sample uploads different
bytes (one byte changed), so no upload is answered from an earlier one.

Disk traffic is read from /proc/<server pid>/io around each avlabel upload: `write_bytes` (bytes sent to the
page cache / storage) and `wchar` (bytes passed to write()) per uploaded byte should both be ~1.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.common import PeakRss, Row
from bench.fixtures import mp4_of_size, running_server
from tests.conftest import ROOT, free_port

FULL_MB, QUICK_MB = 200, 20
SAMPLES = 3


def io_counters(pid: int) -> dict[str, int]:
    text = Path(f"/proc/{pid}/io").read_text()
    return {k: int(v) for k, v in re.findall(r"^(\w+): (\d+)$", text, re.M)}


def sink_app(directory: Path) -> ASGIApp:
    """The baseline: an ASGI app that writes each POST body to a file and fsyncs it, nothing else."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = directory / f"body-{time.monotonic_ns()}"
        with path.open("wb") as out:
            more = True
            while more:
                message = await receive()
                out.write(message.get("body", b""))
                more = message.get("more_body", False)
            out.flush()
            os.fsync(out.fileno())
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        path.unlink()

    return app


@contextmanager
def sink_server(directory: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.upload", "--sink", str(directory), "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the file sink did not start") from None
                time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def curl_upload(url: str, path: Path) -> tuple[int, float]:
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-H", "Expect:", "-w", "%{http_code} %{time_total}",
                          "-F", f"file=@{path};type=video/mp4", url], capture_output=True, text=True, check=True,
                         timeout=600)
    code, seconds = out.stdout.split()
    return int(code), float(seconds)


def variants(src: Path, tmp: Path, n: int) -> list[Path]:
    """n copies of `src` that differ in their last byte (inside the media data), so none is a repeat."""
    out = []
    for i in range(n):
        dst = tmp / f"upload-{i}.mp4"
        shutil.copyfile(src, dst)
        with dst.open("r+b") as fh:
            fh.seek(-1, os.SEEK_END)
            fh.write(bytes([i]))
        out.append(dst)
    return out


ENV = {"AVLABEL_JOB_WORKERS": "0", "AVLABEL_JOB_QUEUE_PER_CLIENT": "100", "AVLABEL_JOB_QUEUE_MAX": "100",
       "AVLABEL_JOB_DISK_BYTES": str(100 * 1024**3), "AVLABEL_JOB_DISK_PER_CLIENT_BYTES": str(100 * 1024**3)}


def _median(series: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(s[k] for s in series[1:]), 3) for k in series[0]}


def measure(root: Path, files: list[Path], size: int) -> dict[str, Any]:
    """Both servers with their data under `root`, running at once; the samples alternate, so a busy disk or
    CPU colours both alike. The first sample of each is a warm-up."""
    sink_dir = root / "sink"
    sink_dir.mkdir(parents=True)
    with sink_server(sink_dir) as (url, sink_pid), running_server(root / "server", False, 1, **ENV) as srv:
        assert srv.proc is not None
        pid = srv.proc.pid
        base: list[float] = []
        samples: list[float] = []
        per_byte: list[dict[str, float]] = []
        sink_per_byte: list[dict[str, float]] = []
        with PeakRss(pid) as rss:
            for path in files:
                for target, server_pid, expect, times, io in ((url, sink_pid, 201, base, sink_per_byte),
                                                              (srv.url + "/v1/verify", pid, 202, samples, per_byte)):
                    os.sync()  # start each upload with no other dirty pages queued for the disk
                    before = io_counters(server_pid)
                    code, seconds = curl_upload(target, path)
                    assert code == expect, (target, code)
                    after = io_counters(server_pid)
                    times.append(seconds)
                    io.append({k: (after[k] - before[k]) / size for k in after})
    return {"seconds": statistics.median(samples[1:]), "base_s": statistics.median(base[1:]), "rss_mb": rss.mb,
            "io": _median(per_byte), "sink_io": _median(sink_per_byte), "samples_s": samples, "base_samples_s": base}


def _timing_row(m: dict[str, Any], mb: float, where: str, quick: bool) -> Row:
    return Row(
        case=f"POST /v1/verify of a {mb:.0f} MB MP4 (curl, loopback) until 202 queued, data on {where}",
        value=round(m["seconds"], 3), unit="s", n=SAMPLES, baseline="curl → plain file sink (uvicorn, write + fsync)",
        baseline_value=round(m["base_s"], 3), ratio=round(m["seconds"] / m["base_s"], 2), peak_rss_mb=m["rss_mb"],
        note=(f"{mb / m['seconds']:.0f} MB/s vs {mb / m['base_s']:.0f} MB/s; avlabel: parse + SHA-256 + write in a "
              "writer thread, sniff, move into jobs/ + fsync, no job worker" + ("; quick: 20 MB" if quick else "")),
        extra={"samples_s": m["samples_s"], "baseline_samples_s": m["base_samples_s"]})


def run(quick: bool) -> list[Row]:
    megabytes = QUICK_MB if quick else FULL_MB
    src = mp4_of_size(megabytes)
    size = src.stat().st_size
    mb = size / 1e6
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="avlabel-bench-upload-") as d:
        tmp = Path(d)
        files = variants(src, tmp, SAMPLES + 1)
        disk = measure(tmp / "disk", files, size)
        rows.append(_timing_row(disk, mb, "disk", quick))
        io, sink_io = disk["io"], disk["sink_io"]
        rows.append(Row(
            case=f"bytes written to disk per uploaded byte, {mb:.0f} MB upload (/proc/<server>/io write_bytes)",
            value=io["write_bytes"], unit="B/B", n=SAMPLES, baseline="plain file sink, same upload",
            baseline_value=sink_io["write_bytes"],
            ratio=round(io["write_bytes"] / sink_io["write_bytes"], 2) if sink_io["write_bytes"] else None,
            target="~1 write per uploaded byte", met=0.9 <= io["write_bytes"] <= 1.1 and io["wchar"] <= 1.1,
            note=(f"wchar (bytes passed to write()) {io['wchar']} per byte; rchar {io['rchar']} per byte "
                  f"(the socket itself is 1); read_bytes {io['read_bytes']} per byte"),
            extra={"per_uploaded_byte": io, "sink_per_uploaded_byte": sink_io}))
        shm = "/dev/shm"  # noqa: S108 - a private folder made inside it by TemporaryDirectory
        if Path(shm).is_dir():
            # Memory-backed: what is left is the CPU cost of the upload path, not the (shared) disk.
            with tempfile.TemporaryDirectory(prefix="avlabel-bench-upload-", dir=shm) as m:
                rows.append(_timing_row(measure(Path(m), files, size), mb, "tmpfs (/dev/shm)", quick))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sink", type=Path, help="run the plain file sink, writing into this folder")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.sink:
        import uvicorn

        uvicorn.run(sink_app(args.sink), host="127.0.0.1", port=args.port, http="httptools", log_level="warning")
        return
    for row in run(args.quick):
        print(row.case, row.value, row.unit, "baseline", row.baseline_value, "ratio", row.ratio, row.note)


if __name__ == "__main__":
    main()
