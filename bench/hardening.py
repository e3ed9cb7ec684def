"""Issue 15's two "done when" figures.

* ``/healthz`` p99 while 1,500 connections sit half-sent (kept at 1,500: the ones the server
  times out are opened again) and four clients list 10,000 subscriptions in 200-item pages
  (the largest) without pause; the API in a process of its own (on ``notifier api``'s loop),
  with its default limits, and the load in another (:mod:`bench.api_load`), as from another
  machine: the prober's process does nothing but time ``/healthz``.
* A fast receiver's delivery p99 on a host it shares with 40 hanging targets, 5 answering
  10 MB and 5 answering a byte a second (:mod:`bench.slow_receiver`, another process on the
  same host; each sent to again a second after its last try ended, or after its retry wait
  up to 5 s), with the default delivery settings (32 slots per host). The fast receiver has
  answered once before the slow ones start (it is known to answer quickly).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime

import aiohttp
from aiohttp import web

from bench.common import Report, Result, percentile, private_server
from bench.procs import spawn, stop
from notifier.api.auth import owner_of
from notifier.bus.connect import cancel, connect
from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.subscriptions import Subscription, SubscriptionSpec, new_id
from notifier.channels.webhook import generate_secret
from notifier.settings import Settings
from workers.deliver.send import Deliverer, build_channels, open_session

TOKEN = "bench-token"
SUBS = 10_000
HEALTHZ_SAMPLES = 400
FAST_SENDS = 300
HANGING, HUGE, TRICKLE = 40, 5, 5


async def _fill(redis_url: str) -> None:
    r = connect(redis_url)
    store = SubscriptionStore(r)
    now = datetime.now(UTC)
    spec = SubscriptionSpec(channel="ntfy", url="https://ntfy.example", teams=["X"],
                            options={"topic": "bench"})  # fmt: skip
    owner = owner_of(TOKEN)
    for _ in range(SUBS):
        await store.create(Subscription(id=new_id(), owner=owner, spec=spec,
                                        created_at=now, updated_at=now))  # fmt: skip
    await r.aclose()


async def healthz_under_load(report: Report) -> None:
    async with private_server("hardening") as server:
        await _fill(server.url)
        proc, (_, base) = await spawn("bench.api_server", server.url, TOKEN)
        load = None
        try:
            seconds = HEALTHZ_SAMPLES * 0.025 + 2.0
            load, _ = await spawn("bench.api_load", base, TOKEN, str(seconds))
            waits = []
            async with aiohttp.ClientSession(base) as http:
                for _ in range(HEALTHZ_SAMPLES):
                    started = time.monotonic()
                    async with http.get("/healthz") as resp:
                        await resp.read()
                    waits.append(time.monotonic() - started)
                    await asyncio.sleep(0.025)
            assert load.stdout is not None
            pages = int((await asyncio.wait_for(load.stdout.readline(), 60)).split()[1])
        finally:
            if load is not None:
                await stop(load)
            await stop(proc)
    p99 = percentile(waits, 99) * 1000
    ratio = (
        f"limit 100 ms; p50 {percentile(waits, 50) * 1000:.1f} ms; "
        f"{pages} list pages of 200 meanwhile"
    )
    report.add(Result("api_healthz_p99_under_1500_slow_conns_and_4_lists", p99, "ms", ratio))


async def _fast(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text="ok")


def _hook(url: str) -> Subscription:
    now = datetime.now(UTC)
    spec = SubscriptionSpec(channel="webhook", url=url, secret=generate_secret(), teams=["X"])
    return Subscription(id=new_id(), owner="o", spec=spec, created_at=now, updated_at=now)


async def fast_beside_hanging(report: Report, seconds: float = 30.0) -> None:
    from tests.integration.deliver.test_delivery_support import make_alert

    app = web.Application()
    app.router.add_post("/fast", _fast)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"  # the same host as the slow ones
    proc, (_, slow_url) = await spawn("bench.slow_receiver")
    base = Settings.load(None)
    settings = base.delivery.model_copy(
        update={"allow_http": True, "allow_networks": ["127.0.0.0/8"]}
    )
    session = open_session(base.model_copy(update={"delivery": settings}))
    deliverer = Deliverer(
        build_channels(session, base.model_copy(update={"delivery": settings})), settings
    )
    stop_at = time.monotonic() + seconds
    slow = [_hook(f"{slow_url}/hang/{i}") for i in range(HANGING)]
    slow += [_hook(f"{slow_url}/huge/{i}") for i in range(HUGE)]
    slow += [_hook(f"{slow_url}/trickle/{i}") for i in range(TRICKLE)]

    async def keep_sending(sub: Subscription) -> None:
        n = 0
        while time.monotonic() < stop_at:
            result = await deliverer.send(make_alert(n), sub)
            n += 1
            await asyncio.sleep(
                min(result.retry_after or 5.0, 5.0) if result.outcome == "retry" else 1.0
            )

    fast = _hook(f"{url}/fast")
    await deliverer.send(make_alert(9_999), fast)  # a receiver that has been answering
    tasks = [asyncio.create_task(keep_sending(s)) for s in slow]
    await asyncio.sleep(0.2)
    waits = []
    for n in range(FAST_SENDS):
        started = time.monotonic()
        result = await deliverer.send(make_alert(10_000 + n), fast)
        waits.append(time.monotonic() - started)
        assert result.outcome == "delivered", result
        await asyncio.sleep(max(0.0, seconds / FAST_SENDS - waits[-1]))
    with contextlib.suppress(Exception):  # a failed sender is not this figure's concern
        await cancel(*tasks)
    await session.close()
    await runner.cleanup()
    await stop(proc)
    p99 = percentile(waits, 99) * 1000
    ratio = (
        f"limit 200 ms; p50 {percentile(waits, 50) * 1000:.1f} ms; "
        f"max {max(waits) * 1000:.0f} ms; {FAST_SENDS} sends over {seconds:g} s"
    )
    name = "delivery_fast_receiver_p99_beside_50_slow_targets_same_host"
    report.add(Result(name, p99, "ms", ratio))


async def run(report: Report) -> None:
    """Both figures."""
    await healthz_under_load(report)
    await fast_beside_hanging(report)
