"""Retry writes are fenced by the partition lease: a dispatcher that lost its partition (paused
past its lease, cut off) must not write a retry head or queue behind the new owner's back, or
the new owner's later deliveries would be overtaken by it (out of order) or its head replaced
(lost). Suspected from a chaos run that had one alert out of order after a dispatcher pause.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiohttp import web
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.subscriptions import SubscriptionStore
from notifier.errors import LeaseLostError
from tests.integration.deliver.test_delivery_support import (
    dispatching,
    eventually,
    make_alert,
    owns,
    partitioned,
    publish,
    receiving,
    settings_for,
    subscribe,
)
from workers.deliver.dispatcher import Dispatcher
from workers.deliver.retry import RetryJob, RetryStore
from workers.deliver.send import build_channels, open_session

LEASE = keys.partition_lease(0, "dispatcher")


async def retry_keys(r: Redis) -> dict[str, int]:
    """How much retry state partition 0 holds."""
    return {
        "due": await r.zcard(keys.retry_due(0)),
        "jobs": await r.hlen(keys.retry_jobs(0)),
        "queued": await r.llen(keys.retry_queue(0, "sub-1")),
    }


async def test_a_lost_lease_refuses_every_retry_write_and_writes_nothing(redis: Redis) -> None:
    store = RetryStore(redis, alert_ttl_s=60, mark_ttl_s=60)
    alert = make_alert()
    now = int(datetime.now(UTC).timestamp() * 1000)
    await redis.set(LEASE, "d2:7")  # the new owner's
    stale = (LEASE, "d1:6")
    with pytest.raises(LeaseLostError):
        await store.schedule(0, alert, RetryJob("sub-1", alert.id, 1, now), now, fence=stale)
    with pytest.raises(LeaseLostError):
        await store.enqueue(0, alert, "sub-1", now, fence=stale)
    with pytest.raises(LeaseLostError):
        await store.advance(0, "sub-1", alert.id, now, fence=stale)
    assert await retry_keys(redis) == {"due": 0, "jobs": 0, "queued": 0}
    assert not await redis.exists(keys.retry_alert(0, alert.id))

    held = (LEASE, "d2:7")
    await store.schedule(0, alert, RetryJob("sub-1", alert.id, 1, now), now, fence=held)
    assert await store.enqueue(0, make_alert(2), "sub-1", now, fence=held) is False  # queued
    assert await retry_keys(redis) == {"due": 1, "jobs": 1, "queued": 1}
    assert await store.advance(0, "sub-1", alert.id, now, fence=held) == make_alert(2).id


async def test_a_dispatcher_that_lost_its_partition_mid_delivery_leaves_the_retry_to_the_owner(
    redis: Redis, redis_url: str
) -> None:
    """The first try fails while the partition changes hands: the stale dispatcher writes no
    retry head and does not ack, so the alert stays pending for the new owner."""
    lost = asyncio.Event()

    async def failing_after_the_handover(request: web.Request, body: bytes) -> web.Response:
        await redis.set(LEASE, "someone-else:99")  # the lease lapsed and was taken meanwhile
        lost.set()
        return web.Response(status=503)

    async with receiving(failing_after_the_handover) as rec:
        settings = partitioned(settings_for(redis_url), 1, 10_000)
        await subscribe(SubscriptionStore(redis), channel="webhook", url=rec.url("/hook"))
        async with dispatching(redis, settings, "d1") as d1:
            await eventually(lambda: owns(d1, {0}))
            await publish(redis, make_alert(), p=0)
            await asyncio.wait_for(lost.wait(), 5)
            await eventually(lambda: _settled(d1))
            assert await retry_keys(redis) == {"due": 0, "jobs": 0, "queued": 0}
            pending = await redis.xpending(keys.alerts(0), keys.GROUP_DISPATCHER)
            assert pending["pending"] == 1, "left for the new owner"
        assert len(rec.seen) == 1


async def _settled(dispatcher: Dispatcher) -> bool:
    """No fan-out of the dispatcher is under way."""
    return not dispatcher._inflight


async def test_nothing_is_sent_once_the_lease_is_not_surely_held(
    redis: Redis, redis_url: str
) -> None:
    """A send cannot be fenced in Redis: a dispatcher past its lease's local deadline (it was
    paused: another replica may hold the partition by now) sends nothing; renewed, it sends."""
    async with receiving() as rec:
        settings = partitioned(settings_for(redis_url), 1, 10_000)
        await subscribe(SubscriptionStore(redis), channel="webhook", url=rec.url("/hook"))
        async with open_session(settings) as session:
            d = Dispatcher(
                redis, settings, instance="d1", channels=build_channels(session, settings)
            )
            await d.claim_partitions(force=True)
            assert d.owned == {0}
            alert = make_alert()
            subs = await d.subscriptions.matching(alert)
            d.leases.until[LEASE] = 0.0  # woke past the deadline
            with pytest.raises(LeaseLostError):
                await d.engine.fan_out(0, alert, subs, d.engine.tickets(0, subs))
            assert rec.seen == []
            await d.claim_partitions(force=True)  # renewed: the lease was still ours
            outcomes = await d.engine.fan_out(0, alert, subs, d.engine.tickets(0, subs))
            assert outcomes["delivered"] == 1
            assert len(rec.seen) == 1
            await d.leases.release_all()
