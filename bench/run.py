"""Runs every benchmark module that exists and writes the results table (Markdown and JSON).

    python -m bench.run            # full run: writes bench/results/latest.md and latest.json
    python -m bench.run --quick    # CI-sized run: writes bench/results/quick.md and quick.json
    python -m bench.run --only bench.verify --quick

Each module runs in its own subprocess, so one module's peak memory or crash never colours another's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import psutil

from bench.common import Row
from bench.report import write_results

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
# The registry of sub-benchmarks, in table order. A module that is not in this build is listed as skipped.
MODULES: list[tuple[str, str]] = [
    ("bench.signing", "signing: 1 MP JPEG and large MP4"),
    ("bench.ingest", "ingest: 1 MP JPEG with a foreign manifest beside raw c2pa read + sign"),
    ("bench.verify", "verification of signed and unsigned images"),
    ("bench.labels", "label lookups"),
    ("bench.plugin", "player plugin bundle size"),
    ("bench.load", "load on a running server (loopback)"),
    ("bench.upload", "200 MB upload through /v1/verify beside curl to a plain file sink (quick: 20 MB)"),
    ("bench.fingerprint_index", "fingerprint lookup at 1,000,000 hashes"),
    ("bench.detection", "detection throughput (ONNX models)"),
    ("bench.watermark_survival", "soft-binding watermark survival"),
    ("bench.live", "stream monitor budget: N live 720p HLS streams on loopback (quick: 2 × 20 s at 4×)"),
    ("bench.explicit_label", "explicit label in video: one pass vs plain re-encode; signing core vs Builder.sign"),
]
# Modules that print their own report from main() instead of returning rows: their arguments in quick mode.
PRINTING_QUICK_ARGS: dict[str, list[str]] = {
    "bench.fingerprint_index": ["--n", "100000", "--queries", "500", "--brute", "20"],
    "bench.detection": ["--video-seconds", "10", "--n", "10"],
}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import c2pa

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "cpu": cpu,
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "c2pa_python": importlib.metadata.version("c2pa-python"),
        "c2pa_rs": c2pa.sdk_version(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "commit": commit.stdout.strip() or None,
    }


def present(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def has_rows(module: str) -> bool:
    """True when the module offers run(quick); printing modules (main() only) are run as scripts."""
    spec = importlib.util.find_spec(module)
    return bool(spec and spec.origin and "\ndef run(" in Path(spec.origin).read_text())


def run_printing(module: str, quick: bool, timeout: float) -> dict[str, Any]:
    """A module with only main(): run `python -m module`, keep what it prints, and its peak memory."""
    from bench.common import PeakRss

    cmd = [sys.executable, "-m", module, *(PRINTING_QUICK_ARGS.get(module, []) if quick else [])]
    start = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True)
        with PeakRss(proc.pid) as rss:
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                return {"error": f"timed out after {timeout:.0f} s", "seconds": time.monotonic() - start}
        out.seek(0)
        text = out.read()
    elapsed = time.monotonic() - start
    if code != 0:
        return {"error": f"exit {code}: " + "\n".join(text.strip().splitlines()[-15:]), "seconds": elapsed}
    return {"text": text.rstrip(), "command": " ".join(["python", *cmd[1:]]), "peak_rss_mb": rss.mb,
            "seconds": elapsed}


def run_in_child(module: str, quick: bool, timeout: float) -> dict[str, Any]:
    """Runs one module in a fresh interpreter; returns {"rows": [...]} or {"error": "..."}."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    cmd = [sys.executable, "-m", "bench.run", "--child", module, "--child-out", str(out)]
    if quick:
        cmd.append("--quick")
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        elapsed = time.monotonic() - start
        if proc.returncode != 0 or not out.stat().st_size:
            tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
            return {"error": f"exit {proc.returncode}: {tail}", "seconds": elapsed}
        result: dict[str, Any] = json.loads(out.read_text())
        result["seconds"] = elapsed
        return result
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s", "seconds": time.monotonic() - start}
    finally:
        out.unlink(missing_ok=True)


def child(module: str, quick: bool, out: Path) -> int:
    """Inside the subprocess: import the module, call run(quick), write its rows."""
    try:
        mod = importlib.import_module(module)
        entry = getattr(mod, "run", None)
        if entry is None:
            raise TypeError(f"{module} has no run(quick) function (see bench/README.md)")
        rows = [Row.coerce(r).to_dict() for r in entry(quick)]
    except Exception:
        traceback.print_exc()
        return 1
    out.write_text(json.dumps({"rows": rows}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI-sized: shorter runs, smaller MP4")
    parser.add_argument("--only", action="append", default=[], help="run only these modules (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="output stem (default bench/results/latest|quick)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.quick, args.child_out)

    stem = args.out or RESULTS / ("quick" if args.quick else "latest")
    timeout = 900.0 if args.quick else 3600.0
    info = machine()
    sections: list[dict[str, Any]] = []
    failed = False
    for module, title in MODULES:
        if args.only and module not in args.only:
            continue
        if not present(module):
            sections.append({"module": module, "title": title, "status": "skipped",
                             "reason": f"{module} is not in this build"})
            print(f"-- {module}: skipped (not in this build)", flush=True)
            continue
        print(f"-- {module}: running{' (quick)' if args.quick else ''}", flush=True)
        rows_module = has_rows(module)
        result = (run_in_child if rows_module else run_printing)(module, args.quick, timeout)
        if "error" in result:
            failed = True
            sections.append({"module": module, "title": title, "status": "failed", "reason": result["error"],
                             "seconds": round(result["seconds"], 1)})
            print(f"-- {module}: FAILED\n{result['error']}", flush=True)
            continue
        if not rows_module:
            sections.append({"module": module, "title": title, "status": "ok", "text": result["text"],
                             "command": result["command"], "peak_rss_mb": result["peak_rss_mb"],
                             "seconds": round(result["seconds"], 1)})
            print(f"-- {module}: printed report in {result['seconds']:.0f} s", flush=True)
            continue
        rows = [Row.coerce(r) for r in result["rows"]]
        for row in rows:
            row.benchmark = module
        sections.append({"module": module, "title": title, "status": "ok", "rows": rows,
                         "seconds": round(result["seconds"], 1)})
        print(f"-- {module}: {len(rows)} rows in {result['seconds']:.0f} s", flush=True)
    info["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    md, js = write_results(stem, info, sections, quick=args.quick)
    print(md.read_text())
    print(f"wrote {md} and {js}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
