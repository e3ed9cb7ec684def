"""The aggregator reads its next batch while it folds this one (``notifier.bus.partition_reads``),
and folds a partition's next batch as soon as its commit is done (``notifier.bus.under_way``).

What is read ahead is what the next round would have read; a batch that fails, a Redis error
and a loop that ends with a read under way leave the entries read ahead in the pending list,
read back in order: every alert once, in the order of the one-by-one fold, nothing left behind.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from notifier.bus import keys, streams
from notifier.bus.consumer import Batch
from notifier.bus.entries import event_fields
from notifier.domain.alerts import ALERT
from notifier.domain.events import Event
from notifier.errors import StoreError
from notifier.settings import Settings
from tests.integration.fold.test_fold import (
    NOW,
    emitted,
    one_by_one,
    publish_all,
    scenario_events,
    settings,
)
from workers.fold import aggregator
from workers.fold.aggregator import Aggregator

pytestmark = pytest.mark.integration
BATCH = 8


def small_batches() -> Settings:
    """One partition, batches of ``BATCH``: the scenario takes many rounds."""
    base = settings()
    return base.model_copy(update={"streams": base.streams.model_copy(update={"batch": BATCH})})


class Watched:
    """An aggregator whose reads are recorded: how many batches it had read and handled when
    each read began, and how many entries it brought."""

    def __init__(self, redis: Redis, monkeypatch: pytest.MonkeyPatch, s: Settings) -> None:
        self.agg = Aggregator(redis, s, instance="a", now=lambda: NOW)
        self.handled = 0
        self.reads: list[tuple[int, int, int]] = []  # (read before, handled before, entries)
        real_handle, real_read = self.agg.handle, streams.read_group

        async def handle(p: int, batch: Batch, lease: str, redelivered: bool) -> None:
            await real_handle(p, batch, lease, redelivered)
            self.handled += 1

        async def read(*args: Any, **kwargs: Any) -> list[streams.Entry]:
            before = (sum(1 for _, _, n in self.reads if n), self.handled)
            got = await real_read(*args, **kwargs)
            self.reads.append((*before, len(got)))
            return got

        monkeypatch.setattr(self.agg, "handle", handle)
        monkeypatch.setattr(streams, "read_group", read)

    def read_ahead(self) -> int:
        """Entries brought by reads that began before the batch read last was handled."""
        return sum(n for read, handled, n in self.reads if handled < read)


def failing_commit(monkeypatch: pytest.MonkeyPatch, call: int, error: Exception) -> None:
    """The aggregator's ``call``-th commit raises ``error`` (nothing written)."""
    real = aggregator.commit_fold_batch
    calls: list[int] = []

    async def flaky(*args: Any, **kwargs: Any) -> list[int]:
        calls.append(1)
        if len(calls) == call:
            raise error
        return await real(*args, **kwargs)

    monkeypatch.setattr(aggregator, "commit_fold_batch", flaky)


async def published(redis: Redis) -> tuple[Settings, list[Event]]:
    """The scripted match's events in partition 0, and settings of small batches."""
    events = scenario_events()
    await publish_all(redis, events)
    return small_batches(), events


async def folded_in_order(redis: Redis, s: Settings) -> None:
    events = scenario_events()
    assert [a.id for a in await emitted(redis)] == one_by_one(events, s)
    assert await streams.lag(redis, keys.events(0), keys.GROUP_AGGREGATOR) == (0, 0)
    assert await redis.xlen(keys.dlq("aggregator")) == 0


