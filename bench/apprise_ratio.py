"""Webhook vs Apprise: the same 1,000 alerts to a receiver in another process, once through our
signed-webhook channel and SSRF-safe keep-alive session, once through Apprise (``json://``).

Both go through the dispatcher's :class:`workers.deliver.send.Deliverer`, so both get its default
bounds (``delivery.concurrency`` in all, ``delivery.per_host`` to one host), on the event loop
``notifier dispatch`` delivers on (:func:`workers.cli.main.run_async`, in a thread of its own).
Apprise
then runs each notification in a worker thread with a fresh ``requests`` connection: that is
what we measure against. Every delivery is checked received. Loopback only.

``python -m bench.apprise_ratio`` runs it alone (nothing written to results.json).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import aiohttp

from bench.common import Report, Result
from bench.procs import spawn, stop
from notifier.channels.apprise import apprise_installed
from notifier.channels.subscriptions import ChannelName, Subscription, SubscriptionSpec, new_id
from notifier.channels.webhook import generate_secret
from notifier.domain.alerts import Alert
from notifier.domain.models import MatchStatus, Score
from notifier.settings import Settings
from workers.cli.main import run_async
from workers.deliver.send import Deliverer, build_channels, open_session

ALERTS = 1000
WARMUP = 20  # untimed first: connections, Apprise's lazy plugin loading
TARGET = 10.0  # webhook deliveries/s over Apprise's
NAME = "fanout_apprise_ratio"


def alerts(count: int = ALERTS) -> list[Alert]:
    """``count`` distinct goal alerts about Atalanta."""
    now = datetime.now(UTC)
    return [
        Alert(
            id=f"api-football:1:goal:bench:{i}",
            kind="goal",
            text="GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate",
            match="api-football:1",
            event=f"api-football:1:goal:bench:{i}",
            home="Atalanta",
            away="Dortmund",
            status=MatchStatus.FIRST_HALF,
            minute=23,
            score=Score(home=1, away=0),
            occurred_at=now,
            detected_at=now,
            emitted_at=now,
        )
        for i in range(count)
    ]


def loopback_settings() -> Settings:
    """Default delivery settings, the loopback receiver allowed."""
    base = Settings.load(None)
    delivery = base.delivery.model_copy(
        update={"allow_http": True, "allow_networks": ["127.0.0.0/8"]}
    )
    return base.model_copy(update={"delivery": delivery, "console": False})


def subscription(channel: ChannelName, url: str, secret: str | None = None) -> Subscription:
    """One subscription to Atalanta through ``channel``."""
    now = datetime.now(UTC)
    spec = SubscriptionSpec(channel=channel, url=url, secret=secret, teams=["Atalanta"])
    return Subscription(id=new_id(), owner="bench", spec=spec, created_at=now, updated_at=now)


async def received(url: str) -> int:
    """Deliveries the receiver got so far."""
    async with aiohttp.ClientSession() as s, s.get(f"{url}/received") as resp:
        return len(await resp.json())


async def deliver_all(deliverer: Deliverer, sub: Subscription, batch: list[Alert]) -> float:
    """Seconds to deliver every alert of ``batch`` to ``sub``; RuntimeError if any failed."""
    started = time.perf_counter()
    async with asyncio.timeout(600):
        results = await asyncio.gather(*(deliverer.send(a, sub) for a in batch))
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.outcome != "delivered"]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(batch)} failed: {failed[0].error}")
    return elapsed


async def measure(url: str) -> tuple[float, float, int]:
    """(webhook deliveries/s, Apprise deliveries/s, deliveries received in all)."""
    settings = loopback_settings()
    batch = alerts()
    session = open_session(settings)
    try:
        deliverer = Deliverer(build_channels(session, settings), settings.delivery)
        hook = subscription("webhook", f"{url}/hook/webhook", generate_secret())
        via = subscription("apprise", f"json://{url.removeprefix('http://')}/hook/apprise")
        for sub in (hook, via):
            await deliver_all(deliverer, sub, alerts(WARMUP))
        webhook_s = await deliver_all(deliverer, hook, batch)
        apprise_s = await deliver_all(deliverer, via, batch)
    finally:
        await session.close()
    return len(batch) / webhook_s, len(batch) / apprise_s, await received(url)


async def run(report: Report) -> None:
    """Measure both, print the comparison line, report the ratio."""
    if not apprise_installed():
        report.pending(NAME, "apprise is not installed (pip install '.[apprise]')")
        return
    proc, line = await spawn("bench.receiver")
    url = line[1]
    try:
        webhook_rate, apprise_rate, got = await asyncio.to_thread(run_async, measure(url))
    finally:
        await stop(proc, f"{url}/quit")
    ratio = webhook_rate / apprise_rate
    print(
        f"webhook_vs_apprise: {webhook_rate:,.0f} deliveries/s vs {apprise_rate:,.0f}"
        f" deliveries/s (ratio {ratio:.1f}×)",
        flush=True,
    )
    report.add(
        Result(
            NAME,
            ratio,
            "×",
            f"{ratio / TARGET:.2f} of the {TARGET:g}× target;"
            f" {got} of {2 * (ALERTS + WARMUP)} received",
            {"webhook_per_s": webhook_rate, "apprise_per_s": apprise_rate, "alerts": ALERTS},
        )
    )


if __name__ == "__main__":
    asyncio.run(run(Report()))
