"""Issue 15 #11 replayed: a finished match's keys and index entries go after the retention.

Each match used to leave its watch and tie index entries and snapshot, state, done and tie keys
without a TTL, forever; its idempotency marks for a week and its stream entries until MAXLEN.
Here: after ``retention_hours`` they are deleted, a tie's definition only once no followed
match names it, a match still followed is left alone, a match a stage has not settled waits,
and the streams keep the retention, never dropping what a stage has not settled.
"""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from notifier.bus import keys, streams
from notifier.bus.lease import Lease
from notifier.bus.retention import consumed, mark_finished, match_keys, redis_ms, sweep, trim
from notifier.bus.watches import add_watch
from notifier.domain.alerts import alert_id
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


async def _fold(
    r: Redis, p: int, match: str, made: dict[str, int], *, settle: bool = True
) -> list[str]:
    """What the aggregator leaves for a match's events (``made``: alerts per event): its marks,
    its alert entries (read and acked by the dispatcher if ``settle``), the alerts' delivery
    and hold marks."""
    await streams.ensure_group(r, keys.alerts(p), keys.GROUP_DISPATCHER)
    ids = []
    for event, n in made.items():
        await r.hset(keys.folded(p, match), event, n)
        for i in range(n):
            alert = alert_id(event, i)
            entry = await streams.publish(r, keys.alerts(p), {"id": alert}, maxlen=1000)
            await r.hset(keys.folded(p, match), "^", entry)
            await r.hset(keys.delivered(p, alert), mapping={"sub_1": 1, "sink:console": 1})
            await r.hset(keys.held_marks(p, alert), "sub_2", 1)
            ids.append(alert)
    await r.expire(keys.folded(p, match), 3600)
    if settle:
        read = await r.xreadgroup(keys.GROUP_DISPATCHER, "disp", {keys.alerts(p): ">"})
        for _, rows in read:
            await r.xack(keys.alerts(p), keys.GROUP_DISPATCHER, *[i for i, _ in rows])
    return ids


async def _marks(r: Redis, p: int, match: str, alerts: list[str]) -> list[str]:
    names = [keys.folded(p, match)]
    names += [keys.delivered(p, a) for a in alerts] + [keys.held_marks(p, a) for a in alerts]
    return [n for n in names if await r.exists(n)]


async def test_a_swept_match_takes_its_marks_and_lease_counter_along(redis: Redis) -> None:
    """Issue 15's soak: the idempotency marks (the aggregator's per match, the deliveries' and
    holds' per alert) and the match lease's token counter go with the match, not a week later;
    a delivery mark of an alert a retry line is on now stays (its head may have just been sent)."""
    match = await _follow(redis, "7", None)
    p = keys.partition_of(match, PARTITIONS)
    alerts = await _fold(redis, p, match, {f"{match}:goal:1": 2, f"{match}:phase:ft": 1})
    assert alerts[1] == f"{match}:goal:1#1"
    await streams.ensure_group(redis, keys.events(p), keys.GROUP_AGGREGATOR)
    lease = keys.match_lease(p, match)
    assert await Lease.acquire(redis, lease, "poller", 60_000) is not None
    await redis.hset(keys.retry_jobs(p), "sub_3", orjson.dumps({"alert": alerts[0]}))
    now = await redis_ms(redis)
    await mark_finished(redis, match)
    assert abs((await redis.zscore(keys.finished(), match) or 0) - now) < 5_000  # Redis's clock

    assert await sweep(redis, now + 73 * HOUR_MS, 72 * HOUR_MS, PARTITIONS) == 1
    assert await _marks(redis, p, match, alerts) == [keys.delivered(p, alerts[0])]
    # Still held: its counter must outlive the holder's token, then lapse (not in 30 days).
    assert 60_000 < await redis.pttl(keys.lease_token(lease)) <= 120_000
    assert await redis.hget(keys.delivered(p, alerts[0]), "sink:console") == b"1"

    other = await _follow(redis, "8", None)
    q = keys.partition_of(other, PARTITIONS)
    await _fold(redis, q, other, {f"{other}:goal:1": 1})
    assert await Lease.acquire(redis, keys.match_lease(q, other), "poller", 60_000) is not None
    await Lease.release(redis, keys.match_lease(q, other), "poller", 1)  # released at its end
    await mark_finished(redis, other, now)
    assert await sweep(redis, now + 73 * HOUR_MS, 72 * HOUR_MS, PARTITIONS) == 1
    assert not await redis.exists(keys.lease_token(keys.match_lease(q, other)))


