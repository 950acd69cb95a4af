"""Where workers get jobs from: a Redis Stream consumer group, or the jobs table itself.

With Redis, `XADD` dispatches a job id, workers read with `XREADGROUP` and `XACK` (then `XDEL`) only
after the outcome is committed. An entry whose worker died stays pending; once idle for
`job_claim_idle_seconds` another worker takes it with `XAUTOCLAIM`. The database still decides who
runs a job (a conditional UPDATE with a lease), so duplicate or stale entries are harmless, and when
Redis is unreachable workers claim straight from the jobs table.

Without Redis the jobs table is the queue: the oldest queued job, or a running one whose lease ran out.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import RedisError, ResponseError

from backend.jobs.store import Job, JobStore
from backend.settings import Settings

log = logging.getLogger(__name__)

GROUP = "verifiers"
# Renew our hold on an entry only while it is still ours; XCLAIM with JUSTID resets its idle time.
_TOUCH = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if p[1] and p[1][2] == ARGV[3] then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
  return 1
end
return 0
"""


def stream_key(settings: Settings) -> str:
    return settings.redis_prefix + "jobs:verify"


@dataclass(frozen=True)
class Delivery:
    job: Job
    entry_id: str | None = None  # None when claimed from the jobs table


class TableSource:
    """The jobs table as the queue (no Redis, or Redis unreachable)."""

    def __init__(self, settings: Settings, store: JobStore, wake: threading.Event | None = None) -> None:
        self.settings = settings
        self.store = store
        self.wake = wake or threading.Event()
        idle = settings.job_claim_idle_seconds
        # Renewed every idle/3 and valid for 2·idle/3: a live worker always holds a valid lease, and a
        # dead worker's lease has expired by the time its stream entry is idle long enough to be claimed.
        self.keepalive_every = idle / 3
        self.lease_seconds = idle * 2 / 3

    def take(self, worker: str) -> Delivery | None:
        job = self.store.claim_next(worker, self.lease_seconds)
        if job is not None:
            return Delivery(job)
        if self.wake.wait(1.0):
            self.wake.clear()
        return None

    def keepalive(self, delivery: Delivery, worker: str) -> bool:
        return self.store.heartbeat(delivery.job.id, worker, self.lease_seconds)

    def finish(self, delivery: Delivery) -> None:
        """The outcome is committed; nothing to acknowledge in the table."""

    def give_back(self, delivery: Delivery, worker: str) -> None:
        self.store.release(delivery.job.id, worker)

    def housekeeping(self) -> None:
        """Expired leases are claimable by `take` itself."""

    def close(self) -> None:
        """Nothing held."""


class StreamProducer:
    """Dispatches job ids to the stream; used by the web process."""

    def __init__(self, settings: Settings, socket_timeout: float = 2.0) -> None:
        self.key = stream_key(settings)
        self.client = redis.Redis.from_url(settings.redis_url, socket_timeout=socket_timeout,
                                           socket_connect_timeout=2.0, decode_responses=True)
        self._group_ready = False

    def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def dispatch(self, job_id: str) -> str:
        self.ensure_group()
        return str(self.client.xadd(self.key, {"job": job_id}))

    def close(self) -> None:
        self.client.close()


