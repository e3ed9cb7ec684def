"""Issue 15 #11 replayed: a finished match's keys and index entries go after the retention.

Each match used to leave its watch and tie index entries and snapshot, state, done and tie keys
without a TTL, forever. Here: after ``retention_hours`` they are deleted, a tie's definition
only once no followed match names it, and a match still followed is left alone.
"""

from __future__ import annotations

from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.retention import mark_finished, match_keys, sweep
from notifier.bus.watches import add_watch
from notifier.domain.watch import Watch

HOUR_MS = 3_600_000
PARTITIONS = 3


async def _follow(r: Redis, match_id: str, tie: str | None) -> str:
    watch = Watch(provider="api-football", match_id=match_id, tie=tie)
    await add_watch(r, watch)
    p = keys.partition_of(tie or watch.key, PARTITIONS)
    for key in match_keys(p, watch.key):
        await r.set(key, "{}")
    if tie:
        await r.set(keys.tie(p, tie), "{}")
        await r.hset(keys.ties_index(), tie, "{}")
    return watch.key


async def _left(r: Redis, match: str, tie: str | None) -> list[str]:
    p = keys.partition_of(tie or match, PARTITIONS)
    found = [k for k in match_keys(p, match) if await r.exists(k)]
    if await r.hexists(keys.watch(), match):
        found.append("watch")
    return found


async def test_finished_matches_are_forgotten_after_the_retention(redis: Redis) -> None:
    first = await _follow(redis, "1", "t1")
    second = await _follow(redis, "2", "t1")  # the other leg, still to play
    other = await _follow(redis, "3", None)
    now = 100 * HOUR_MS
    await mark_finished(redis, first, now - 80 * HOUR_MS)
    await mark_finished(redis, other, now - 1 * HOUR_MS)  # within the retention
    await mark_finished(redis, other, now - 90 * HOUR_MS)  # a second mark keeps the first

    assert await sweep(redis, now, 72 * HOUR_MS, PARTITIONS) == 1
    assert await _left(redis, first, "t1") == []
    assert len(await _left(redis, other, None)) == 5  # ended an hour ago: kept
    assert len(await _left(redis, second, "t1")) == 5
    p = keys.partition_of("t1", PARTITIONS)
    assert await redis.exists(keys.tie(p, "t1"))  # the second leg still needs it

    await mark_finished(redis, second, now)
    assert await sweep(redis, now + 73 * HOUR_MS, 72 * HOUR_MS, PARTITIONS) == 2
    assert await _left(redis, second, "t1") == [] and await _left(redis, other, None) == []
    assert not await redis.exists(keys.tie(p, "t1"))
    assert not await redis.hexists(keys.ties_index(), "t1")
    assert await redis.zcard(keys.finished()) == 0
    assert await redis.hlen(keys.watch()) == 0
    assert await sweep(redis, now + 74 * HOUR_MS, 72 * HOUR_MS, PARTITIONS) == 0
