"""A consumer paused past its lease (GC, SIGSTOP, a stalled host) takes nothing from the stream.

The server answers a blocked XREADGROUP even while its client is stopped. A read still blocked
when the partition changed hands would move new entries into the paused replica's pending list:
the new holder never sees them (until some later take-over), and the paused replica, when it
wakes, would handle them behind the new holder's back, out of order. Found by the full chaos run
(two alerts out of order for the subscribers of every match, after a dispatcher's SIGSTOP).
Each read now blocks no longer than the lease is surely ours (:mod:`notifier.bus.holder`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import pytest
from aiohttp import web
from redis.asyncio import Redis

from notifier.bus import keys, streams
from notifier.bus.codec import text
from notifier.bus.consumer import Batch, Change, PartitionConsumer
from notifier.bus.entries import alert_fields, event_fields
from notifier.bus.holder import Holder
from notifier.bus.subscriptions import SubscriptionStore
from notifier.settings import Settings
from tests.chaos.procs import settings_env
from tests.integration.deliver.test_delivery_support import (
    eventually,
    json_of,
    make_alert,
    partitioned,
    publish,
    receiving,
    settings_for,
    subscribe,
)
from tests.integration.fold.test_fold import scenario_events
from workers.deliver.dispatcher import Dispatcher
from workers.deliver.send import build_channels, open_session
from workers.fold.aggregator import Aggregator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
TTL_MS = 600
LEASE = keys.partition_lease(0, "aggregator")


def paused_settings(redis_url: str) -> Settings:
    """One partition, a short lease, reads that would block for 10 s."""
    base = Settings.load(None, redis_url=redis_url)
    tuned = base.streams.model_copy(
        update={"partitions": 1, "lease_ttl_ms": TTL_MS, "block_ms": 10_000}
    )
    return base.model_copy(update={"streams": tuned})


async def start_aggregator(
    settings: Settings, redis_url: str, workdir: Path
) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env.update(settings_env(settings))
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "REDIS_URL": redis_url,
            "NOTIFIER_CONFIG": os.devnull,
            "NOTIFIER_DATA_DIR": str(workdir),
            "NOTIFIER_LOG_LEVEL": "WARNING",
        }
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workers.cli.main",
        "aggregate",
        cwd=workdir,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_a_stopped_aggregator_takes_nothing_after_its_lease_lapsed(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    settings = paused_settings(redis_url)
    proc = await start_aggregator(settings, redis_url, tmp_path)
    try:
        await eventually(lambda: redis.exists(LEASE), within=20)
        owner = (await redis.get(LEASE)).decode().rsplit(":", 1)[0]
        await asyncio.sleep(0.5)  # idle: blocked in a read of the empty stream
        os.kill(proc.pid, signal.SIGSTOP)
        await eventually(lambda: _lapsed(redis), within=5)

        successor = Aggregator(redis, settings, instance="successor")
        await successor.step(block_ms=1)
        assert successor.owned == {0}
        event = scenario_events()[0]
        await streams.publish(redis, keys.events(0), event_fields(event), maxlen=1000)
        await asyncio.sleep(0.3)  # time for the server to answer any read still blocked
        pending = await redis.xpending(keys.events(0), keys.GROUP_AGGREGATOR)
        assert all(text(c["name"]) != owner for c in pending["consumers"]), pending

        assert await successor.drain(max_rounds=20) == 1, "the successor folds the event"
        assert await redis.xlen(keys.alerts(0)) >= 1
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        await proc.wait()


async def _lapsed(redis: Redis) -> bool:
    return not await redis.exists(LEASE)


class Recorder(PartitionConsumer):
    """A consumer that only records what it handles."""

    worker = "recorder"
    group = "recorders"

    def __init__(self, r: Redis, settings: Settings, *, instance: str) -> None:
        super().__init__(r, settings, instance=instance)
        self.handled: list[str] = []

    def stream(self, p: int) -> str:
        return keys.events(p)

    async def handle(self, p: int, batch: Batch, lease: str, redelivered: bool) -> None:
        await self.each(p, batch, lease, redelivered, self.record)

    async def record(self, p: int, entry_id: str, fields: dict[bytes, bytes], lease: str) -> None:
        self.handled.append(fields[b"n"].decode())
        await streams.ack(self.r, self.stream(p), self.group, entry_id)


def recorder_settings() -> Settings:
    base = Settings.load(None)
    return base.model_copy(
        update={
            "streams": base.streams.model_copy(update={"partitions": 1, "lease_ttl_ms": TTL_MS})
        }
    )


async def test_reads_block_no_longer_than_the_lease_is_sure(redis: Redis) -> None:
    settings = recorder_settings()
    consumer = Recorder(redis, settings, instance="r1")
    await consumer.claim_partitions(force=True)
    assert consumer.owned == {0}
    wait = consumer._wait_ms(10_000)
    assert 1 <= wait <= TTL_MS * 0.8
    consumer.leases.until[keys.partition_lease(0, "recorder")] = 0.0  # as after a long pause
    assert consumer._wait_ms(10_000) == 1


async def test_a_replica_that_woke_past_its_deadline_handles_nothing_it_read(
    redis: Redis,
) -> None:
    """A replica paused between a read and handling its batch, past its local deadline,
    handles none of it; if the lease is still its own in Redis (nobody took it), the next step
    renews it and handles the entries from the pending list, in order."""
    settings = recorder_settings()
    await streams.ensure_group(redis, keys.events(0), "recorders")
    consumer = Recorder(redis, settings, instance="r1")
    await consumer.claim_partitions(force=True)
    for n in range(3):
        await redis.xadd(keys.events(0), {"n": str(n)})
    key = keys.partition_lease(0, "recorder")
    read = consumer._read

    async def read_then_pause(block_ms: int | None) -> tuple[list[streams.Entry], bool]:
        got = await read(block_ms)
        consumer.leases.until[key] = 0.0  # the reply came; then a pause past the deadline
        return got

    consumer._read = read_then_pause  # type: ignore[method-assign]
    assert await consumer.step(block_ms=1) == 3  # read...
    assert consumer.handled == []  # ...but not one handled
    consumer._read = read  # type: ignore[method-assign]
    await consumer.drain(max_rounds=10)
    assert consumer.handled == ["0", "1", "2"]


async def test_entries_stranded_with_another_consumer_are_adopted(redis: Redis) -> None:
    """A stale reader's entries (it read after its lease lapsed) are taken by the holder."""
    settings = recorder_settings()
    await streams.ensure_group(redis, keys.events(0), "recorders")
    holder = Recorder(redis, settings, instance="holder")
    await holder.claim_partitions(force=True)
    await redis.xadd(keys.events(0), {"n": "0"})
    await redis.xreadgroup("recorders", "stale", {keys.events(0): ">"})  # the stale read
    await redis.xadd(keys.events(0), {"n": "1"})
    for _ in range(50):
        await holder.step(block_ms=1)
        if len(holder.handled) == 2:
            break
        await asyncio.sleep(0.05)
    assert sorted(holder.handled) == ["0", "1"]
    pending = await redis.xpending(keys.events(0), "recorders")
    assert pending["pending"] == 0