class StreamSource(TableSource):
    """A consumer in the stream's group; falls back to the jobs table while Redis is unreachable."""

    def __init__(self, settings: Settings, store: JobStore, wake: threading.Event | None = None,
                 block_seconds: float = 1.0) -> None:
        super().__init__(settings, store, wake)
        self.block_ms = int(block_seconds * 1000)
        self.producer = StreamProducer(settings, socket_timeout=block_seconds + 10)
        self.client = self.producer.client
        self.key = self.producer.key
        self.touch = self.client.register_script(_TOUCH)
        self.idle_ms = int(settings.job_claim_idle_seconds * 1000)
        self.cursor = "0-0"
        self.sweep_every = max(5.0, settings.job_claim_idle_seconds)
        self.next_sweep = 0.0
        self._warned_at = 0.0

    def take(self, worker: str) -> Delivery | None:
        try:
            self.producer.ensure_group()
            entry = self._reclaim(worker) or self._read(worker)
        except (RedisError, OSError) as exc:
            self._warn(exc)
            self.producer._group_ready = False
            return super().take(worker)
        if entry is None:
            return None
        entry_id, job_id = entry
        job = self.store.claim(job_id, worker, self.lease_seconds) if job_id else None
        if job is None:
            # Finished, unknown, or held by a live worker through another entry: this entry is spent.
            self._ack(entry_id)
            return None
        return Delivery(job, entry_id)

    def _reclaim(self, worker: str) -> tuple[str, str] | None:
        reply: Any = self.client.xautoclaim(self.key, GROUP, worker, min_idle_time=self.idle_ms,
                                            start_id=self.cursor, count=1)
        self.cursor = str(reply[0])
        for entry_id, fields in reply[1]:
            if fields:
                log.info("claimed job %s from an idle consumer (entry %s)", fields.get("job"), entry_id)
                return str(entry_id), str(fields.get("job", ""))
            self._ack(str(entry_id))  # deleted from the stream: nothing to run
        return None

    def _read(self, worker: str) -> tuple[str, str] | None:
        reply: Any = self.client.xreadgroup(GROUP, worker, {self.key: ">"}, count=1, block=self.block_ms)
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                return str(entry_id), str((fields or {}).get("job", ""))
        return None

    def keepalive(self, delivery: Delivery, worker: str) -> bool:
        ours = super().keepalive(delivery, worker)  # the database lease decides ownership
        if ours and delivery.entry_id:
            try:
                self.touch(keys=[self.key], args=[GROUP, delivery.entry_id, worker])
            except (RedisError, OSError) as exc:
                self._warn(exc)
        return ours

    def finish(self, delivery: Delivery) -> None:
        if delivery.entry_id:
            self._ack(delivery.entry_id)

    def _ack(self, entry_id: str) -> None:
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.xack(self.key, GROUP, entry_id)
            pipe.xdel(self.key, entry_id)
            pipe.execute()
        except (RedisError, OSError) as exc:
            # Left pending: it is claimed again later and then found finished.
            self._warn(exc)

    def give_back(self, delivery: Delivery, worker: str) -> None:
        super().give_back(delivery, worker)
        if delivery.entry_id:
            try:
                self.store.set_queue_ref(delivery.job.id, self.producer.dispatch(delivery.job.id))
                self._ack(delivery.entry_id)
            except (RedisError, OSError) as exc:
                self._warn(exc)  # the sweep dispatches it again

    def housekeeping(self) -> None:
        """Dispatch jobs Redis lost or never got (the database is the record)."""
        now = time.monotonic()
        if now < self.next_sweep:
            return
        self.next_sweep = now + self.sweep_every
        stale = self.store.undispatched(older_than_seconds=self.sweep_every,
                                        lease_grace_seconds=3 * self.settings.job_claim_idle_seconds)
        try:
            stale += self._lost_entries()
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return
        for job_id in stale:
            try:
                self.store.set_queue_ref(job_id, self.producer.dispatch(job_id))
            except (RedisError, OSError) as exc:
                self._warn(exc)
                return
        if stale:
            log.info("dispatched %d job(s) the stream did not hold", len(stale))

    def _lost_entries(self) -> list[str]:
        """Queued jobs whose stream entry is gone (Redis restarted empty, or the stream was trimmed)."""
        refs = self.store.queued_refs(older_than_seconds=self.sweep_every)
        if not refs:
            return []
        pipe = self.client.pipeline(transaction=False)
        for _job_id, ref in refs:
            pipe.xrange(self.key, min=ref, max=ref, count=1)
        found = pipe.execute()
        return [job_id for (job_id, _ref), entries in zip(refs, found, strict=True) if not entries]

    def _warn(self, exc: Exception) -> None:
        if time.monotonic() - self._warned_at > 10:
            log.warning("redis unavailable for jobs, using the jobs table (%s: %s)", type(exc).__name__, exc)
            self._warned_at = time.monotonic()

    def close(self) -> None:
        self.producer.close()
