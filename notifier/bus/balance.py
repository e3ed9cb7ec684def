"""Fair shares of partitions among the live replicas of one worker (aggregator, dispatcher).

Every replica stamps itself in a sorted set (``keys.members``) when it claims partitions; those
not seen for a lease TTL drop out. A replica holds at most ``ceil(partitions / live replicas)``
partitions and gives the rest back, so a second aggregator really takes half of the work
instead of waiting for the first to die.
"""

from __future__ import annotations

import math

import redis.asyncio as aioredis

from notifier.bus import keys
from notifier.bus.connect import translate_errors


def fair_share(partitions: int, replicas: int) -> int:
    """How many partitions one of ``replicas`` live replicas may hold."""
    return math.ceil(partitions / max(1, replicas))


class Membership:
    """One replica's entry among the live replicas of a worker."""

    def __init__(self, r: aioredis.Redis, worker: str, instance: str, ttl_ms: int) -> None:
        self.r = r
        self.key = keys.members(worker)
        self.instance = instance
        self.ttl_ms = ttl_ms

    async def live(self, now_ms: int) -> int:
        """Stamp this replica as alive at ``now_ms``; the number of live replicas (itself too)."""
        with translate_errors(f"members {self.key}"):
            async with self.r.pipeline(transaction=False) as pipe:
                pipe.zadd(self.key, {self.instance: now_ms})
                pipe.zremrangebyscore(self.key, "-inf", now_ms - self.ttl_ms)
                pipe.zcard(self.key)
                pipe.pexpire(self.key, 10 * self.ttl_ms)
                replies = await pipe.execute()
        return max(1, int(replies[2]))

    async def leave(self) -> None:
        """Drop this replica's entry (a clean stop: the others take its share at once)."""
        with translate_errors(f"members {self.key}"):
            await self.r.zrem(self.key, self.instance)