async def test_a_match_a_stage_has_not_settled_waits_for_a_later_sweep(redis: Redis) -> None:
    """An event of the match still pending with the aggregator (from before its end), or an
    alert up to its last one still pending with the dispatcher: its marks may still be needed
    (a redelivery, a take-over), so the match and its marks stay until the stage has acked."""
    match = await _follow(redis, "9", None)
    p = keys.partition_of(match, PARTITIONS)
    await streams.ensure_group(redis, keys.events(p), keys.GROUP_AGGREGATOR)
    event = await streams.publish(redis, keys.events(p), {"id": "e"}, maxlen=1000)
    await redis.xreadgroup(keys.GROUP_AGGREGATOR, "agg", {keys.events(p): ">"})  # pending
    alerts = await _fold(redis, p, match, {f"{match}:goal:1": 1}, settle=False)
    await redis.xreadgroup(keys.GROUP_DISPATCHER, "disp", {keys.alerts(p): ">"})  # pending
    ended = await redis_ms(redis)
    await mark_finished(redis, match, ended)
    later = ended + 73 * HOUR_MS

    assert await sweep(redis, later, 72 * HOUR_MS, PARTITIONS) == 0
    await redis.xack(keys.events(p), keys.GROUP_AGGREGATOR, event)
    assert await sweep(redis, later, 72 * HOUR_MS, PARTITIONS) == 0  # the alert still waits
    assert len(await _marks(redis, p, match, alerts)) == 3
    assert await redis.zscore(keys.finished(), match) is not None
    entry = (await redis.xrange(keys.alerts(p)))[-1][0]
    await redis.xack(keys.alerts(p), keys.GROUP_DISPATCHER, entry)
    assert await sweep(redis, later, 72 * HOUR_MS, PARTITIONS) == 1
    assert await _marks(redis, p, match, alerts) == []


async def test_streams_keep_only_the_retention_and_never_what_a_stage_has_not_settled(
    redis: Redis,
) -> None:
    """XTRIM MINID by time: entries older than the retention go once their group has acked
    them; an entry pending (a take-over claims it) or not yet read stays, and all after it."""
    stream, group = keys.alerts(0), keys.GROUP_DISPATCHER
    await streams.ensure_group(redis, stream, group)
    ids = [await streams.publish(redis, stream, {"n": str(i)}, maxlen=1000) for i in range(6)]
    await redis.xreadgroup(group, "c", {stream: ">"}, count=4)  # 0-3 read, 4-5 unread
    await redis.xack(stream, group, ids[0], ids[2], ids[3])  # 1 pending
    now = await redis_ms(redis) + 10 * HOUR_MS
    where = [(stream, group)]

    assert await trim(redis, now, HOUR_MS, where) == 1  # 0; 1 is pending
    assert [i for i, _ in await redis.xrange(stream)] == [i.encode() for i in ids[1:]]
    await redis.xack(stream, group, ids[1])
    assert await trim(redis, now, HOUR_MS, where) == 3  # 1-3; 4 and 5 were never read
    await redis.xreadgroup(group, "c", {stream: ">"})
    assert await trim(redis, now, 24 * HOUR_MS, where) == 0  # pending, and within the retention
    await redis.xack(stream, group, ids[4], ids[5])
    assert await trim(redis, now, 24 * HOUR_MS, where) == 0  # within the retention
    assert await trim(redis, now, HOUR_MS, where) == 2
    assert await trim(redis, now, HOUR_MS, [(keys.events(5), keys.GROUP_AGGREGATOR)]) == 0
    assert consumed(2, 1) == [
        (keys.events(0), keys.GROUP_AGGREGATOR),
        (keys.alerts(0), keys.GROUP_DISPATCHER),
        (keys.events(1), keys.GROUP_AGGREGATOR),
        (keys.alerts(1), keys.GROUP_DISPATCHER),
        (keys.deliver(keys.SHARD_BASE), keys.GROUP_DELIVERER),
    ]