def test_the_local_deadline_is_short_of_the_ttl() -> None:
    holder = Holder(None, "x", 1000)  # type: ignore[arg-type]
    assert holder.sure_s == pytest.approx(0.8)
    assert holder.current("nothing") is None


async def test_a_dispatcher_unsure_of_its_lease_after_reading_its_pending_delivers_them_later(
    redis: Redis, redis_url: str
) -> None:
    """The dispatcher re-reads its own pending entries from a cursor (so running fan-outs are
    not read again). A batch of them left unhandled because the lease was not sure any more
    must be read again from the first, not from the cursor past it: found by the chaos run
    (two shoot-out kicks pending for minutes, delivered after the result)."""
    async with receiving() as rec:
        settings = partitioned(settings_for(redis_url), 1, 10_000)
        await subscribe(SubscriptionStore(redis), channel="webhook", url=rec.url("/hook"))
        for n in range(1, 4):
            await publish(redis, make_alert(n), p=0)
        await streams.ensure_group(redis, keys.alerts(0), keys.GROUP_DISPATCHER)
        await redis.xreadgroup(keys.GROUP_DISPATCHER, "gone", {keys.alerts(0): ">"})  # a dead one's
        async with open_session(settings) as session:
            d = Dispatcher(
                redis, settings, instance="d1", channels=build_channels(session, settings)
            )
            key = keys.partition_lease(0, "dispatcher")
            read = d._read
            paused = []

            async def read_then_pause(block_ms: int | None) -> tuple[list[streams.Entry], bool]:
                got = await read(block_ms)
                if got[0] and not paused:
                    paused.append(len(got[0]))
                    d.leases.until[key] = 0.0  # the reply came; then a pause past the deadline
                return got

            d._read = read_then_pause  # type: ignore[method-assign]
            await d.drain(max_rounds=50)
            await d.leases.release_all()
        assert paused == [3]
        got = [json_of(body)["id"] for _, _, body in rec.seen]
        assert got == [make_alert(n).id for n in (1, 2, 3)]


