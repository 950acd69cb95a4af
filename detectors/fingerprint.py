"""Near-duplicate matching of media against fingerprint lists (signed, prohibited, refuted).

The matching itself lives here: the hash text a list stores (`encode_hash`), an in-memory matcher
(detectors/fingerprint_index.py for PDQ, a linear scan for the much smaller audio lists) and the ranking
of hits per list item. A video matches an item only through its keyframes' PDQ hashes; a match on its
soundtrack alone is reported as `same_soundtrack` evidence (audio files keep audio matching). Where the
lists are kept and how hosts stay in step is the backend's business (backend/detection/stores.py); the
detector reaches it through the `FingerprintLookup` protocol.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

from detectors import perceptual
from detectors.base import MediaInput, Signal
from detectors.fingerprint_index import PdqIndex

LISTS = ("signed", "prohibited", "refuted")
MODERATED_LISTS = ("prohibited", "refuted")
PRIORITY = {"prohibited": 0, "refuted": 1, "signed": 2}  # the answer names the gravest match first
PDQ_MATCH = 31  # Meta's recommended PDQ match threshold (of 256 bits)
AUDIO_MATCH = 0.30  # chromaprint bit error rate; unrelated audio sits near 0.5

# seq of a stored hash → (distance, kind, differing bits)
Hits = dict[int, tuple[float, str, "int | None"]]


def encode_hash(kind: str, h: bytes) -> str:
    """The text form a list stores: hex for PDQ, base64 for a chromaprint."""
    return h.hex() if kind == "pdq" else base64.b64encode(h).decode()


class FingerprintLookup(Protocol):
    """The lists as a detector sees them: matches for a file, gravest first."""

    def lookup(self, media: MediaInput) -> list[dict[str, Any]]: ...


class FingerprintMatcher:
    """One process's in-memory copy of every stored hash, keyed by the hash's sequence number.

    Only seq and hash stay in memory; list, ref and note of a match are read back by the caller (a
    million entries as Python objects would cost ~10x the index)."""

    def __init__(self) -> None:
        self.pdq = PdqIndex()
        self.audio: list[tuple[int, np.ndarray]] = []
        self.dead_audio: set[int] = set()
        self._lock = threading.Lock()

    def add(self, rows: Iterable[tuple[int, str, str]]) -> None:
        """(seq, kind, stored hash text) rows, in seq order."""
        pdq_hashes: list[bytes] = []
        pdq_ids: list[int] = []
        audio: list[tuple[int, np.ndarray]] = []
        for seq, kind, text in rows:
            if kind == "pdq":
                pdq_hashes.append(bytes.fromhex(text))
                pdq_ids.append(seq)
            elif kind == "chromaprint":
                audio.append((seq, np.frombuffer(base64.b64decode(text), "<u4").astype(np.uint32)))
        with self._lock:  # a lookup in another thread reads a consistent set
            if pdq_hashes:
                self.pdq.add_many(np.frombuffer(b"".join(pdq_hashes), np.uint8), np.array(pdq_ids))
            self.audio.extend(audio)

    def remove(self, seqs: list[int]) -> None:
        with self._lock:
            self.pdq.remove_ids(np.array(seqs, np.int64))
            self.dead_audio.update(seqs)

    def search(self, hashes: list[tuple[str, bytes]]) -> Hits:
        """The closest distance per stored hash within the match thresholds."""
        best: Hits = {}
        for kind, h in hashes:
            hits: list[tuple[int, float, int | None]] = []
            if kind == "pdq":
                with self._lock:
                    found = self.pdq.search(h, PDQ_MATCH)
                hits = [(seq, d / 256.0, int(d)) for seq, d in found]
            else:
                query = np.frombuffer(h, "<u4").astype(np.uint32)
                with self._lock:
                    audio = list(self.audio)
                    dead = set(self.dead_audio)
                for seq, stored in audio:
                    if seq in dead:
                        continue
                    ber = perceptual.chromaprint_distance(query, stored)
                    if ber <= AUDIO_MATCH:
                        hits.append((seq, ber, None))
            for seq, dist, bits in hits:
                if int(seq) not in best or dist < best[int(seq)][0]:
                    best[int(seq)] = (dist, kind, bits)
        return best


def rank_matches(best: Hits, entries: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """One match per list item (its closest hash), gravest list first, then closest.
    `entries`: seq → {"list_name", "ref", "note"} of the stored hashes that hit."""
    by_item: dict[tuple[str, str], dict[str, Any]] = {}
    kinds: dict[tuple[str, str], set[str]] = {}
    for seq, (dist, kind, bits) in best.items():
        entry = entries.get(seq)
        if entry is None:
            continue
        key = (entry["list_name"], entry["ref"])
        kinds.setdefault(key, set()).add(kind)
        if key not in by_item or dist < by_item[key]["distance"]:
            by_item[key] = {"list": key[0], "ref": key[1], "kind": kind, "distance": round(dist, 4),
                            "bits_differing": bits, "note": entry["note"]}
    for key, match in by_item.items():
        match["matched_by"] = sorted(kinds[key])  # which hashes matched: pdq (pictures), chromaprint (sound)
    return sorted(by_item.values(), key=lambda m: (PRIORITY[m["list"]], m["distance"]))


class FingerprintDetector:
    name = "fingerprint"
    version = "1"

    def __init__(self, lists: FingerprintLookup) -> None:
        self.lists = lists

    def analyse(self, media: MediaInput) -> Signal | None:
        found = self.lists.lookup(media)
        if not found:
            return None
        matches, soundtrack = found, []
        if media.kind == "video":
            # A video is a copy only when its pictures match: thousands of unrelated videos share one sound,
            # so a soundtrack-only match is evidence that never blocks, labels or resolves to a registry entry.
            matches = [m for m in found if "pdq" in m["matched_by"]]
            soundtrack = [{"list": m["list"], "ref": m["ref"], "distance": m["distance"]}
                          for m in found if "pdq" not in m["matched_by"]]
        closeness = 1.0 - min(1.0, matches[0]["distance"] / 0.5) if matches else 0.0
        evidence: dict[str, Any] = {"matches": matches[:10]}
        if soundtrack:
            evidence["same_soundtrack"] = soundtrack[:10]
        return Signal(self.name, self.version, round(max(0.0, min(1.0, closeness)), 4), "fingerprint", evidence)
