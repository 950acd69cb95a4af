"""Benchmark: PDQ near-duplicate lookup over N hashes (multi-index hashing) against a brute-force scan.

    python -m bench.fingerprint_index [--n 1000000] [--queries 2000] [--brute 50]

Prints build time, lookup p50/p99 for near-duplicate queries (a stored hash with 1–31 bits flipped) and
random queries, recall against brute force, the resident memory the index added (RSS delta) and the
index arrays' own size. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from detectors.fingerprint_index import PdqIndex


def rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def flip_bits(h: np.ndarray, k: int, rng: np.random.Generator) -> bytes:
    bits = np.unpackbits(h)
    idx = rng.choice(256, size=k, replace=False)
    bits[idx] ^= 1
    return np.packbits(bits).tobytes()


def percentile_ms(samples: list[float], p: float) -> float:
    return float(np.percentile(np.array(samples) * 1000, p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--brute", type=int, default=50, help="queries timed with the brute-force baseline")
    parser.add_argument("--max-distance", type=int, default=31)
    args = parser.parse_args()
    rng = np.random.default_rng(7)

    hashes = rng.integers(0, 256, size=(args.n, 32), dtype=np.uint8)
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    index = PdqIndex()
    index.add_many(hashes, np.arange(args.n))
    index.rebuild()
    build_s = time.perf_counter() - t0
    rss_delta = rss_bytes() - rss0

    near_targets = rng.integers(0, args.n, size=args.queries)
    near = [flip_bits(hashes[i], int(rng.integers(1, args.max_distance + 1)), rng) for i in near_targets]
    randoms = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes() for _ in range(args.queries)]

    def timed(queries: list[bytes], fn: object) -> tuple[list[float], list[list[tuple[int, int]]]]:
        times, results = [], []
        for q in queries:
            t = time.perf_counter()
            results.append(fn(q, args.max_distance))  # type: ignore[operator]
            times.append(time.perf_counter() - t)
        return times, results

    near_t, near_r = timed(near, index.search)
    rand_t, rand_r = timed(randoms, index.search)
    found = sum(int(any(i == int(t) for i, _ in r)) for r, t in zip(near_r, near_targets, strict=True))
    brute_t, brute_r = timed(near[: args.brute], index.brute_force)
    agree = sum(int(a == b) for a, b in zip(near_r[: args.brute], brute_r, strict=True))

    print(f"PDQ index: N = {args.n:,} hashes, match radius {args.max_distance} bits, {args.queries} queries each")
    print(f"  build (sort 16 chunk tables)      {build_s:8.2f} s")
    arrays_mib, raw_mib = index.nbytes() / 2**20, hashes.nbytes / 2**20
    print(f"  memory: RSS delta                 {rss_delta / 2**20:8.1f} MiB  (index arrays {arrays_mib:.1f} MiB,"
          f" raw hashes {raw_mib:.1f} MiB)")
    print(f"  near-duplicate lookup p50 / p99   {percentile_ms(near_t, 50):8.3f} / {percentile_ms(near_t, 99):.3f} ms")
    print(f"  random-query lookup   p50 / p99   {percentile_ms(rand_t, 50):8.3f} / {percentile_ms(rand_t, 99):.3f} ms")
    print(f"  brute-force baseline  p50 / p99   {percentile_ms(brute_t, 50):8.3f} / {percentile_ms(brute_t, 99):.3f} ms"
          f"  ({args.brute} queries)")
    print(f"  speed-up at p50 (brute / index)   {np.median(brute_t) / np.median(near_t):8.1f} x")
    print(f"  recall of the planted near-duplicate {found}/{args.queries}; "
          f"same answers as brute force {agree}/{args.brute}")
    print(f"  p99 target < 10 ms: {'met' if percentile_ms(near_t, 99) < 10 else 'NOT met'} (near-duplicates)")


if __name__ == "__main__":
    main()
