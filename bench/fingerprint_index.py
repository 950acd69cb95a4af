"""Benchmark: PDQ near-duplicate lookup, the project's index against FAISS on the same hashes and queries.

    python -m bench.fingerprint_index [--n 1000000 --n 10000000] [--queries 1000] [--out bench/results]

Engines, each built and queried in its own child process (so its RSS is its own), in the same run:
- `avlabel` — `detectors/fingerprint_index.PdqIndex` (multi-index hashing in numpy);
- `faiss-flat` — FAISS `IndexBinaryFlat` (exhaustive popcount scan, `range_search`);
- `faiss-mih` — FAISS `IndexBinaryMultiHash(256, nhash=16, b=16)` with `nflip=1`, which by pigeonhole
  finds every hash within 31 bits (exact recall), the engine Meta's HMA builds on.
FAISS runs with one OpenMP thread, like a single query in the service. Queries: stored hashes with 1–31
bits flipped (near duplicates) and random hashes; match radius 31. Reported: build time, RSS added by
the index and peak RSS of the child, p50/p99 per query, and agreement with FAISS flat (the exact answer).
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ENGINES = ("avlabel", "faiss-flat", "faiss-mih")
RADIUS = 31


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def data(n: int, queries: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    hashes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    targets = rng.integers(0, n, size=queries)
    near = np.unpackbits(hashes[targets], axis=1)
    for row in near:
        row[rng.choice(256, size=int(rng.integers(1, RADIUS + 1)), replace=False)] ^= 1
    randoms = rng.integers(0, 256, size=(queries, 32), dtype=np.uint8)
    return hashes, np.packbits(near, axis=1), randoms


def run_engine(engine: str, n: int, queries: int) -> dict[str, Any]:
    hashes, near, randoms = data(n, queries)
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    if engine == "avlabel":
        from detectors.fingerprint_index import PdqIndex

        index = PdqIndex(merge_at=n + 1)
        index.add_many(hashes, np.arange(n))
        index.rebuild()

        def search(q: np.ndarray) -> list[int]:
            return sorted(i for i, _ in index.search(q.tobytes(), RADIUS))
    else:
        import faiss

        faiss.omp_set_num_threads(1)
        if engine == "faiss-flat":
            fx: Any = faiss.IndexBinaryFlat(256)
        else:
            fx = faiss.IndexBinaryMultiHash(256, 16, 16)
            fx.nflip = 1
        fx.add(hashes)

        def search(q: np.ndarray) -> list[int]:
            _, _, labels = fx.range_search(q.reshape(1, 32), RADIUS + 1)  # FAISS: distance < radius
            return sorted(int(i) for i in labels)
    build_s = time.perf_counter() - t0
    added = rss_bytes() - rss0
    del hashes
    out: dict[str, Any] = {"engine": engine, "n": n, "queries": queries, "build_s": round(build_s, 2),
                           "rss_added_mib": round(added / 2**20, 1)}
    answers: dict[str, list[list[int]]] = {}
    for name, qs in (("near", near), ("random", randoms)):
        times, res = [], []
        for q in qs:
            t = time.perf_counter()
            res.append(search(q))
            times.append(time.perf_counter() - t)
        ms = np.array(times) * 1000
        out[f"{name}_p50_ms"] = round(float(np.percentile(ms, 50)), 3)
        out[f"{name}_p99_ms"] = round(float(np.percentile(ms, 99)), 3)
        answers[name] = res
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["answers_digest"] = hashlib.sha256(json.dumps(answers).encode()).hexdigest()[:16]
    out["near_hits"] = sum(len(r) > 0 for r in answers["near"])
    return out


def child(engine: str, n: int, queries: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "bench.fingerprint_index", "--child", engine, "--n", str(n),
                           "--queries", str(queries)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"engine": engine, "n": n, "error": proc.stderr.strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| N | engine | build s | RSS added MiB | peak RSS MiB | near p50 / p99 ms | random p50 / p99 ms | "
             "same answers as faiss-flat |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['n']:,} | {r['engine']} | error: {r['error']} | | | | | |")
            continue
        lines.append(f"| {r['n']:,} | {r['engine']} | {r['build_s']} | {r['rss_added_mib']} | {r['peak_rss_mib']} | "
                     f"{r['near_p50_ms']} / {r['near_p99_ms']} | {r['random_p50_ms']} / {r['random_p99_ms']} | "
                     f"{r.get('agrees_with_flat', '')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="index sizes (repeatable); default 1,000,000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--brute", type=int, default=0, help="(kept for bench/run.py; unused)")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="write fingerprint_index.json/.md here")
    args = parser.parse_args()
    sizes = args.n or [1_000_000]
    if args.child:
        print(json.dumps(run_engine(args.child, sizes[0], args.queries)))
        return
    rows: list[dict[str, Any]] = []
    for n in sizes:
        group = [child(engine, n, args.queries) for engine in ENGINES]
        flat = next((r for r in group if r["engine"] == "faiss-flat" and "error" not in r), None)
        for r in group:
            if flat is not None and "error" not in r:
                r["agrees_with_flat"] = r["answers_digest"] == flat["answers_digest"]
        rows += group
        ours = next((r for r in group if r["engine"] == "avlabel" and "error" not in r), None)
        mih = next((r for r in group if r["engine"] == "faiss-mih" and "error" not in r), None)
        if ours and mih and flat:
            print(f"N = {n:,}: avlabel near p99 / faiss-mih {ours['near_p99_ms'] / mih['near_p99_ms']:.2f}, "
                  f"/ faiss-flat {ours['near_p99_ms'] / flat['near_p99_ms']:.2f}; "
                  f"RSS added {ours['rss_added_mib']} MiB")
    print(table(rows))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "fingerprint_index.json").write_text(json.dumps(rows, indent=2) + "\n")
        (args.out / "fingerprint_index.md").write_text(
            "# Fingerprint index vs FAISS\n\n`python -m bench.fingerprint_index " +
            " ".join(f"--n {n}" for n in sizes) + f" --queries {args.queries}`, one child process per engine, "
            "FAISS with one thread, match radius 31.\n\n" + table(rows) + "\n")


if __name__ == "__main__":
    main()
