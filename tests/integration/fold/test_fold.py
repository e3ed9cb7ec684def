"""The aggregator's batched fold against a real server: one Lua commit per batch, the same alerts
as folding one event at a time, idempotency, fencing, fallbacks, and fair partition shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from notifier.bus import keys, streams
from notifier.bus.entries import event_fields
from notifier.bus.lease import Lease, lease_value
from notifier.bus.scripts import FoldCommit, FoldRead, commit_fold_batch, read_fold_batch
from notifier.domain.alerts import ALERT, Alert
from notifier.domain.diff import diff
from notifier.domain.engine import apply, start
from notifier.domain.events import Event
from notifier.errors import LeaseLostError, StoreError
from notifier.feeds.api_football.parse import parse_fixture
from notifier.replay.api_football import Timeline
from notifier.settings import Settings
from workers.fold import aggregator
from workers.fold import batch as fold
from workers.fold.aggregator import Aggregator

pytestmark = pytest.mark.integration

SCENARIO = (
    Path(__file__).resolve().parents[3]
    / "notifier"
    / "data"
    / "scenarios"
    / "atalanta-dortmund-2nd-leg.json"
)
NOW = datetime(2026, 3, 11, 21, 0, tzinfo=UTC)


def scenario_events() -> list[Event]:
    """Every event of the scripted match, polled every virtual minute."""
    timeline = Timeline(orjson.loads(SCENARIO.read_bytes()))
    prev, out = None, []
    t = -45 * 60.0
    while t <= timeline.end + 60:
        cur = parse_fixture(timeline.fixture_at(t))
        out += diff(prev, cur, seen=NOW + timedelta(seconds=t))
        prev, t = cur, t + 60
    return out


def settings(partitions: int = 1) -> Settings:
    base = Settings.load(None)
    return base.model_copy(
        update={"streams": base.streams.model_copy(update={"partitions": partitions})}
    )


async def publish_all(r: Redis, events: list[Event]) -> None:
    for e in events:
        await streams.publish(r, keys.events(0), event_fields(e), maxlen=10_000)


async def emitted(r: Redis) -> list[Alert]:
    return [ALERT.validate_json(f[b"body"]) for _, f in await r.xrange(keys.alerts(0))]


def one_by_one(events: list[Event], s: Settings) -> list[str]:
    """Alert ids from folding the events one at a time (the pure engine)."""
    state = start(events[0], None, s.aliases)
    ids = []
    for e in events:
        state, alerts = apply(state, e, NOW)
        ids += [a.id for a in alerts]
    return ids


async def test_batched_fold_gives_the_alerts_of_one_by_one_and_never_twice(redis: Redis) -> None:
    events = scenario_events()
    s = settings()
    await publish_all(redis, events)
    agg = Aggregator(redis, s, instance="a", now=lambda: NOW)
    assert await agg.drain() == len(events)
    first = [a.id for a in await emitted(redis)]
    assert first == one_by_one(events, s)
    assert "goal_cancelled" in {a.kind for a in await emitted(redis)}
    await publish_all(redis, events)  # the same events again: seen, acked, nothing new
    fresh = Aggregator(redis, s, instance="b", now=lambda: NOW)  # no cache: Redis decides
    await agg.leases.release_all()
    assert await fresh.drain() == len(events)
    assert [a.id for a in await emitted(redis)] == first
    assert await streams.lag(redis, keys.events(0), keys.GROUP_AGGREGATOR) == (0, 0)


async def _read_by_lease_holder(redis: Redis, n: int) -> tuple[str, int, list[str]]:
    """Partition 0's lease held by "me", and n entries it has read (pending): the lease, its
    token and the entry ids."""
    lease = keys.partition_lease(0, "aggregator")
    token = await Lease.acquire(redis, lease, "me", 10_000)
    assert token is not None
    await streams.ensure_group(redis, keys.events(0), "aggregator")
    ids = [
        await streams.publish(redis, keys.events(0), {"n": str(i)}, maxlen=100) for i in range(n)
    ]
    await redis.xreadgroup("aggregator", "me", {keys.events(0): ">"})
    return lease, token, ids


async def _commit_as_me(redis: Redis, lease: str, token: int, folds: list[FoldCommit]) -> list[int]:
    """``commit_fold_batch`` of partition 0 by the holder "me" (marks for 60 s)."""
    return await commit_fold_batch(
        redis,
        lease=lease,
        lease_value=lease_value("me", token),
        events_stream=keys.events(0),
        alerts_stream=keys.alerts(0),
        group="aggregator",
        marks_ttl=60,
        maxlen=1000,
        folds=folds,
    )


async def test_batch_commit_skips_seen_events_and_is_fenced(redis: Redis) -> None:
    lease, token, ids = await _read_by_lease_holder(redis, 2)
    marks = keys.folded(0, "m")
    await redis.hset(marks, "e2", "1")
    state = keys.match_state(0, "m")
    folds = [
        FoldCommit(ids[0], state, marks, "e1", "{}", [["a", "1"], ["a", "2"]]),
        FoldCommit(ids[1], state, marks, "e2", "", [["b", "2"]]),
    ]
    common = {
        "lease": lease,
        "events_stream": keys.events(0),
        "alerts_stream": keys.alerts(0),
        "group": "aggregator",
        "marks_ttl": 60,
        "maxlen": 1000,
    }
    with pytest.raises(LeaseLostError):
        await commit_fold_batch(redis, lease_value="me:0", folds=folds, **common)
    assert await redis.xlen(keys.alerts(0)) == 0
    result = await commit_fold_batch(
        redis, lease_value=lease_value("me", token), folds=folds, **common
    )
    assert result == [2, -1]
    assert await redis.xlen(keys.alerts(0)) == 2
    assert await redis.get(keys.match_state(0, "m")) == b"{}"
    # The marks of the match: e1 made two alerts; "^" is the stream id of the match's last.
    last = (await redis.xrevrange(keys.alerts(0), count=1))[0][0]
    assert await redis.hgetall(marks) == {b"e1": b"2", b"e2": b"1", b"^": last}
    assert 0 < await redis.ttl(marks) <= 60
    assert (await redis.xpending(keys.events(0), "aggregator"))["pending"] == 0


async def test_batch_commit_marks_each_match_once_and_an_event_twice_is_folded_once(
    redis: Redis,
) -> None:
    """The script reads and writes a match's marks once per call: two matches interleaved, an
    event of one repeated in the same call (the second is folded before), a seen one skipped."""
    lease, token, ids = await _read_by_lease_holder(redis, 5)
    m1, m2 = keys.folded(0, "m1"), keys.folded(0, "m2")
    s1, s2 = keys.match_state(0, "m1"), keys.match_state(0, "m2")
    await redis.hset(m2, "old", "0")
    folds = [
        FoldCommit(ids[0], s1, m1, "a", "", [["k", "a0"]]),
        FoldCommit(ids[1], s2, m2, "old", "", [["k", "old"]]),
        FoldCommit(ids[2], s2, m2, "b", '"m2"', []),
        FoldCommit(ids[3], s1, m1, "a", "", [["k", "again"]]),
        FoldCommit(ids[4], s1, m1, "c", '"m1"', [["k", "c0"], ["k", "c1"]]),
    ]
    result = await _commit_as_me(redis, lease, token, folds)
    assert result == [1, -1, 0, -1, 2]
    alerts = await redis.xrange(keys.alerts(0))
    assert [f[b"k"] for _, f in alerts] == [b"a0", b"c0", b"c1"]
    assert await redis.hgetall(m1) == {b"a": b"1", b"c": b"2", b"^": alerts[-1][0]}
    assert await redis.hgetall(m2) == {b"old": b"0", b"b": b"0"}  # no alert: no "^"
    assert await redis.mget(s1, s2) == [b'"m1"', b'"m2"']
    assert 0 < await redis.ttl(m1) <= 60 and 0 < await redis.ttl(m2) <= 60
    assert (await redis.xpending(keys.events(0), "aggregator"))["pending"] == 0


async def test_the_batch_read_gives_states_marks_and_the_ties_of_new_matches(
    redis: Redis,
) -> None:
    """One call: a match with a state (its tie not read), one without (its tie read), one
    without a state or a tie, one whose tie is not stored; marks of the ids asked for only."""
    await redis.set(keys.match_state(0, "old"), b'{"s":1}')
    await redis.hset(keys.folded(0, "old"), mapping={"e1": "1", "e9": "0"})
    await redis.hset(keys.folded(0, "new"), "n2", "2")
    await redis.set(keys.tie(0, "t"), b'{"id":"t"}')
    found = await read_fold_batch(
        redis,
        [
            (keys.folded(0, "old"), keys.match_state(0, "old"), ["e1", "e2"], keys.tie(0, "t")),
            (keys.folded(0, "new"), keys.match_state(0, "new"), ["n1", "n2"], keys.tie(0, "t")),
            (keys.folded(0, "solo"), keys.match_state(0, "solo"), ["s1"], None),
            (keys.folded(0, "lost"), keys.match_state(0, "lost"), ["l1"], keys.tie(0, "x")),
        ],
    )
    assert found == [
        FoldRead(b'{"s":1}', [True, False], None),
        FoldRead(None, [False, True], b'{"id":"t"}'),
        FoldRead(None, [False], None),
        FoldRead(None, [False], None),
    ]


async def test_an_event_that_cannot_be_folded_is_dead_lettered_alone(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = scenario_events()
    bad = events[3].id
    real = fold.step

    def failing(state, event, now):  # type: ignore[no-untyped-def]
        if event.id == bad:
            raise RuntimeError("boom")
        return real(state, event, now)

    monkeypatch.setattr(fold, "step", failing)
    s = settings()
    await publish_all(redis, events)
    await streams.publish(redis, keys.events(0), {"body": "not json"}, maxlen=10_000)
    agg = Aggregator(redis, s, instance="a", now=lambda: NOW)
    await agg.drain()
    parked = await redis.xrange(keys.dlq("aggregator"))
    reasons = sorted(f[b"reason"].decode()[:16] for _, f in parked)
    assert reasons == ["RuntimeError: bo", "malformed event:"]
    got = {a.event for a in await emitted(redis)}
    assert bad not in got and events[-1].id in got
    assert await streams.lag(redis, keys.events(0), keys.GROUP_AGGREGATOR) == (0, 0)


async def test_replicas_share_the_partitions_fairly(redis: Redis) -> None:
    s = settings(partitions=4)
    a = Aggregator(redis, s, instance="a")
    b = Aggregator(redis, s, instance="b")
    await a.claim_partitions(force=True)
    assert len(a.owned) == 4
    await b.claim_partitions(force=True)  # two replicas now: a still holds all, b gets none
    await a.claim_partitions(force=True)  # a gives back its extra half
    await b.claim_partitions(force=True)
    assert len(a.owned) == len(b.owned) == 2
    assert not a.owned & b.owned
    await b.leases.release_all()
    await b.members.leave()
    await a.claim_partitions(force=True)  # alone again: everything
    assert len(a.owned) == 4


async def test_a_failed_commit_leaves_the_batch_to_be_read_back(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = scenario_events()
    s = settings()
    await publish_all(redis, events)
    real = aggregator.commit_fold_batch
    calls = []

    async def flaky(*args: Any, **kwargs: Any) -> list[int]:
        calls.append(1)
        if len(calls) == 1:
            raise RedisConnectionError("connection reset")
        return await real(*args, **kwargs)

    monkeypatch.setattr(aggregator, "commit_fold_batch", flaky)
    agg = Aggregator(redis, s, instance="a", now=lambda: NOW)
    with pytest.raises(StoreError):
        await agg.step(block_ms=1)
    assert await redis.xlen(keys.alerts(0)) == 0
    assert await agg.drain() == len(events)  # read back from its pending list, one by one
    assert [a.id for a in await emitted(redis)] == one_by_one(events, s)
    assert await streams.lag(redis, keys.events(0), keys.GROUP_AGGREGATOR) == (0, 0)


async def test_a_lost_read_reply_is_read_back_in_order(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis moved entries into our pending list, the reply never came, and redis-py's retry
    read the entries after them: the aggregator reads its own pending list first, in order."""
    events = scenario_events()
    s = settings()
    half = len(events) // 2
    await publish_all(redis, events[:half])
    real = streams.read_group
    lost: list[int] = []

    async def lossy(r: Redis, names: list[str], group: str, consumer: str, **kw: Any) -> Any:
        if not lost:
            lost.append(len(await real(r, names, group, consumer, **kw)))  # now pending...
            await publish_all(redis, events[half:])  # ...while more arrive,
            r.get_retry().failures += 1  # type: ignore[attr-defined]  # and the reply is lost
        return await real(r, names, group, consumer, **kw)

    monkeypatch.setattr(streams, "read_group", lossy)
    agg = Aggregator(redis, s, instance="a", now=lambda: NOW)
    assert await agg.drain() == len(events)
    assert lost == [half]
    assert [a.id for a in await emitted(redis)] == one_by_one(events, s)
    assert await streams.lag(redis, keys.events(0), keys.GROUP_AGGREGATOR) == (0, 0)


