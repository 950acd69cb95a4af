"""Redis when configured (shared cache, rate limits, streams), an in-process stand-in otherwise.

Redis is an accelerator, never the system of record: every call degrades to "miss" on a Redis
failure, so label lookups keep answering from the database while Redis is down.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class Cache:
    def __init__(self, url: str = "", prefix: str = "avlabel:") -> None:
        self.prefix = prefix
        self.redis: aioredis.Redis | None = None
        if url:
            self.redis = aioredis.Redis.from_url(
                url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=5
            )
        self._local: dict[str, tuple[float, bytes]] = {}
        self._counters: dict[str, tuple[float, int]] = {}
        self._warned_at = 0.0

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at > 10:
            log.warning("redis unavailable, falling back (%s)", type(exc).__name__)
            self._warned_at = now

    async def get(self, key: str) -> bytes | None:
        if self.redis is None:
            hit = self._local.get(key)
            if hit and hit[0] > time.monotonic():
                return hit[1]
            self._local.pop(key, None)
            return None
        try:
            value: Any = await self.redis.get(self.prefix + key)
            return bytes(value) if value is not None else None
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if self.redis is None:
            if len(self._local) > 100_000:
                self._local.clear()
            self._local[key] = (time.monotonic() + ttl, value)
            return
        try:
            await self.redis.set(self.prefix + key, value, px=max(1, int(ttl * 1000)))
        except (RedisError, OSError) as exc:
            self._warn(exc)

    async def delete(self, *keys: str) -> None:
        if self.redis is None:
            for k in keys:
                self._local.pop(k, None)
            return
        try:
            await self.redis.delete(*(self.prefix + k for k in keys))
        except (RedisError, OSError) as exc:
            self._warn(exc)

    def _local_hit(self, full: str, window_seconds: int) -> int:
        now = time.monotonic()
        exp, n = self._counters.get(full, (now + window_seconds, 0))
        if len(self._counters) > 100_000:
            # Drop expired windows first; clear everything only if that is not enough.
            self._counters = {k: v for k, v in self._counters.items() if v[0] > now}
            if len(self._counters) > 100_000:
                self._counters.clear()
        self._counters[full] = (exp, n + 1)
        return n + 1

    async def hit(self, key: str, window_seconds: int) -> int:
        """Count one event in a fixed window and return the count so far.

        While Redis fails, this process counts on its own: limits stay on (per process) instead of
        switching off, which would let anyone flood reports or sign-in attempts during an outage."""
        bucket = int(time.time() // window_seconds)
        full = f"rl:{key}:{bucket}"
        if self.redis is None:
            return self._local_hit(full, window_seconds)
        try:
            pipe = self.redis.pipeline()
            pipe.incr(self.prefix + full)
            pipe.expire(self.prefix + full, window_seconds + 1)
            n, _ = await pipe.execute()
            return int(n)
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return self._local_hit(full, window_seconds)

    async def ping(self) -> bool:
        if self.redis is None:
            return True
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
