"""The monitor's work items: a Redis Stream with one entry per stream to watch, read by a consumer group.

`dispatch` adds an entry (`XADD`) when a stream is registered. A monitor worker reads one with
`XREADGROUP` and keeps it pending while it watches the stream, renewing its hold (`XCLAIM … JUSTID`
resets the idle time) after every segment. When the worker dies, its entry goes idle and another worker
takes it with `XAUTOCLAIM` after `monitor_claim_idle_seconds`; the database lease on the stream row
decides who really watches it, so a duplicate entry is harmless. The entry is acknowledged and deleted
only when the stream ends or is stopped. `sweep` re-adds entries for watched streams Redis lost.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.exceptions import ResponseError

from backend.settings import Settings

GROUP = "monitors"
_TOUCH = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if p[1] and p[1][2] == ARGV[3] then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
  return 1
end
return 0
"""


def stream_key(settings: Settings) -> str:
    return settings.redis_prefix + "monitor:streams"


class MonitorQueue:
    def __init__(self, settings: Settings, block_seconds: float = 1.0) -> None:
        if not settings.redis_url:
            raise ValueError("the stream monitor needs REDIS_URL (its work items are a Redis Stream)")
        self.key = stream_key(settings)
        self.block_ms = int(block_seconds * 1000)
        self.idle_ms = int(settings.monitor_claim_idle_seconds * 1000)
        self.client = redis.Redis.from_url(settings.redis_url, socket_timeout=block_seconds + 10,
                                           socket_connect_timeout=2.0, decode_responses=True)
        self.touch_script = self.client.register_script(_TOUCH)
        self.cursor = "0-0"
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

    def dispatch(self, content_id: str) -> str:
        self.ensure_group()
        return str(self.client.xadd(self.key, {"stream": content_id}))

    def take(self, worker: str) -> tuple[str, str] | None:
        """(entry id, content id): an idle consumer's entry first, else a new one (blocking briefly)."""
        self.ensure_group()
        reply: Any = self.client.xautoclaim(self.key, GROUP, worker, min_idle_time=self.idle_ms,
                                            start_id=self.cursor, count=1)
        self.cursor = str(reply[0])
        for entry_id, fields in reply[1]:
            if fields:
                return str(entry_id), str(fields.get("stream", ""))
            self.done(str(entry_id))
        read: Any = self.client.xreadgroup(GROUP, worker, {self.key: ">"}, count=1, block=self.block_ms)
        for _stream, entries in read or []:
            for entry_id, fields in entries:
                return str(entry_id), str((fields or {}).get("stream", ""))
        return None

    def touch(self, entry_id: str, worker: str) -> bool:
        return bool(self.touch_script(keys=[self.key], args=[GROUP, entry_id, worker]))

    def done(self, entry_id: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.xack(self.key, GROUP, entry_id)
        pipe.xdel(self.key, entry_id)
        pipe.execute()

    def sweep(self, watching: list[str]) -> list[str]:
        """Dispatch watched streams that have no entry (Redis restarted empty, or the entry was lost)."""
        self.ensure_group()
        entries: Any = self.client.xrange(self.key, count=10_000)
        held = {str(f.get("stream")) for _id, f in entries or [] if f}
        lost = [c for c in watching if c not in held]
        for content_id in lost:
            self.dispatch(content_id)
        return lost

    def close(self) -> None:
        self.client.close()
