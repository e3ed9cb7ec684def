"""A dispatcher that gives a partition back to a newly arrived replica (fair share) while one of
its deliveries is still on the wire must not let the newcomer deliver the same alert again.
(Found by reading the chaos runs' logs: every restart of a dispatcher rebalances partitions.)
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from redis.asyncio import Redis

from notifier.bus.subscriptions import SubscriptionStore
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


async def test_a_partition_given_back_mid_delivery_is_not_delivered_twice(
    redis: Redis, redis_url: str
) -> None:
    async def slow(request: web.Request, body: bytes) -> web.StreamResponse:
        await asyncio.sleep(1.0)  # on the wire while the partition changes hands
        return web.Response(status=204)

    async with receiving(slow) as rec:
        settings = partitioned(settings_for(redis_url), 2, 1000)
        await subscribe(SubscriptionStore(redis), channel="webhook", url=rec.url("/hook"))
        async with dispatching(redis, settings, "d1") as first:
            await eventually(lambda: owns(first, {0, 1}))
            await publish(redis, make_alert(), p=1)  # the partition d1 gives back first
            await rec.wait_for(lambda: len(rec.seen) == 1)
            async with dispatching(redis, settings, "d2") as second:
                await eventually(lambda: owns(second, {1}), within=5)
                await asyncio.sleep(1.5)  # the first delivery answers; a second would arrive
            assert rec.ids().most_common(1)[0][1] == 1, rec.ids()
