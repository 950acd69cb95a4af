"""Near-duplicate lookup over 256-bit PDQ hashes by Hamming distance: multi-index hashing in numpy.

The 256 bits are split into 16 chunks of 16 bits and each chunk has its own bucket table: positions
sorted by chunk value (uint32) and 65,537 offsets into them (CSR), so a bucket is two array reads, with no
binary search and no copy of the chunk values. By pigeonhole, a hash within distance d of the query
agrees exactly with it on at least one chunk when d ≤ 15, and on at least one chunk up to one bit when
d ≤ 31: probing each chunk's value and its 16 one-bit neighbours (272 buckets) finds every candidate, and
only those are compared in full (popcount of XOR over four 64-bit words). A candidate found in several
buckets is compared more than once rather than de-duplicated first (sorting the candidates costs more
than the few repeated comparisons); only the hits are de-duplicated. Random hashes share a 16-bit chunk
value with ~N/65536 others, so at N = 1,000,000 a query compares a few thousand candidates instead of a
million. Memory is 32 (hash) + 8 (id) + 1 (alive) + 16 × 4 (positions) bytes a hash plus 4 MiB of offsets.

New hashes go to a small unsorted tail scanned by brute force; the tail is merged into the sorted tables
when it grows past `merge_at`. Removal marks positions dead. `bench/fingerprint_index.py` measures it.
"""

from __future__ import annotations

import numpy as np

CHUNKS = 16
HASH_BYTES = 32
BUCKETS = 1 << 16
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
        # Chunk j's bucket v is sorted_pos[offsets[j, v] : offsets[j, v + 1]] (one array for all chunks).
        self.offsets = np.zeros((CHUNKS, BUCKETS + 1), np.int64)
        self.sorted_pos = np.zeros(0, np.uint32)
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
        n = len(chunks)
        self.sorted_pos = np.empty(CHUNKS * n, np.uint32)
        for j in range(CHUNKS):
            values = np.ascontiguousarray(chunks[:, 2 * j : 2 * j + 2]).view(">u2").reshape(-1).astype(np.uint16)
            self.sorted_pos[j * n : (j + 1) * n] = np.argsort(values, kind="stable")
            self.offsets[j, 0] = j * n
            np.cumsum(np.bincount(values, minlength=BUCKETS), out=self.offsets[j, 1:])
            self.offsets[j, 1:] += j * n
            del values
        self.indexed = n

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
        tail = np.arange(self.indexed, len(self.words), dtype=np.uint32)  # not yet in the buckets
        if self.indexed:
            probes = (qc[:, None] ^ flips[None, :]).astype(np.int64) + (np.arange(CHUNKS) * (BUCKETS + 1))[:, None]
            flat = self.offsets.reshape(-1)
            starts, lengths = flat[probes.ravel()], flat[probes.ravel() + 1] - flat[probes.ravel()]
            total = int(lengths.sum())
            # Every bucket's positions, concatenated without a Python loop: start of its bucket + rank in it.
            idx = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)
            candidates = np.concatenate([self.sorted_pos[idx], tail])
        else:
            candidates = tail
        candidates = candidates[self.alive[candidates]]
        if len(candidates) == 0:
            return []
        dist = hamming(self.words[candidates], qw)
        keep = dist <= max_distance
        hit_pos, first = np.unique(candidates[keep], return_index=True)
        hits = sorted(zip(dist[keep][first].tolist(), self.ids[hit_pos].tolist(), strict=True))
        return [(int(i), int(d)) for d, i in hits]

    def brute_force(self, query: bytes, max_distance: int = 31) -> list[tuple[int, int]]:
        """The baseline: compare against every hash (for benchmarks and tests)."""
        qw = to_words(np.frombuffer(query, np.uint8).reshape(1, HASH_BYTES))
        dist = hamming(self.words, qw)
        keep = (dist <= max_distance) & self.alive
        hits = sorted(zip(dist[keep].tolist(), self.ids[keep].tolist(), strict=True))
        return [(int(i), int(d)) for d, i in hits]

    def nbytes(self) -> int:
        arrays = [self.words, self.ids, self.alive, self.offsets, self.sorted_pos]
        return int(sum(a.nbytes for a in arrays))
