"""Matching an alert against the subscription store, whole or by fan-out shard.

Real pieces: the suite's Redis-protocol server. A process holding many shards reads an alert's
index union once (kept while the store's version stays the same, split by shard); any change
of a subscription (created, disabled, deleted, its follows changed) is seen by the next match,
and the records are read again only after such a change.
"""

from __future__ import annotations

from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.subscriptions import Subscription
from tests.integration.deliver.test_delivery_support import make_alert, subscribe

SHARDS = 8


async def by_shard(store: SubscriptionStore, n: int = 1) -> list[list[str]]:
    alert = make_alert(n)
    return [[s.id for s in await store.matching(alert, (i, SHARDS))] for i in range(SHARDS)]


async def calls(r: Redis, command: str = "sunion") -> int:
    stats = await r.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


async def test_shards_split_the_match_and_share_one_read_of_the_indexes(redis: Redis) -> None:
    store = SubscriptionStore(redis)
    parsed: list[str] = []
    store.on_parse = lambda sub: parsed.append(sub.id)
    subs = [
        await subscribe(store, channel="webhook", url=f"https://h.example/{i}", teams=["Atalanta"])
        for i in range(40)
    ]
    await subscribe(store, channel="webhook", url="https://h.example/x", teams=["Roma"])
    before, mgets = await calls(redis), await calls(redis, "mget")
    split = await by_shard(store)
    assert await calls(redis) == before + 1, "eight shards, one read of the index union"
    assert await calls(redis, "mget") - mgets == sum(1 for ids in split if ids)
    assert sorted(i for ids in split for i in ids) == sorted(s.id for s in subs)
    for shard, ids in enumerate(split):
        assert ids == sorted(ids)
        assert all(keys.shard_of(i, SHARDS) == shard for i in ids)
    whole = [s.id for s in await store.matching(make_alert(1))]
    assert whole == sorted(s.id for s in subs)
    mgets = await calls(redis, "mget")
    assert await by_shard(store, 2) == split  # another alert of the same match: the same union
    assert await calls(redis) == before + 2, "the whole match is a split of its own"
    assert await calls(redis, "mget") == mgets, "nothing changed: the records are not read again"
    assert sorted(parsed) == sorted(s.id for s in subs), "each record parsed (and told) once"
    await store.disable(subs[0].id, "gone")
    assert subs[0].id not in [i for ids in await by_shard(store, 3) for i in ids]
    assert await calls(redis) == before + 3 and await calls(redis, "mget") > mgets


async def test_every_change_is_seen_by_the_next_match(redis: Redis) -> None:
    store = SubscriptionStore(redis)
    subs = [
        await subscribe(store, channel="webhook", url=f"https://h.example/{i}", teams=["Atalanta"])
        for i in range(12)
    ]

    async def matched() -> set[str]:
        return {i for ids in await by_shard(store) for i in ids}

    assert await matched() == {s.id for s in subs}
    new = await subscribe(store, channel="webhook", url="https://h.example/n", teams=["Atalanta"])
    assert await matched() == {s.id for s in [*subs, new]}
    assert await store.disable(subs[0].id, "gone")
    assert await store.delete(subs[1])

    def elsewhere(sub: Subscription) -> Subscription:
        spec = sub.spec.model_copy(update={"teams": ["Roma"]})
        return sub.model_copy(update={"spec": spec})

    assert await store.update(subs[2].id, elsewhere) is not None
    assert await matched() == {s.id for s in [*subs[3:], new]}
    assert await store.update(subs[2].id, lambda s: s.model_copy(update={"spec": subs[2].spec}))
    assert await matched() == {s.id for s in [subs[2], *subs[3:], new]}
