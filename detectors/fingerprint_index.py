"""Near-duplicate lookup over 256-bit PDQ hashes by Hamming distance: multi-index hashing in numpy.

The 256 bits are split into 16 chunks of 16 bits and each chunk has its own sorted table (chunk value →
positions). By pigeonhole, a hash within distance d of the query agrees exactly with it on at least one
chunk when d ≤ 15, and on at least one chunk up to one bit when d ≤ 31: probing each chunk's value and
its 16 one-bit neighbours (272 binary searches) finds every candidate, and only those are compared in
full (popcount of XOR over four 64-bit words). Random hashes share a 16-bit chunk value with ~N/65536
others, so at N = 1,000,000 a query compares a few thousand candidates instead of a million.

New hashes go to a small unsorted tail scanned by brute force; the tail is merged into the sorted tables
when it grows past `merge_at`. Removal marks positions dead. `bench/fingerprint_index.py` measures it.
"""

from __future__ import annotations

import numpy as np

CHUNKS = 16
HASH_BYTES = 32
_FLIPS = np.array([0] + [1 << b for b in range(16)], dtype=np.uint16)


def to_words(hashes: np.ndarray) -> np.ndarray:
    """(N, 32) uint8 → (N, 4) uint64."""
    return np.ascontiguousarray(hashes, dtype=np.uint8).view(np.uint64).reshape(-1, 4)


def to_chunks(hashes: np.ndarray) -> np.ndarray:
    """(N, 32) uint8 → (N, 16) uint16 chunk values."""
    return np.ascontiguousarray(hashes, dtype=np.uint8).view(">u2").reshape(-1, CHUNKS).astype(np.uint16)


def hamming(words: np.ndarray, query_words: np.ndarray) -> np.ndarray:
    distances: np.ndarray = np.bitwise_count(words ^ query_words).sum(axis=1, dtype=np.int32)
    return distances


class PdqIndex:
    def __init__(self, merge_at: int = 50_000) -> None:
        self.merge_at = merge_at
        self.words = np.zeros((0, 4), np.uint64)
        self.ids = np.zeros(0, np.int64)  # caller's id per position (the fingerprint log's seq)
        self.alive = np.zeros(0, bool)
        self.sorted_vals: list[np.ndarray] = [np.zeros(0, np.uint16) for _ in range(CHUNKS)]
        self.sorted_pos: list[np.ndarray] = [np.zeros(0, np.uint32) for _ in range(CHUNKS)]
        self.indexed = 0  # positions [0, indexed) are in the sorted tables; the rest is the tail

    def __len__(self) -> int:
        return int(self.alive.sum())

    def add_many(self, hashes: np.ndarray, ids: np.ndarray) -> None:
        hashes = np.asarray(hashes, np.uint8).reshape(-1, HASH_BYTES)
        self.words = np.concatenate([self.words, to_words(hashes)])
        self.ids = np.concatenate([self.ids, np.asarray(ids, np.int64)])
        self.alive = np.concatenate([self.alive, np.ones(len(hashes), bool)])
        if len(self.words) - self.indexed >= self.merge_at:
            self.rebuild()

    def add(self, hash_bytes: bytes, id_: int) -> None:
        self.add_many(np.frombuffer(hash_bytes, np.uint8), np.array([id_]))

    def rebuild(self) -> None:
        chunks = np.ascontiguousarray(self.words).view(np.uint8).reshape(-1, HASH_BYTES)
        values = to_chunks(chunks)
        for j in range(CHUNKS):
            order = np.argsort(values[:, j], kind="stable").astype(np.uint32)
            self.sorted_pos[j] = order
            self.sorted_vals[j] = values[order, j]
        self.indexed = len(self.words)

    def remove_ids(self, ids: np.ndarray) -> int:
        dead = np.isin(self.ids, ids) & self.alive
        self.alive &= ~dead
        return int(dead.sum())

    def search(self, query: bytes, max_distance: int = 31) -> list[tuple[int, int]]:
        """(id, distance) of every live hash within `max_distance` (≤ 31), nearest first."""
        if max_distance > 31:
            raise ValueError("multi-index probing is exact up to distance 31")
        q = np.frombuffer(query, np.uint8).reshape(1, HASH_BYTES)
        qw = to_words(q)
        qc = to_chunks(q)[0]
        flips = _FLIPS if max_distance > 15 else _FLIPS[:1]
        found: list[np.ndarray] = []
        for j in range(CHUNKS):
            vals = self.sorted_vals[j]
            if len(vals) == 0:
                break
            probes = qc[j] ^ flips
            lo = np.searchsorted(vals, probes, "left")
            hi = np.searchsorted(vals, probes, "right")
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
                if b > a:
                    found.append(self.sorted_pos[j][a:b])
        candidates = np.unique(np.concatenate(found)).astype(np.int64) if found else np.zeros(0, np.int64)
        tail = np.arange(self.indexed, len(self.words), dtype=np.int64)
        candidates = np.concatenate([candidates, tail])
        candidates = candidates[self.alive[candidates]]
        if len(candidates) == 0:
            return []
        dist = hamming(self.words[candidates], qw)
        keep = dist <= max_distance
        hits = sorted(zip(dist[keep].tolist(), self.ids[candidates[keep]].tolist(), strict=True))
        return [(int(i), int(d)) for d, i in hits]

    def brute_force(self, query: bytes, max_distance: int = 31) -> list[tuple[int, int]]:
        """The baseline: compare against every hash (for benchmarks and tests)."""
        qw = to_words(np.frombuffer(query, np.uint8).reshape(1, HASH_BYTES))
        dist = hamming(self.words, qw)
        keep = (dist <= max_distance) & self.alive
        hits = sorted(zip(dist[keep].tolist(), self.ids[keep].tolist(), strict=True))
        return [(int(i), int(d)) for d, i in hits]

    def nbytes(self) -> int:
        arrays = [self.words, self.ids, self.alive, *self.sorted_vals, *self.sorted_pos]
        return int(sum(a.nbytes for a in arrays))
