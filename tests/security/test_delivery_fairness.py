"""Issue 15 #8 replayed: one tenant's hanging targets on a shared host do not starve a fast
receiver there; slots go round robin between subscriptions; a target that keeps timing out is
skipped (its deliveries wait without taking a slot, and the wait is not an attempt).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from aiohttp import web
from redis.asyncio import Redis

from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.subscriptions import Subscription, SubscriptionSpec, new_id
from notifier.channels.webhook import generate_secret
from notifier.settings import DeliverySettings, Settings
from tests.counts import tried
from tests.integration.deliver.test_delivery_support import (
    LOOPBACK,
    make_alert,
    receiving,
    settings_for,
)
from workers.deliver.engine import DeliveryEngine
from workers.deliver.fairness import Breakers, FairSlots
from workers.deliver.send import Deliverer, build_channels, open_session


def _hook(url: str) -> Subscription:
    now = datetime.now(UTC)
    spec = SubscriptionSpec(channel="webhook", url=url, secret=generate_secret(), teams=["X"])
    return Subscription(id=new_id(), owner="o", spec=spec, created_at=now, updated_at=now)


async def _hang_or_answer(request: web.Request, body: bytes) -> web.StreamResponse:
    if request.path.startswith("/hang"):
        await asyncio.sleep(30)  # ended by the receiver's shutdown
    return web.Response(text="ok")


def _fair_settings() -> Settings:
    """Four slots a host, a send slow after 0.2 s, timed out after 1 s, a target's breaker open
    for 30 s after one failure: small enough that twelve hanging targets would fill the host."""
    settings = settings_for("redis://unused")
    settings.delivery = DeliverySettings(
        allow_http=True,
        allow_networks=LOOPBACK,
        per_host=4,
        slow_after_s=0.2,
        timeout_s=1.0,
        breaker_failures=1,
        breaker_open_s=30.0,
    )
    return settings


async def test_a_fast_receiver_is_not_starved_by_hanging_targets_on_its_host() -> None:
    settings = _fair_settings()
    async with receiving(_hang_or_answer) as rec:
        session = open_session(settings)
        try:
            deliverer = Deliverer(build_channels(session, settings), settings.delivery)
            hanging = [_hook(rec.url(f"/hang/{i}")) for i in range(12)]
            fast = _hook(rec.url("/fast"))
            assert (await deliverer.send(make_alert(99), fast)).outcome == "delivered"
            slow_sends = [asyncio.create_task(deliverer.send(make_alert(), s)) for s in hanging]
            await asyncio.sleep(0.05)  # every fast slot is taken by a hanging target now
            waits = []
            for n in range(10):
                tried("security: fast deliveries beside hanging targets")
                started = time.monotonic()
                result = await deliverer.send(make_alert(n), fast)
                waits.append(time.monotonic() - started)
                assert result.outcome == "delivered"
            # New targets leave a slot to the ones known to answer.
            assert max(waits) < 0.5, waits
            results = await asyncio.gather(*slow_sends)
            assert {r.outcome for r in results} == {"retry"}
            # Their circuits are open now: the next try takes no slot and is no attempt.
            started = time.monotonic()
            again = await deliverer.send(make_alert(), hanging[0])
            assert again.outcome == "retry" and not again.counts and again.retry_after
            assert time.monotonic() - started < 0.1
        finally:
            await session.close()


async def test_slots_go_round_robin_between_subscriptions() -> None:
    slots = FairSlots(per_host=1)
    order: list[str] = []
    await slots.acquire("h", "first")

    async def take(key: str) -> None:
        await slots.acquire("h", key)
        order.append(key)
        await asyncio.sleep(0)
        slots.release("h")

    burst = [asyncio.create_task(take("busy")) for _ in range(5)]
    await asyncio.sleep(0)
    late = asyncio.create_task(take("other"))
    await asyncio.sleep(0)
    slots.release("h")
    await asyncio.gather(*burst, late)
    assert order[:2] == ["busy", "other"], order  # not behind the whole burst
    assert slots._hosts == {}  # nothing kept for an idle host


async def test_a_fan_out_to_hanging_targets_does_not_starve_a_fast_one(redis: Redis) -> None:
    """The same as above through the delivery engine: a fan-out's sends wait in their host's
    round, and a fast subscription's alerts go by the hanging ones."""
    settings = _fair_settings()
    async with receiving(_hang_or_answer) as rec:
        session = open_session(settings)
        try:
            deliverer = Deliverer(build_channels(session, settings), settings.delivery)
            engine = DeliveryEngine(
                redis, settings, store=SubscriptionStore(redis), deliverer=deliverer
            )
            hanging = [_hook(rec.url(f"/hang/{i}")) for i in range(12)]
            fast = _hook(rec.url("/fast"))

            async def fan_out(n: int, subs: list[Subscription]) -> dict[str, int]:
                return dict(await engine.fan_out(0, make_alert(n), subs, engine.tickets(0, subs)))

            assert await fan_out(99, [fast]) == {"delivered": 1, "already": 0}
            slow = asyncio.create_task(fan_out(100, hanging))
            await asyncio.sleep(0.05)  # every slot new targets may take is taken now
            waits = []
            for n in range(10):
                tried("security: fast deliveries beside hanging targets")
                started = time.monotonic()
                assert await fan_out(n, [fast]) == {"delivered": 1, "already": 0}
                waits.append(time.monotonic() - started)
            assert max(waits) < 0.5, waits
            assert await slow == {"retry": 12, "already": 0}  # cut short, retried later
        finally:
            await session.close()


