"""Spoiler delay through the real dispatcher: held in Redis, released in order once due, a goal
ruled out within the window never sent (nor its cancellation), fenced by the partition lease,
and nothing lost, repeated or early across a ``kill -9`` of the dispatcher holding them.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.subscriptions import SubscriptionStore
from notifier.domain.alerts import Alert
from notifier.domain.models import Score
from notifier.errors import LeaseLostError
from tests.integration.deliver.test_delivery_kill import _env
from tests.integration.deliver.test_delivery_support import (
    Receiver,
    dispatching,
    make_alert,
    publish,
    receiving,
    settings_for,
    subscribe,
)
from workers.deliver.hold import HoldStore

RATE = 60.0  # the match clock runs 60 times faster: delay_s=60 is one second here


def _at(n: int, kind: str, side: str | None, home: int, away: int) -> Alert:
    data: dict[str, Any] = {"side": side} if side else {}
    return make_alert(n, kind=kind, score=Score(home=home, away=away), data=data)


def _match() -> list[Alert]:
    """Kick-off, a home goal ruled out by VAR (a goal of another match between the two), a red
    card, an away goal."""
    other = _at(9, "goal", "home", 1, 0).model_copy(
        update={"id": "api-football:2:goal:9", "match": "api-football:2", "tie": None}
    )
    return [
        _at(1, "kickoff", None, 0, 0),
        _at(2, "goal", "home", 1, 0),
        other,
        _at(3, "goal_cancelled", "home", 0, 0),
        _at(4, "red_card", None, 0, 0),
        _at(5, "goal", "away", 0, 1),
    ]


def _arrivals(rec: Receiver, sub_id: str) -> list[tuple[str, float, float]]:
    """(alert id, arrival, emission) in epoch s, of each delivery to the subscription."""
    out = []
    for (_, headers, body), arrived in zip(rec.seen, rec.arrived, strict=True):
        alert_id, _, sub = headers.get("webhook-id", "").partition("|")
        if sub == sub_id:
            emitted = datetime.fromisoformat(orjson.loads(body)["emitted_at"]).timestamp()
            out.append((alert_id, arrived, emitted))
    return out


async def test_a_delayed_subscriber_never_sees_a_goal_ruled_out_within_its_delay(
    redis: Redis, redis_url: str
) -> None:
    settings = settings_for(redis_url, clock_rate=RATE)
    async with receiving() as rec:
        store = SubscriptionStore(redis)
        live = await subscribe(store, channel="webhook", url=rec.url("/live"))
        late = await subscribe(store, channel="webhook", url=rec.url("/late"), delay_s=60)
        async with dispatching(redis, settings) as d:
            for alert in _match():
                await publish(redis, alert)
            await rec.wait_for(lambda: len(_arrivals(rec, late.id)) == 4, within=5)
            await d.engine.idle()
        now = time.time()
    assert [a for a, _, _ in _arrivals(rec, live.id)] == [a.id for a in _match()]
    got = _arrivals(rec, late.id)
    assert [a for a, _, _ in got] == [_match()[i].id for i in (0, 2, 4, 5)]
    assert all(arrived >= emitted + 60 / RATE for _, arrived, emitted in got)  # never early
    assert await redis.zcard(keys.held_due(0)) == 0 and now > got[-1][1]


async def test_holding_is_fenced_and_idempotent(redis: Redis) -> None:
    holds = HoldStore(redis, ttl_s=60)
    lease = keys.partition_lease(0, "dispatcher")
    await redis.set(lease, "d2:7")  # another replica's
    alert = make_alert()
    with pytest.raises(LeaseLostError):
        await holds.hold(0, alert, "sub-1", 1, fence=(lease, "d1:3"))
    assert await redis.exists(keys.held_line(0, "sub-1"), keys.held_marks(0, alert.id)) == 0
    fence = (lease, "d2:7")
    assert await holds.hold(0, alert, "sub-1", 1, fence=fence) == "held"
    assert await holds.hold(0, alert, "sub-1", 1, fence=fence) == "already"
    with pytest.raises(LeaseLostError):
        await holds.release(0, "sub-1", 2, 10, fence=(lease, "d1:3"))
    assert await redis.llen(keys.held_line(0, "sub-1")) == 1
    out = await holds.release(0, "sub-1", 2, 10, fence=fence)
    assert out.alert_ids == [alert.id] and await redis.zcard(keys.held_due(0)) == 0
    assert await redis.zscore(keys.retry_due(0), "sub-1") == 2  # the retry line's head, due now


async def test_kill_9_while_alerts_are_held_loses_repeats_and_advances_nothing(
    redis: Redis, redis_url: str
) -> None:
    async with receiving() as rec:
        store = SubscriptionStore(redis)
        subs = [
            await subscribe(store, channel="webhook", url=rec.url(f"/s{i}"), delay_s=60)
            for i in range(3)
        ]
        # 10 s behind: on a busy host the process holds all of them long before the first is
        # due (one it had started to send when killed would wait for its claim to lapse, 50 s).
        env = _env(redis_url) | {"NOTIFIER_DELIVERY__CLOCK_RATE": str(RATE / 10)}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "workers.cli", "dispatch", env=env
        )
        alerts: list[Alert] = []
        try:
            # Published once the process holds the partition: all held, none due yet, at the kill.
            for _ in range(1000):  # bounded: 20 s for the process to start on a busy host
                if await redis.exists(keys.partition_lease(0, "dispatcher")):
                    break
                await asyncio.sleep(0.02)
            alerts = [make_alert(n) for n in range(1, 9)]  # emitted now
            for alert in alerts:
                await publish(redis, alert)
            for _ in range(1000):  # until the process (started, on a busy host) holds them all
                if await redis.llen(keys.held_line(0, subs[-1].id)) == len(alerts):
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("the dispatcher never held the alerts")
            assert await redis.zcard(keys.retry_due(0)) == 0  # killed while all are held
        finally:
            proc.kill()
            await proc.wait()
        assert rec.seen == []  # held: nothing went early
        settings = settings_for(redis_url, clock_rate=RATE / 10)
        async with dispatching(redis, settings, "successor") as d:
            try:
                # 60 s: on a busy host a due alert can be claimed between the check above and
                # the kill; the successor then sends it once its claim lapses (~35 s), in order.
                await rec.wait_for(lambda: len(rec.seen) >= 3 * len(alerts), within=60)
            except TimeoutError:
                state = {
                    "seen": len(rec.seen),
                    "held": await redis.zrange(keys.held_due(0), 0, -1, withscores=True),
                    "retry": await redis.zrange(keys.retry_due(0), 0, -1, withscores=True),
                    "now": time.time(),
                    "owned": d.owned,
                }
                raise AssertionError(f"not all delivered: {state}") from None
            await d.engine.idle()
    for sub in subs:
        got = _arrivals(rec, sub.id)
        assert [a for a, _, _ in got] == [a.id for a in alerts]  # all, once each, in order
        assert all(arrived + 1e-3 >= emitted + 10 for _, arrived, emitted in got)
