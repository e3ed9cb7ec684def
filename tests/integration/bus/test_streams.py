"""Consumer-group helpers against a real server: groups, dead consumers, DLQ, trimming, lag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.streams import (
    ack,
    claim_stale,
    dead_letter,
    decode_fields,
    delivery_count,
    encode_entry,
    ensure_group,
    lag,
    publish,
    read_group,
    read_own,
)

pytestmark = pytest.mark.integration

STREAM = keys.events(0)
GROUP = keys.GROUP_AGGREGATOR
MAXLEN = 1000


async def _publish(r: Redis, n: int, stream: str = STREAM) -> list[str]:
    return [
        await publish(r, stream, encode_entry(id=f"e{i}", n=i), maxlen=MAXLEN) for i in range(n)
    ]


def test_encode_and_decode_fields() -> None:
    at = datetime(2025, 3, 11, 21, 5, tzinfo=timezone(timedelta(hours=1)))
    encoded = encode_entry(id="g1", tie=None, minute=23, at=at, body=b"{}", final=True)
    assert encoded == {
        "id": "g1",
        "tie": "",
        "minute": "23",
        "at": "2025-03-11T20:05:00+00:00",
        "body": b"{}",
        "final": "1",
    }
    assert decode_fields({b"id": b"g1", b"raw": b"\xff"}) == {"id": "g1", "raw": "\ufffd"}
    with pytest.raises(ValueError, match="naive"):
        encode_entry(at=datetime(2025, 3, 11, 21, 5))


async def test_group_creation_is_idempotent_and_sees_earlier_entries(redis: Redis) -> None:
    [first] = await _publish(redis, 1)
    assert await ensure_group(redis, STREAM, GROUP) is True
    assert await ensure_group(redis, STREAM, GROUP) is False
    entries = await read_group(redis, [STREAM], GROUP, "c1", count=10, block_ms=0)
    assert [(s, i) for s, i, _ in entries] == [(STREAM, first)]
    assert decode_fields(entries[0][2]) == {"id": "e0", "n": "0"}


async def test_read_group_spans_streams_and_does_not_block_when_told(redis: Redis) -> None:
    other = keys.events(1)
    for stream in (STREAM, other):
        await ensure_group(redis, stream, GROUP)
        await _publish(redis, 2, stream)
    entries = await read_group(redis, [STREAM, other], GROUP, "c1", count=10, block_ms=0)
    assert sorted(s for s, _, _ in entries) == [STREAM, STREAM, other, other]
    assert await read_group(redis, [STREAM, other], GROUP, "c1", count=10, block_ms=0) == []
    assert await read_group(redis, [STREAM], GROUP, "c1", count=10, block_ms=20) == []


async def test_vanished_group_is_recreated(redis: Redis) -> None:
    assert await read_group(redis, [STREAM], GROUP, "c1", count=10, block_ms=0) == []
    assert await ensure_group(redis, STREAM, GROUP) is False
    assert await claim_stale(redis, keys.events(2), GROUP, "c1", min_idle_ms=0, count=5) == ([], [])


async def test_dead_consumers_entries_are_claimed_and_processed_once(redis: Redis) -> None:
    await ensure_group(redis, STREAM, GROUP)
    ids = await _publish(redis, 5)
    taken = await read_group(redis, [STREAM], GROUP, "dead", count=10, block_ms=0)
    assert [i for _, i, _ in taken] == ids
    assert await delivery_count(redis, STREAM, GROUP, ids[0]) == 1
    # "dead" never acks. Entries idle for less than min_idle stay with it...
    assert (await claim_stale(redis, STREAM, GROUP, "alive", min_idle_ms=60_000, count=10)) == (
        [],
        [],
    )
    # ...until they have idled long enough (0 here, so the test need not wait).
    claimed = await claim_stale(redis, STREAM, GROUP, "alive", min_idle_ms=0, count=10)
    assert [i for _, i, _ in claimed.entries] == ids and claimed.deleted == []
    assert await delivery_count(redis, STREAM, GROUP, ids[0]) == 2
    processed = [decode_fields(fields)["id"] for _, _, fields in claimed.entries]
    assert await ack(redis, STREAM, GROUP, *ids) == 5
    assert processed == [f"e{i}" for i in range(5)]
    again = await claim_stale(redis, STREAM, GROUP, "alive", min_idle_ms=0, count=10)
    assert again == ([], [])
    assert await lag(redis, STREAM, GROUP) == (0, 0)
    assert await delivery_count(redis, STREAM, GROUP, ids[0]) == 0


async def test_claim_is_bounded_and_reports_trimmed_entries(redis: Redis) -> None:
    await ensure_group(redis, STREAM, GROUP)
    ids = await _publish(redis, 6)
    await read_group(redis, [STREAM], GROUP, "dead", count=10, block_ms=0)
    await redis.xdel(STREAM, ids[1])
    # COUNT bounds the pending entries looked at per round, trimmed ones included.
    first = await claim_stale(redis, STREAM, GROUP, "alive", min_idle_ms=0, count=2, max_rounds=1)
    assert [i for _, i, _ in first.entries] == [ids[0]]
    assert first.deleted == [ids[1]]
    await ack(redis, STREAM, GROUP, ids[0])
    second = await claim_stale(redis, STREAM, GROUP, "alive", min_idle_ms=0, count=2)
    assert [i for _, i, _ in second.entries] == ids[2:4]
    await ack(redis, STREAM, GROUP, *ids[2:4])
    rest = await claim_stale(redis, STREAM, GROUP, "alive", min_idle_ms=0, count=10)
    assert [i for _, i, _ in rest.entries] == ids[4:]
    assert await delivery_count(redis, STREAM, GROUP, ids[1]) == 0


async def test_restarted_consumer_reads_its_own_pending_first(redis: Redis) -> None:
    await ensure_group(redis, STREAM, GROUP)
    ids = await _publish(redis, 4)
    await read_group(redis, [STREAM], GROUP, "c1", count=10, block_ms=0)
    await ack(redis, STREAM, GROUP, ids[0])
    await redis.xdel(STREAM, ids[2])
    # c1 restarts under the same name: ">" has nothing new, its own history has the rest.
    assert await read_group(redis, [STREAM], GROUP, "c1", count=10, block_ms=0) == []
    own = await read_own(redis, [STREAM], GROUP, "c1", count=10)
    assert [i for _, i, _ in own.entries] == [ids[1], ids[3]]
    assert own.deleted == [ids[2]]
    await ack(redis, STREAM, GROUP, *ids[1:])
    assert await read_own(redis, [STREAM], GROUP, "c1", count=10) == ([], [])
    assert await read_own(redis, [keys.events(3)], GROUP, "c1", count=10) == ([], [])


async def test_dead_letter_keeps_fields_and_reason(redis: Redis) -> None:
    now = datetime(2025, 3, 11, 20, 0, tzinfo=UTC)
    fields = {b"id": b"g1", b"body": b"\x00raw"}
    dlq_id = await dead_letter(
        redis,
        "aggregator",
        source_stream=STREAM,
        entry_id="1-1",
        fields=fields,
        reason="5 deliveries",
        maxlen=MAXLEN,
        now=now,
    )
    [(entry_id, parked)] = await redis.xrange(keys.dlq("aggregator")) or []
    assert entry_id == dlq_id.encode()
    assert parked == {
        b"id": b"g1",
        b"body": b"\x00raw",
        b"reason": b"5 deliveries",
        b"source": STREAM.encode(),
        b"source_id": b"1-1",
        b"failed_at": b"2025-03-11T20:00:00+00:00",
    }


async def test_trimming_keeps_streams_bounded(redis: Redis) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(2 * MAXLEN):
            pipe.xadd(STREAM, {"n": i})
        await pipe.execute()
    await _publish(redis, 300)
    assert MAXLEN <= await redis.xlen(STREAM) <= MAXLEN + 100
    for i in range(MAXLEN + 300):
        await dead_letter(
            redis,
            "feed",
            source_stream=STREAM,
            entry_id=f"{i}-0",
            fields={},
            reason="x",
            maxlen=MAXLEN,
        )
    assert MAXLEN <= await redis.xlen(keys.dlq("feed")) <= MAXLEN + 100


async def test_lag_and_pending(redis: Redis) -> None:
    assert await lag(redis, STREAM, GROUP) == (0, 0)
    ids = await _publish(redis, 5)
    assert await lag(redis, STREAM, GROUP) == (5, 0)
    await ensure_group(redis, STREAM, GROUP)
    assert await lag(redis, STREAM, GROUP) == (5, 0)
    await read_group(redis, [STREAM], GROUP, "c1", count=3, block_ms=0)
    assert await lag(redis, STREAM, GROUP) == (2, 3)
    await ack(redis, STREAM, GROUP, ids[0])
    assert await lag(redis, STREAM, GROUP) == (2, 2)
    # Deleting an undelivered entry makes the server's lag unknown: we count instead.
    await redis.xdel(STREAM, ids[3])
    assert await lag(redis, STREAM, GROUP) == (1, 2)
