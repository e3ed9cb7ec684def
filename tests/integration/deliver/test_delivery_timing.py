"""Quiet hours and digests through the real dispatcher: what quiet hours hold back is dropped or
sent as one summary when they end, the passing kinds go at once; a digest subscriber gets one
message per phase listing what happened, with the score and aggregate as they stand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.subscriptions import SubscriptionStore
from notifier.domain.alerts import Alert
from notifier.domain.models import Score
from tests.integration.deliver.test_delivery_support import (
    Receiver,
    dispatching,
    make_alert,
    publish,
    receiving,
    settings_for,
    subscribe,
)

# Yesterday 22:00:30 in Rome (CET in winter, CEST in summer: 20:00 or 21:00 UTC), inside quiet
# hours 22:00-22:01; the dispatcher's clock is held there, then moved past their end.
ROME = ZoneInfo("Europe/Rome")
NIGHT = (datetime.now(ROME) - timedelta(days=1)).replace(
    hour=22, minute=0, second=30, microsecond=0
)
QUIET = {"start": "22:00", "end": "22:01", "tz": "Europe/Rome"}


def _at(n: int, kind: str, home: int = 0, away: int = 0, **extra: Any) -> Alert:
    agg = {"Atalanta": home, "Dortmund": away + 2}
    fields = {
        "kind": kind,
        "score": Score(home=home, away=away),
        "aggregate": agg,
        "leader": "Dortmund",
    }
    return make_alert(n, **(fields | extra))


def _bodies(rec: Receiver, path: str) -> list[dict[str, Any]]:
    return [orjson.loads(body) for p, _, body in rec.seen if p == path]


async def test_quiet_hours_summary_and_passing_kinds(redis: Redis, redis_url: str) -> None:
    night = {"emitted_at": NIGHT, "occurred_at": NIGHT, "detected_at": NIGHT}
    alerts = [
        _at(1, "goal", 1, 0, **night),
        _at(2, "red_card", 1, 0, **night),
        _at(3, "result", 1, 0, **night),
    ]
    async with receiving() as rec:
        store = SubscriptionStore(redis)
        summary = QUIET | {"held": "summary"}
        sub = await subscribe(
            store, channel="webhook", url=rec.url("/summary"), quiet_hours=summary
        )
        await subscribe(store, channel="webhook", url=rec.url("/drop"), quiet_hours=QUIET)
        await subscribe(store, channel="webhook", url=rec.url("/plain"))
        async with dispatching(redis, settings_for(redis_url)) as d:
            clock = [int(NIGHT.timestamp() * 1000) + 1000]  # in the quiet hours
            d.engine.now_ms = lambda: clock[0]
            for alert in alerts:
                await publish(redis, alert)
            await rec.wait_for(lambda: len(_bodies(rec, "/plain")) == 3)
            await rec.wait_for(lambda: len(_bodies(rec, "/summary")) == 1)
            line = keys.held_line(0, f"{sub.id}#quiet:{alerts[0].match}")
            assert await redis.llen(line) == 2  # held until the quiet hours end
            clock[0] += 60_000  # they end
            await rec.wait_for(lambda: len(_bodies(rec, "/summary")) == 2)
            await d.engine.idle()
    dropped = _bodies(rec, "/drop")
    assert [b["kind"] for b in dropped] == ["result"]  # the rest was dropped
    first, second = _bodies(rec, "/summary")
    assert first["kind"] == "result"  # it passes quiet hours; the summary comes at their end
    assert second["kind"] == "digest" and second["data"]["route"] == "quiet"
    assert [a["id"] for a in second["data"]["alerts"]] == [alerts[0].id, alerts[1].id]
    assert second["text"].splitlines() == [
        "While you were away: Atalanta 1-0 Dortmund, Dortmund lead 2-1 on aggregate",
        "• GOAL 1: Atalanta 1-0 Dortmund",
        "• GOAL 2: Atalanta 1-0 Dortmund",
    ]
    assert await redis.zcard(keys.held_due(0)) == 0


async def test_a_digest_per_phase(redis: Redis, redis_url: str) -> None:
    first_half = [_at(1, "goal", 1, 0), _at(2, "red_card", 1, 0), _at(3, "half_time", 1, 0)]
    async with receiving() as rec:
        store = SubscriptionStore(redis)
        sub = await subscribe(
            store, channel="webhook", url=rec.url("/digest"), digest={"by": "phase"}
        )
        async with dispatching(redis, settings_for(redis_url)) as d:
            for alert in first_half:
                await publish(redis, alert)
            await rec.wait_for(lambda: len(_bodies(rec, "/digest")) == 1)
            await publish(redis, _at(4, "goal", 1, 1))
            await d.engine.idle()
            assert len(_bodies(rec, "/digest")) == 1  # the second half's waits for its end
            await publish(redis, _at(5, "full_time", 1, 1))
            await rec.wait_for(lambda: len(_bodies(rec, "/digest")) == 2)
    half, full = _bodies(rec, "/digest")
    assert half["kind"] == full["kind"] == "digest"
    head = half["text"].splitlines()[0]
    assert head == "Half-time digest: Atalanta 1-0 Dortmund, Dortmund lead 2-1 on aggregate"
    assert [a["kind"] for a in half["data"]["alerts"]] == ["goal", "red_card", "half_time"]
    assert full["text"].startswith("Full-time digest: Atalanta 1-1 Dortmund")
    assert [a["kind"] for a in full["data"]["alerts"]] == ["goal", "full_time"]
    assert all(h["webhook-id"].endswith("|" + sub.id) for _, h, _ in rec.seen)