async def test_a_partition_taken_again_with_a_new_token_is_taken_over_in_full(
    redis: Redis,
) -> None:
    """Our lease lapsed (a Redis restart, a long pause) and we took it again: someone may have
    held it meanwhile, so what we knew of it is dropped and its pending entries are ours to
    handle first, as on any take-over. A plain renewal changes nothing."""
    settings = recorder_settings()
    await streams.ensure_group(redis, keys.events(0), "recorders")
    consumer = Recorder(redis, settings, instance="r1")
    changed: list[int] = []

    async def taken(p: int, change: Change) -> None:
        if change == "taken":
            changed.append(p)

    consumer.partition_event = taken  # type: ignore[method-assign]
    await consumer.claim_partitions(force=True)
    assert changed == [0]
    await consumer.claim_partitions(force=True)  # renewed: same token
    assert changed == [0]
    key = keys.partition_lease(0, "recorder")
    await redis.delete(key)  # lapsed; an interim holder read an entry, then died
    await redis.xadd(keys.events(0), {"n": "0"})
    await redis.xreadgroup("recorders", "interim", {keys.events(0): ">"})
    await redis.xadd(keys.events(0), {"n": "1"})
    await consumer.claim_partitions(force=True)  # taken again, with a new token
    assert changed == [0, 0]
    consumer._next_claim = float("inf")
    await consumer.drain(max_rounds=10)
    assert consumer.handled == ["0", "1"]  # the interim holder's entry first, in order


async def test_alerts_with_the_same_entry_id_in_two_partitions_are_both_delivered(
    redis: Redis, redis_url: str
) -> None:
    """Entry ids are per stream: the aggregator adding alerts to two partitions in the same
    millisecond gives both the same id. The dispatcher took the second for the first, still
    in flight, and left it pending until the next take-over (chaos seed 3: the lineups of one
    match delivered 47 s late, after its kick-off)."""
    both = asyncio.Event()
    got: list[str] = []

    async def hold_until_both(request: web.Request, body: bytes) -> web.Response:
        got.append(json_of(body)["id"])
        if len(got) == 2:
            both.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both.wait(), 1.0)
        return web.Response(status=204)

    async with receiving(hold_until_both) as rec:
        settings = partitioned(settings_for(redis_url), 2, 10_000)
        await subscribe(SubscriptionStore(redis), channel="webhook", url=rec.url("/hook"))
        for p, n in ((0, 1), (1, 2)):
            await redis.xadd(keys.alerts(p), alert_fields(make_alert(n)), id="1000-0")
        async with open_session(settings) as session:
            d = Dispatcher(
                redis, settings, instance="d1", channels=build_channels(session, settings)
            )
            await d.drain(max_rounds=20)
            await d.leases.release_all()
    assert sorted(got) == sorted([make_alert(1).id, make_alert(2).id])
    for p in (0, 1):
        pending = await redis.xpending(keys.alerts(p), keys.GROUP_DISPATCHER)
        assert pending["pending"] == 0
