"""Worker heartbeats: one key per live worker instance, with a TTL, read by ``notifier check``.

A heartbeat key holds the Unix time of the beat; it expires after ``ttl`` unless renewed, so
every key found is a worker that was alive a moment ago.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis

from notifier import keys
from notifier.store import StoreError, translate_errors

log = logging.getLogger(__name__)

SCAN_COUNT = 1000


async def beat(r: aioredis.Redis, worker: str, instance: str, *, ttl_s: float, now: float) -> None:
    """Write one heartbeat: ``now`` (Unix time), expiring after ``ttl_s``."""
    with translate_errors(f"heartbeat {worker}:{instance}"):
        await r.set(keys.heartbeat(worker, instance), repr(now), px=max(1, int(ttl_s * 1000)))


async def clear(r: aioredis.Redis, worker: str, instance: str) -> None:
    """Remove the heartbeat at a clean exit, so the instance is gone at once, not after its TTL."""
    with translate_errors(f"heartbeat {worker}:{instance}"):
        await r.delete(keys.heartbeat(worker, instance))


async def run_heartbeat(
    r: aioredis.Redis,
    worker: str,
    instance: str,
    *,
    interval_s: float,
    ttl_s: float | None = None,
    clock: Callable[[], float] = time.time,
    beats: int | None = None,
) -> None:
    """Beat every ``interval_s`` until cancelled (or ``beats`` times); for a TaskGroup.

    Each write is bounded by ``interval_s``; a failed beat is logged (once until it recovers)
    and never ends the task. The TTL defaults to three intervals.
    """
    ttl = ttl_s if ttl_s is not None else 3 * interval_s
    failing = False
    done = 0
    while beats is None or done < beats:
        try:
            async with asyncio.timeout(interval_s):
                await beat(r, worker, instance, ttl_s=ttl, now=clock())
        except (StoreError, TimeoutError) as exc:
            if not failing:
                log.warning("heartbeat_failing", extra={"worker": worker, "error": str(exc)})
            failing = True
        else:
            if failing:
                log.info("heartbeat_recovered", extra={"worker": worker})
            failing = False
        done += 1
        if beats is None or done < beats:
            await asyncio.sleep(interval_s)


async def fresh_heartbeats(r: aioredis.Redis, *, max_rounds: int = 1000) -> dict[str, float]:
    """``worker:instance`` -> time of its last beat, for every unexpired heartbeat.

    SCAN is bounded by ``max_rounds`` rounds of COUNT 1000 keys (a million keys).
    """
    names: list[bytes | str] = []
    cursor = 0
    with translate_errors("heartbeats"):
        for _ in range(max_rounds):
            cursor, batch = await r.scan(cursor, match=keys.heartbeats_pattern(), count=SCAN_COUNT)
            names.extend(batch)
            if cursor == 0:
                break
        else:
            log.warning("heartbeat_scan_truncated", extra={"rounds": max_rounds})
        values = await r.mget(names) if names else []
    return {
        keys.heartbeat_id(name): float(value)
        for name, value in zip(names, values, strict=True)
        if value is not None
    }
