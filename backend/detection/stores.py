"""The detection stores: fingerprint lists and soft-binding (watermark) keys.

Fingerprints: the database's append-only `fingerprint_log` (add/remove rows) is the source of truth.
Each worker process keeps its own in-memory matcher (detectors/fingerprint.py) built lazily from the
log and kept in step by reading the rows after the last one it applied. With Redis configured, every
change increments a shared counter and a lookup only touches the database when the counter moved;
without Redis (the embedded default) a lookup checks the log's highest seq, one indexed query. A change
made on any host is therefore seen by every other host's next lookup.

Soft-binding keys: `watermark_keys` maps each embedded 48-bit key to its content id.
"""

from __future__ import annotations

import logging
import secrets
import threading
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.store.db import Database, utcnow
from backend.store.schema import fingerprint_log, watermark_keys
from detectors import perceptual
from detectors import watermark_codec as codec
from detectors.base import MediaInput
from detectors.fingerprint import LISTS, MODERATED_LISTS, FingerprintMatcher, encode_hash, rank_matches

log = logging.getLogger(__name__)


class FingerprintStore:
    """The lists (signed, prohibited, refuted); implements detectors.fingerprint.FingerprintLookup."""

    def __init__(self, db: Database, redis_url: str = "", prefix: str = "avlabel:") -> None:
        self.db = db
        self.counter_key = f"{prefix}fp:changes"
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5) if (
            redis_url) else None
        self.matcher = FingerprintMatcher()
        self.last_seq = 0
        self.seen_counter: bytes | None = None
        self._lock = threading.Lock()

    # -- writes -----------------------------------------------------------------------------------------
    def add_file(self, path: Path, mime: str, list_name: str, ref: str, note: dict[str, Any],
                 actor: str = "system", crop_views: bool = False) -> int:
        """Hash the file and add it to a list (blocking). Returns how many hashes were stored.
        `crop_views`: a picture also registers the hashes of its cropped views (perceptual.cropped_views_pdq)."""
        if list_name not in LISTS:
            raise ValueError(f"unknown fingerprint list {list_name!r}")
        hashes = perceptual.hashes_of(path, mime)
        if crop_views and hashes and mime.startswith("image/"):
            hashes += [("pdq", h) for h in perceptual.cropped_views_pdq(path)]
        if not hashes:
            return 0
        now = utcnow()
        rows = [{"op": "add", "list_name": list_name, "ref": ref[:120], "kind": kind,
                 "hash": encode_hash(kind, h), "note": note, "actor": actor, "created_at": now}
                for kind, h in hashes]
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
        """Apply the log rows after `last_seq` to the matcher, in order."""
        log_ = fingerprint_log.c
        with self.db.read() as conn:
            rows = conn.execute(select(log_.seq, log_.op, log_.list_name, log_.ref, log_.kind, log_.hash)
                                .where(log_.seq > self.last_seq).order_by(log_.seq)).all()
        adds: list[tuple[int, str, str]] = []
        for row in rows:
            if row.op == "add":
                adds.append((int(row.seq), str(row.kind), str(row.hash)))
            elif row.op == "remove":
                self.matcher.add(adds)  # the removal must see the adds before it
                adds = []
                with self.db.read() as conn:
                    gone = [int(x) for x in conn.execute(select(log_.seq).where(
                        (log_.op == "add") & (log_.list_name == row.list_name) & (log_.ref == row.ref)
                        & (log_.seq < row.seq))).scalars()]
                self.matcher.remove(gone)
            self.last_seq = max(self.last_seq, int(row.seq))
        self.matcher.add(adds)

    # -- lookup -----------------------------------------------------------------------------------------
    def lookup_hashes(self, hashes: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
        self.sync()
        best = self.matcher.search(hashes)
        return rank_matches(best, self._entries(list(best)))

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


class SoftBindingKeys:
    """Watermark key allocation and key → content id; implements detectors.watermark.KeyResolver."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def allocate(self, content_id: str) -> int:
        for _ in range(8):
            key = secrets.randbits(codec.KEY_BYTES * 8)
            try:
                with self.db.tx() as conn:
                    conn.execute(watermark_keys.insert().values(
                        key=key, content_id=content_id, alg=codec.ALG, created_at=utcnow()))
                return key
            except IntegrityError:
                continue
        raise RuntimeError("could not allocate a unique watermark key")

    def resolve(self, key: int) -> str | None:
        with self.db.read() as conn:
            row = conn.execute(select(watermark_keys.c.content_id).where(watermark_keys.c.key == key)).first()
        return str(row.content_id) if row else None
