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

from notifier.bus import keys
from notifier.bus.connect import is_cluster, translate_errors
from notifier.errors import StoreError

log = logging.getLogger("notifier.heartbeat")

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
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # Python 3.11's timeout can turn a cancel that lands as it expires into a
                # TimeoutError: the task was asked to stop, so stop.
                raise asyncio.CancelledError from exc
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

    SCAN (over every node of a cluster) is bounded to ``max_rounds`` times COUNT 1000 keys.
    """
    names: list[bytes | str] = []
    limit = max_rounds * SCAN_COUNT
    with translate_errors("heartbeats"):
        async for name in r.scan_iter(match=keys.heartbeats_pattern(), count=SCAN_COUNT):
            names.append(name)
            if len(names) >= limit:
                log.warning("heartbeat_scan_truncated", extra={"rounds": max_rounds})
                break
        values = await _values(r, names)
    return {
        keys.heartbeat_id(name): float(value)
        for name, value in zip(names, values, strict=True)
        if value is not None
    }


async def _values(r: aioredis.Redis, names: list[bytes | str]) -> list[bytes | str | None]:
    """GET of every key; on a cluster MGET per slot (heartbeat keys share no hash tag)."""
    if not names:
        return []
    if is_cluster(r):
        values: list[bytes | str | None] = await r.mget_nonatomic(names)  # type: ignore[attr-defined]
        return values
    return list(await r.mget(names))
