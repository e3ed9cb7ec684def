"""A subscription's ``delay_s`` (``/delay N`` in a chat): its alerts are held that long after
they were emitted, in order, and the others' are not held at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from notifier.bus.subscriptions import SubscriptionStore
from tests.integration.deliver.test_delivery_support import (
    dispatching,
    json_of,
    make_alert,
    publish,
    receiving,
    settings_for,
    subscribe,
)

HOLD = timedelta(seconds=1)


async def test_a_delayed_subscription_gets_its_alerts_late_and_in_order(
    redis: Redis, redis_url: str
) -> None:
    settings = settings_for(redis_url)
    store = SubscriptionStore(redis)
    async with receiving() as rec, dispatching(redis, settings):

        def paths() -> list[str]:
            return [path for path, _, _ in rec.seen]

        await subscribe(store, channel="webhook", url=rec.url("/now"))
        await subscribe(store, channel="webhook", url=rec.url("/late"), delay_s=1)
        alerts = [make_alert(n) for n in (1, 2, 3)]
        for alert in alerts:
            await publish(redis, alert)
        await rec.wait_for(lambda: paths().count("/now") == 3)
        if datetime.now(UTC) < alerts[0].emitted_at + HOLD:
            assert "/late" not in paths()  # nobody else waits for the held ones
        await rec.wait_for(lambda: len(rec.seen) == 6, within=6.0)
        assert datetime.now(UTC) >= alerts[-1].emitted_at + HOLD  # each held its second
    late = [json_of(b)["id"] for p, _, b in rec.seen if p == "/late"]
    now = [json_of(b)["id"] for p, _, b in rec.seen if p == "/now"]
    assert late == now == [a.id for a in alerts]
