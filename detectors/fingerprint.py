"""Fingerprint lists (signed, prohibited, refuted) and near-duplicate lookup.

Storage and sharing: the database's append-only `fingerprint_log` (add/remove rows) is the source of
truth. Each worker process keeps its own in-memory index (detectors/fingerprint_index.py for PDQ, a
linear scan for the much smaller audio lists) built lazily from the log and kept in step by reading the
rows after the last one it applied. With Redis configured, every change increments a shared counter and
a lookup only touches the database when the counter moved; without Redis (the embedded default) a lookup
checks the log's highest seq, one indexed query. A change made on any host is therefore seen by every
other host's next lookup.
"""

from __future__ import annotations

import base64
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import redis
from redis.exceptions import RedisError
from sqlalchemy import func, select

from backend.store.db import Database, utcnow
from backend.store.schema import fingerprint_log
from detectors import perceptual
from detectors.base import MediaInput, Signal
from detectors.fingerprint_index import PdqIndex

log = logging.getLogger(__name__)

LISTS = ("signed", "prohibited", "refuted")
MODERATED_LISTS = ("prohibited", "refuted")
_PRIORITY = {"prohibited": 0, "refuted": 1, "signed": 2}  # the answer names the gravest match first
PDQ_MATCH = 31  # Meta's recommended PDQ match threshold (of 256 bits)
AUDIO_MATCH = 0.30  # chromaprint bit error rate; unrelated audio sits near 0.5