async def test_batch_commit_passes_states_and_bodies_given_as_bytes_raw(redis: Redis) -> None:
    """A state or an alert's body given as bytes reaches Redis byte for byte (each a slice of
    one raw argument: quotes, backslashes and multi-byte UTF-8 included), beside values given
    as text in the same call."""
    lease = keys.partition_lease(0, "aggregator")
    token = await Lease.acquire(redis, lease, "me", 10_000)
    assert token is not None
    await streams.ensure_group(redis, keys.events(0), "aggregator")
    ids = [
        await streams.publish(redis, keys.events(0), {"n": str(i)}, maxlen=100) for i in range(3)
    ]
    await redis.xreadgroup("aggregator", "me", {keys.events(0): ">"})
    m1, m2 = keys.folded(0, "m1"), keys.folded(0, "m2")
    s1, s2 = keys.match_state(0, "m1"), keys.match_state(0, "m2")
    state = '{"home":"Bodø/Glimt","text":"\\"quoted\\" \\\\ ü"}'.encode()
    body = b'{"text":"M\xc3\xbcnchen 1-0 \\"Bod\xc3\xb8\\""}'
    folds = [
        FoldCommit(ids[0], s1, m1, "a", "", [["id", "a", "body", body]]),
        FoldCommit(ids[1], s2, m2, "b", '"as text"', [["id", "b", "body", "plain"]]),
        FoldCommit(
            ids[2], s1, m1, "c", state, [["id", "c", "body", b""], ["id", "c#1", "body", body]]
        ),
    ]
    result = await _commit_as_me(redis, lease, token, folds)
    assert result == [1, 1, 2]
    assert await redis.get(s1) == state
    assert await redis.get(s2) == b'"as text"'
    alerts = await redis.xrange(keys.alerts(0))
    assert [f[b"body"] for _, f in alerts] == [body, b"plain", b"", body]
