"""Fan-out: one goal alert to ``SUBSCRIPTIONS`` signed-webhook subscriptions, through the real
dispatcher and delivery engine, to receivers in other processes (:mod:`bench.receiver`).

The subscriptions follow the team and spread over ``RECEIVERS`` receiver processes (each one a
destination host:port, as many subscribers' servers would be). The figure is deliveries per
second from the dispatcher's start to the last delivery settled, every one checked received.
The dispatcher runs on the event loop ``notifier dispatch`` runs it on
(:func:`workers.cli.main.run_async`: uvloop's when installed), in a thread of its own, while this
process's loop only minds the helper processes. The SSE figure is :mod:`bench.sse`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import aiohttp

from bench.common import Report, Result, private_server
from bench.procs import spawn, stop
from notifier.bus import keys, streams
from notifier.bus.connect import connect
from notifier.bus.entries import alert_fields
from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.subscriptions import Subscription, SubscriptionSpec, new_id
from notifier.channels.webhook import generate_secret
from notifier.domain.alerts import Alert
from notifier.domain.models import MatchStatus, Score
from notifier.settings import Settings
from workers.cli.main import run_async
from workers.deliver.dispatcher import Dispatcher
from workers.deliver.send import build_channels, open_session

SUBSCRIPTIONS = 10_000
RECEIVERS = 2
TARGET = 5000.0


def goal_alert() -> Alert:
    """A goal alert about Atalanta, as the aggregator emits it."""
    now = datetime.now(UTC)
    return Alert(
        id="api-football:1:goal:home:1",
        kind="goal",
        text="GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate",
        match="api-football:1",
        event="api-football:1:goal:home:1",
        home="Atalanta",
        away="Dortmund",
        status=MatchStatus.FIRST_HALF,
        minute=23,
        score=Score(home=1, away=0),
        occurred_at=now,
        detected_at=now,
        emitted_at=now,
    )


def bench_settings(redis_url: str) -> Settings:
    """Default delivery settings, loopback receivers allowed."""
    base = Settings.load(None, redis_url=redis_url)
    delivery = base.delivery.model_copy(
        update={"allow_http": True, "allow_networks": ["127.0.0.0/8"]}
    )
    return base.model_copy(update={"delivery": delivery, "console": False})


async def subscribe(store: SubscriptionStore, urls: list[str]) -> None:
    """``SUBSCRIPTIONS`` webhook subscriptions to Atalanta, over the receivers."""
    now = datetime.now(UTC)
    secret = generate_secret()
    for i in range(SUBSCRIPTIONS):
        spec = SubscriptionSpec(
            channel="webhook",
            url=f"{urls[i % len(urls)]}/hook/{i}",
            secret=secret,
            teams=["Atalanta"],
        )
        await store.create(
            Subscription(id=new_id(), owner="bench", spec=spec, created_at=now, updated_at=now)
        )


async def received(url: str) -> int:
    """Deliveries a receiver got."""
    async with aiohttp.ClientSession() as s, s.get(f"{url}/received") as resp:
        return len(await resp.json())


async def webhooks_per_second(redis_url: str, urls: list[str]) -> tuple[float, int]:
    """(deliveries/s, deliveries received) of one alert to every subscription."""
    settings = bench_settings(redis_url)
    r = connect(redis_url)
    session = open_session(settings)
    try:
        await subscribe(SubscriptionStore(r, aliases=settings.aliases), urls)
        p = keys.partition_of("api-football:1", settings.streams.partitions)
        await streams.publish(r, keys.alerts(p), alert_fields(goal_alert()), maxlen=1000)
        dispatcher = Dispatcher(
            r, settings, instance="bench", channels=build_channels(session, settings)
        )
        started = time.perf_counter()
        await dispatcher.drain()
        elapsed = time.perf_counter() - started
        await dispatcher.leases.release_all()
    finally:
        await session.close()
        await r.aclose()
    got = sum([await received(u) for u in urls])
    return got / elapsed, got


async def run(report: Report) -> None:
    """Webhook fan-out at 10,000 subscriptions."""
    procs = [await spawn("bench.receiver") for _ in range(RECEIVERS)]
    urls = [line[1] for _, line in procs]
    try:
        async with private_server("fanout") as server:
            rate, got = await asyncio.to_thread(run_async, webhooks_per_second(server.url, urls))
    finally:
        for (proc, _), url in zip(procs, urls, strict=True):
            await stop(proc, f"{url}/quit")
    report.add(
        Result(
            "fanout_webhooks_per_second",
            rate,
            "deliveries/s",
            f"{rate / TARGET:.2f} of the {TARGET:g}/s target; {got} of {SUBSCRIPTIONS}"
            f" signed webhooks received by {RECEIVERS} receiver processes",
            {"subscriptions": SUBSCRIPTIONS, "received": got},
        )
    )