class FingerprintStore:
    def __init__(self, db: Database, redis_url: str = "", prefix: str = "avlabel:") -> None:
        self.db = db
        self.counter_key = f"{prefix}fp:changes"
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5) if (
            redis_url) else None
        self.pdq = PdqIndex()
        self.audio: list[tuple[int, np.ndarray]] = []
        self.dead_audio: set[int] = set()
        self.last_seq = 0
        self.seen_counter: bytes | None = None
        self._lock = threading.Lock()

    # -- writes -----------------------------------------------------------------------------------------
    def add_file(self, path: Path, mime: str, list_name: str, ref: str, note: dict[str, Any],
                 actor: str = "system") -> int:
        """Hash the file and add it to a list (blocking). Returns how many hashes were stored."""
        if list_name not in LISTS:
            raise ValueError(f"unknown fingerprint list {list_name!r}")
        hashes = perceptual.hashes_of(path, mime)
        if not hashes:
            return 0
        now = utcnow()
        rows = [{"op": "add", "list_name": list_name, "ref": ref[:120], "kind": kind,
                 "hash": h.hex() if kind == "pdq" else base64.b64encode(h).decode(), "note": note,
                 "actor": actor, "created_at": now} for kind, h in hashes]
        with self.db.tx() as conn:
            conn.execute(fingerprint_log.insert(), rows)
        self._changed()
        return len(rows)

    def remove(self, list_name: str, ref: str, actor: str = "system") -> bool:
        with self.db.tx() as conn:
            last_op = conn.execute(select(fingerprint_log.c.op).where(
                (fingerprint_log.c.list_name == list_name) & (fingerprint_log.c.ref == ref))
                .order_by(fingerprint_log.c.seq.desc()).limit(1)).scalar()
            if last_op != "add":  # never added, or already removed
                return False
            conn.execute(fingerprint_log.insert().values(op="remove", list_name=list_name, ref=ref, actor=actor,
                                                         note={}, created_at=utcnow()))
        self._changed()
        return True

    def items(self, list_name: str, limit: int = 500) -> list[dict[str, Any]]:
        """Live items of a list (ref, note, when added), newest first."""
        with self.db.read() as conn:
            rows = conn.execute(select(fingerprint_log).where(fingerprint_log.c.list_name == list_name)
                                .order_by(fingerprint_log.c.seq)).all()
        live: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row.op == "remove":
                live.pop(row.ref, None)
            elif row.ref not in live:
                live[row.ref] = {"ref": row.ref, "note": row.note, "added_at": row.created_at.isoformat(),
                                 "hashes": 0}
            if row.op == "add":
                live[row.ref]["hashes"] += 1
        return list(reversed(live.values()))[:limit]

    def _changed(self) -> None:
        if self.redis is not None:
            try:
                self.redis.incr(self.counter_key)
            except (RedisError, OSError) as exc:
                log.warning("fingerprint change counter not updated (%s); hosts fall back to the DB check",
                            type(exc).__name__)

    # -- sync -------------------------------------------------------------------------------------------
    def sync(self) -> None:
        with self._lock:
            counter = self._counter()
            if counter is not None and counter == self.seen_counter:
                return
            if counter is None and self._max_seq() == self.last_seq:
                return
            self._apply_new_rows()
            self.seen_counter = counter

    def _counter(self) -> bytes | None:
        if self.redis is None:
            return None
        try:
            value = self.redis.get(self.counter_key)
            return str(value).encode() if value is not None else b"0"
        except (RedisError, OSError):
            return None

    def moderated_seq(self) -> int:
        """The latest change to the prohibited or refuted lists (0: none yet)."""
        with self.db.read() as conn:
            return int(conn.execute(select(func.max(fingerprint_log.c.seq)).where(
                fingerprint_log.c.list_name.in_(MODERATED_LISTS))).scalar() or 0)

    def _max_seq(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.max(fingerprint_log.c.seq))).scalar() or 0)

    def _apply_new_rows(self) -> None:
        """Apply the log rows after `last_seq`. Only seq and hash stay in memory; list, ref and note of a
        match are read back from the log (a million entries as Python objects would cost ~10× the index)."""
        log_ = fingerprint_log.c
        with self.db.read() as conn:
            rows = conn.execute(select(log_.seq, log_.op, log_.list_name, log_.ref, log_.kind, log_.hash)
                                .where(log_.seq > self.last_seq).order_by(log_.seq)).all()
        pdq_hashes: list[bytes] = []
        pdq_ids: list[int] = []

        def flush() -> None:
            if pdq_hashes:
                self.pdq.add_many(np.frombuffer(b"".join(pdq_hashes), np.uint8), np.array(pdq_ids))
                pdq_hashes.clear()
                pdq_ids.clear()

        for row in rows:
            if row.op == "add" and row.kind == "pdq":
                pdq_hashes.append(bytes.fromhex(row.hash))
                pdq_ids.append(int(row.seq))
            elif row.op == "add" and row.kind == "chromaprint":
                self.audio.append((int(row.seq), np.frombuffer(base64.b64decode(row.hash), "<u4").astype(np.uint32)))
            elif row.op == "remove":
                flush()  # the removal must see the adds before it
                with self.db.read() as conn:
                    gone = [int(x) for x in conn.execute(select(log_.seq).where(
                        (log_.op == "add") & (log_.list_name == row.list_name) & (log_.ref == row.ref)
                        & (log_.seq < row.seq))).scalars()]
                self.pdq.remove_ids(np.array(gone, np.int64))
                self.dead_audio.update(gone)
            self.last_seq = max(self.last_seq, int(row.seq))
        flush()

    # -- lookup -----------------------------------------------------------------------------------------
    def lookup_hashes(self, hashes: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
        self.sync()
        best: dict[int, tuple[float, str, int | None]] = {}  # seq → (distance, kind, differing bits)
        for kind, h in hashes:
            hits: list[tuple[int, float, int | None]] = []
            if kind == "pdq":
                with self._lock:  # the arrays grow during a sync; read a consistent set
                    found = self.pdq.search(h, PDQ_MATCH)
                hits = [(seq, d / 256.0, int(d)) for seq, d in found]
            else:
                query = np.frombuffer(h, "<u4").astype(np.uint32)
                with self._lock:
                    audio = list(self.audio)
                for seq, stored in audio:
                    if seq in self.dead_audio:
                        continue
                    ber = perceptual.chromaprint_distance(query, stored)
                    if ber <= AUDIO_MATCH:
                        hits.append((seq, ber, None))
            for seq, dist, bits in hits:
                if int(seq) not in best or dist < best[int(seq)][0]:
                    best[int(seq)] = (dist, kind, bits)
        entries = self._entries(list(best))
        by_item: dict[tuple[str, str], dict[str, Any]] = {}
        for seq, (dist, kind, bits) in best.items():
            entry = entries.get(seq)
            if entry is None:
                continue
            key = (entry["list_name"], entry["ref"])
            if key not in by_item or dist < by_item[key]["distance"]:
                by_item[key] = {"list": key[0], "ref": key[1], "kind": kind, "distance": round(dist, 4),
                                "bits_differing": bits, "note": entry["note"]}
        return sorted(by_item.values(), key=lambda m: (_PRIORITY[m["list"]], m["distance"]))

    def _entries(self, seqs: list[int]) -> dict[int, dict[str, Any]]:
        if not seqs:
            return {}
        log_ = fingerprint_log.c
        with self.db.read() as conn:
            rows = conn.execute(select(log_.seq, log_.list_name, log_.ref, log_.note)
                                .where(log_.seq.in_(seqs[:200]))).all()
        return {int(r.seq): {"list_name": r.list_name, "ref": r.ref,
                             "note": dict(r.note) if isinstance(r.note, dict) else {}} for r in rows}

    def lookup(self, media: MediaInput) -> list[dict[str, Any]]:
        return self.lookup_hashes(perceptual.hashes_of(media.path, media.mime))

    def close(self) -> None:
        if self.redis is not None:
            self.redis.close()


class FingerprintDetector:
    name = "fingerprint"
    version = "1"

    def __init__(self, store: FingerprintStore) -> None:
        self.store = store

    def analyse(self, media: MediaInput) -> Signal | None:
        matches = self.store.lookup(media)
        if not matches:
            return None
        closeness = 1.0 - min(1.0, matches[0]["distance"] / 0.5)
        return Signal(self.name, self.version, round(max(0.0, min(1.0, closeness)), 4), "fingerprint",
                      {"matches": matches[:10]})