async def test_a_cancelled_wait_leaves_the_round() -> None:
    """A subscription waits as one entry (several waits: in order); a wait cancelled is taken
    out of the round, whichever it was, and the slot goes to the next in turn."""
    slots = FairSlots(per_host=1)
    await slots.acquire("h", "first")
    alone = asyncio.create_task(slots.acquire("h", "alone"))
    twice = [asyncio.create_task(slots.acquire("h", "twice")) for _ in range(2)]
    last = asyncio.create_task(slots.acquire("h", "last"))
    await asyncio.sleep(0)
    alone.cancel()
    twice[0].cancel()
    await asyncio.sleep(0)
    slots.release("h")  # to "twice" (its second wait), then "last"
    await twice[1]
    assert not last.done()
    slots.release("h")
    await last
    slots.release("h")
    assert alone.cancelled() and twice[0].cancelled()
    assert slots._hosts == {}


def test_a_breaker_opens_after_failures_and_lets_one_trial_through() -> None:
    b = Breakers(failures=2, open_s=10.0)
    b.failed("t", now=0.0)
    assert b.wait("t", now=0.0) == 0.0
    b.failed("t", now=1.0)
    assert b.wait("t", now=2.0) == 9.0
    assert b.wait("t", now=11.5) == 0.0  # half-open: this caller tries
    assert b.wait("t", now=11.6) > 0  # the others wait for the trial
    b.failed("t", now=12.0)
    assert b.wait("t", now=13.0) == 19.0  # open again, twice as long
    b.succeeded("t")
    assert b.wait("t", now=13.0) == 0.0


async def test_new_targets_leave_a_slot_to_known_ones() -> None:
    slots = FairSlots(per_host=4)
    for i in range(3):
        await slots.acquire("h", f"new{i}")
    fourth = asyncio.create_task(slots.acquire("h", "new3"))
    await asyncio.sleep(0)
    assert not fourth.done()  # three new targets hold all they may: the fourth waits
    assert await slots.acquire("h", "known", trusted=True)  # a known one still gets in
    slots.release("h")  # a new target's slot: handed to the waiting new one
    assert await fourth is False
    for _ in range(3):
        slots.release("h")
    slots.release("h", trusted=True)
    assert slots._hosts == {}
