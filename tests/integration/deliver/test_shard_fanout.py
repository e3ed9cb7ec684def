"""Sharded fan-out: one alert's deliveries split over the deliverer replicas by subscription.

Real pieces: the suite's Redis-protocol server, an aiohttp receiver on 127.0.0.1, the routing
dispatcher and two shard dispatchers running as they do in ``notifier dispatch``. Every
subscription gets every alert exactly once and in order; both replicas deliver a share of each
alert; routing an alert again adds it to no shard twice; a replica that goes away leaves its
shards to the other, which delivers what is left without repeating what was delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.entries import alert_fields
from notifier.bus.shards import Router, shard_partitions
from notifier.bus.subscriptions import SubscriptionStore
from notifier.settings import Settings
from tests.integration.deliver.test_delivery_support import (
    Receiver,
    dispatching,
    eventually,
    make_alert,
    publish,
    receiving,
    settings_for,
    subscribe,
)
from workers.deliver.send import build_channels, open_session
from workers.deliver.shards import ShardDispatcher

SHARDS = 4
SUBS = 24


def sharded(redis_url: str) -> Settings:
    settings = settings_for(redis_url)
    delivery = settings.delivery.model_copy(update={"shards": SHARDS})
    return settings.model_copy(update={"delivery": delivery})


@contextlib.asynccontextmanager
async def delivering(r: Redis, settings: Settings, instance: str) -> AsyncIterator[ShardDispatcher]:
    """A shard dispatcher running in the background; stopped at the end."""
    async with open_session(settings) as session:
        d = ShardDispatcher(
            r, settings, instance=instance, channels=build_channels(session, settings)
        )
        stop = asyncio.Event()
        task = asyncio.create_task(d.run(stop.is_set))
        try:
            yield d
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)


def received(rec: Receiver) -> dict[str, list[str]]:
    """Alert ids each subscription (its hook path) received, in arrival order."""
    out: dict[str, list[str]] = {}
    for path, _, body in rec.seen:
        out.setdefault(path, []).append(json.loads(body)["id"])
    return out


async def test_one_alert_is_fanned_out_by_both_replicas_once_each_in_order(
    redis: Redis, redis_url: str
) -> None:
    settings = sharded(redis_url)
    store = SubscriptionStore(redis)
    async with receiving() as rec:
        for i in range(SUBS):
            await subscribe(store, channel="webhook", url=rec.url(f"/hook/{i}"), teams=["Atalanta"])
        alerts = [make_alert(n) for n in (1, 2, 3)]
        async with (
            delivering(redis, settings, "a") as a,
            delivering(redis, settings, "b") as b,
            dispatching(redis, settings, "router"),
        ):
            await eventually(lambda: _split(a, b), within=5)
            for alert in alerts:
                await publish(redis, alert)
            await rec.wait_for(lambda: len(rec.seen) == SUBS * 3, within=10)
            await asyncio.sleep(0.2)  # a duplicate would arrive now
        by_sub = received(rec)
        assert len(by_sub) == SUBS
        wrong = {sub: ids for sub, ids in by_sub.items() if ids != [x.id for x in alerts]}
        assert not wrong, wrong
        assert len(rec.seen) == SUBS * 3
        assert a.owned | b.owned == set(shard_partitions(SHARDS)) and a.owned and b.owned
        for p in shard_partitions(SHARDS):
            assert await redis.xlen(keys.deliver(p)) == 3
        again = await Router(redis, settings).route(alerts[0].id, _fields(alerts[0]))
        assert again == 0  # routed before: no shard gets it twice


async def test_a_replica_gone_leaves_its_shards_to_the_other(redis: Redis, redis_url: str) -> None:
    settings = sharded(redis_url)
    store = SubscriptionStore(redis)
    async with receiving() as rec:
        for i in range(SUBS):
            await subscribe(store, channel="webhook", url=rec.url(f"/hook/{i}"), teams=["Atalanta"])
        async with delivering(redis, settings, "a") as a, dispatching(redis, settings, "router"):
            async with delivering(redis, settings, "b") as b:
                await eventually(lambda: _split(a, b), within=5)
                await publish(redis, make_alert(1))
                await rec.wait_for(lambda: len(rec.seen) == SUBS, within=10)
            await publish(redis, make_alert(2))  # b is gone: a takes its shards over
            await rec.wait_for(lambda: len(rec.seen) == SUBS * 2, within=10)
            assert a.owned == set(shard_partitions(SHARDS))
        assert all(ids == [make_alert(1).id, make_alert(2).id] for ids in received(rec).values())


async def _split(a: ShardDispatcher, b: ShardDispatcher) -> bool:
    return len(a.owned) == len(b.owned) == SHARDS // 2


def _fields(alert: object) -> dict[bytes, bytes]:
    return {k.encode(): v.encode() for k, v in alert_fields(alert).items()}  # type: ignore[arg-type]