async def test_the_next_batch_is_read_while_this_one_is_folded(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, events = await published(redis)
    watched = Watched(redis, monkeypatch, s)
    assert await watched.agg.drain() == len(events)
    # Every batch after the first was read before the one before it was folded.
    assert watched.read_ahead() == len(events) - BATCH
    await folded_in_order(redis, s)


async def test_entries_that_trickle_in_are_not_read_ahead(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that is not full (no backlog: a live day's few events a poll) is handled
    before the next read, which then takes what arrived meanwhile as one batch."""
    s = small_batches()
    events = scenario_events()
    watched = Watched(redis, monkeypatch, s)
    for start in range(0, len(events), BATCH - 3):
        await publish_all(redis, events[start : start + BATCH - 3])
        await watched.agg.drain()
    assert watched.read_ahead() == 0
    assert all(handled == read for read, handled, _ in watched.reads)
    await folded_in_order(redis, s)


async def test_a_batch_read_ahead_waits_behind_a_batch_that_failed(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second batch's commit fails: the third, read ahead meanwhile, is not folded before
    it; both are read back from the pending list, in order."""
    s, _ = await published(redis)
    failing_commit(monkeypatch, 2, RuntimeError("boom"))
    watched = Watched(redis, monkeypatch, s)
    await watched.agg.drain()
    assert watched.read_ahead() > 0
    await folded_in_order(redis, s)


async def test_a_redis_error_ends_the_loop_with_no_read_left_under_way(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, _ = await published(redis)
    failing_commit(monkeypatch, 3, RedisConnectionError("connection reset"))
    watched = Watched(redis, monkeypatch, s)
    before = asyncio.all_tasks()
    with pytest.raises(StoreError):
        await watched.agg.drain()
    assert asyncio.all_tasks() <= before  # the read ahead was settled, not left running
    assert watched.agg.backlog == {0: True}  # what it may have read is read back first
    assert await watched.agg.drain() > 0
    await folded_in_order(redis, s)


@pytest.mark.parametrize("rounds", [1, 2, 3])
async def test_a_loop_that_ends_with_a_read_ahead_leaves_its_entries_to_be_read_back(
    redis: Redis, monkeypatch: pytest.MonkeyPatch, rounds: int
) -> None:
    s, events = await published(redis)
    agg = Watched(redis, monkeypatch, s).agg
    before = asyncio.all_tasks()
    assert await agg.drain(max_rounds=rounds) == rounds * BATCH
    assert asyncio.all_tasks() <= before
    assert agg.backlog == {0: True}
    assert await agg.drain() == len(events) - rounds * BATCH
    await folded_in_order(redis, s)


async def test_a_partition_given_up_meanwhile_leaves_its_batch_read_ahead_to_its_next_holder(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease of the partition lapses after a batch was folded and its successor read
    ahead: the old holder does not fold the batch read ahead; the new one takes it over with
    everything pending, in order."""
    s, events = await published(redis)
    watched = Watched(redis, monkeypatch, s)
    a = watched.agg
    assert await a.step(block_ms=1, ahead=True) == BATCH
    await a.under_way.finish()  # the first batch is folded
    ahead = a._ahead
    assert ahead is not None  # the next batch is being read...
    await asyncio.wait({ahead})  # ...and has been: its entries are pending to a
    a.leases.until.clear()  # a is paused past its lease...
    await redis.delete(keys.partition_lease(0, "aggregator"))  # ...which lapses,
    b = Aggregator(redis, s, instance="b", now=lambda: NOW)
    await b.claim_partitions(force=True)  # and b takes the partition over
    assert b.owned == {0}
    assert await a.step(block_ms=1, ahead=True) == BATCH  # a wakes: read ahead, not folded
    assert a.owned == set()
    assert len(await emitted(redis)) == len(one_by_one(events[:BATCH], s))
    assert await b.drain() == len(events) - BATCH
    await folded_in_order(redis, s)


async def test_partitions_go_on_side_by_side_and_a_failed_batch_holds_back_its_own_only(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four matches on four partitions, folded in rounds that overlap; one commit fails: every
    match's alerts are those of its one-by-one fold, in order, once."""
    base = small_batches()
    s = base.model_copy(update={"streams": base.streams.model_copy(update={"partitions": 4})})
    scenario = scenario_events()
    matches: dict[int, list[Event]] = {}
    for n in range(100):  # a match id for each partition
        match = f"api-football:{700_000 + n}"
        p = keys.partition_of(match, 4)
        if p not in matches:
            matches[p] = [
                e.model_copy(update={"match": match, "id": e.id.replace(e.match, match)})
                for e in scenario
            ]
    assert sorted(matches) == [0, 1, 2, 3]
    for p, events in matches.items():
        for e in events:
            await streams.publish(redis, keys.events(p), event_fields(e), maxlen=10_000)
    failing_commit(monkeypatch, 5, RuntimeError("boom"))
    agg = Aggregator(redis, s, instance="a", now=lambda: NOW)
    assert await agg.drain() >= 4 * len(scenario)
    for p, events in matches.items():
        got = [ALERT.validate_json(f[b"body"]).id for _, f in await redis.xrange(keys.alerts(p))]
        assert got == one_by_one(events, s)
        assert await streams.lag(redis, keys.events(p), keys.GROUP_AGGREGATOR) == (0, 0)
    assert await redis.xlen(keys.dlq("aggregator")) == 0
