"""One alert to 100,000 webhook subscriptions; one dispatcher process, then two, with the
fan-out sharded (``delivery.shards`` = 8: every dispatch process delivers the shards it holds).

The receiver is Debian's nginx answering ``204`` on four loopback ports (installed by
:mod:`bench.nginx` when missing and we are root; else the lean asyncio receiver of
:mod:`bench.lean_receiver`, and the line says which), so the receiving end costs little of the
two cores. The subscriptions follow the team and spread over the four ports. Dispatchers run as
``notifier dispatch`` processes; a first alert of a kind nobody wants (``status``) makes each
one load and parse the subscriptions before the clock starts (a running dispatcher has them).

* ``fanout_one_alert_100k_time_to_last``: from the goal alert's XADD to the receiver having
  every one of the 100,000 deliveries (its count polled every 20 ms), one dispatcher.
* ``fanout_dispatcher_scaling``: time to last with one dispatcher over time to last with two.
* ``fanout_deliveries_per_cpu_second``: deliveries over the CPU seconds the dispatchers spent
  (psutil, user + system) from the XADD to the last delivery, one dispatcher.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime

import psutil

from bench.common import ROOT, Report, Result, private_server
from bench.fanout import goal_alert
from bench.nginx import Receiver, start_receiver
from bench.procs import stop
from notifier.bus import keys, streams
from notifier.bus.connect import connect
from notifier.bus.entries import alert_fields
from notifier.bus.shards import shard_partitions
from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.subscriptions import Subscription, SubscriptionSpec, new_id
from notifier.channels.webhook import generate_secret
from notifier.domain.alerts import Alert
from notifier.settings import DeliverySettings, Settings
from workers.deliver import shards

SUBSCRIPTIONS = 100_000
PORTS = 4
SHARDS = 8  # delivery.shards: one alert's fan-out shared by every dispatch process
TARGET_SCALING = 1.6
TARGET_PER_CPU = 10_000.0
DEADLINE_S = 120.0  # a fan-out not done by then is reported incomplete


async def subscribe(r: object, urls: list[str]) -> None:
    """``SUBSCRIPTIONS`` webhook subscriptions to Atalanta over the receiver's ports."""
    store = SubscriptionStore(r, aliases={})  # type: ignore[arg-type]
    now = datetime.now(UTC)
    secret = generate_secret()

    async def one(i: int) -> None:
        spec = SubscriptionSpec(
            channel="webhook",
            url=f"{urls[i % len(urls)]}/hook/{i}",
            secret=secret,
            teams=["Atalanta"],
        )
        sub = Subscription(
            id=new_id(), owner=f"bench{i % 1000}", spec=spec, created_at=now, updated_at=now
        )
        await store.create(sub)

    for start in range(0, SUBSCRIPTIONS, 32):
        await asyncio.gather(*(one(i) for i in range(start, min(start + 32, SUBSCRIPTIONS))))


def _alert(run: int, kind: str) -> Alert:
    alert = goal_alert()
    return alert.model_copy(update={"id": f"{alert.id}:{kind}:{run}", "kind": kind})


async def spawn_dispatcher(redis_url: str, name: str) -> asyncio.subprocess.Process:
    """``notifier dispatch`` configured by environment, loopback targets allowed."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": redis_url,
        "NOTIFIER_CONFIG": os.devnull,
        "NOTIFIER_LOG_LEVEL": "WARNING",
        "NOTIFIER_CONSOLE": "false",
        "NOTIFIER_DELIVERY__ALLOW_HTTP": "true",
        "NOTIFIER_DELIVERY__ALLOW_NETWORKS": '["127.0.0.0/8"]',
        "NOTIFIER_DELIVERY__SHARDS": str(SHARDS),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *_profiled(name),
        *("-m", "workers.cli", "dispatch"),
        cwd=tempfile.gettempdir(),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
    )


def _profiled(name: str) -> tuple[str, ...]:
    """With BENCH_PROFILE=1, each dispatcher runs under pyinstrument, its profile beside
    results.json (the bench's own profile shows only the bench)."""
    if os.environ.get("BENCH_PROFILE") != "1":
        return ()
    out = ROOT / "bench" / f"profile-dispatch-{name}.txt"
    return ("-m", "pyinstrument", "-r", "text", "-o", str(out))


async def wait_for(check: object, seconds: float, every: float = 0.02) -> bool:
    """Poll ``check()`` (a coroutine function) until true or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return True
        await asyncio.sleep(every)
    return False


def cpu_of(procs: list[psutil.Process]) -> float:
    """CPU seconds (user + system) of the processes so far."""
    return sum(t.user + t.system for t in (p.cpu_times() for p in procs))


async def one_run(
    redis_url: str, receiver: Receiver, run: int, dispatchers: int
) -> tuple[float, float, int]:
    """(time to last, dispatchers' CPU seconds, deliveries received), ``dispatchers`` processes."""
    r = connect(redis_url)
    p = keys.partition_of("api-football:1", 1)
    lease = keys.partition_lease(p, "dispatcher")
    shard_leases = [keys.partition_lease(s, "deliverer") for s in shard_partitions(SHARDS)]
    await r.delete(lease, *shard_leases)  # the last run's holders are gone: no waiting for them
    procs = [await spawn_dispatcher(redis_url, f"bench-{run}-{i}") for i in range(dispatchers)]
    try:
        ps = [psutil.Process(x.pid) for x in procs]
        await wait_for(lambda: _ready(r, [lease, *shard_leases], dispatchers), 60, 0.1)
        await asyncio.sleep(3.0)  # leases are claimed once a second: the shards shared fairly
        base = await receiver.count()
        await streams.publish(r, keys.alerts(p), alert_fields(_alert(run, "status")), maxlen=1000)
        await wait_for(lambda: _acked(r, p), 120, 0.1)  # subscriptions loaded and parsed
        cpu0 = cpu_of(ps)
        started = time.monotonic()
        await streams.publish(r, keys.alerts(p), alert_fields(_alert(run, "goal")), maxlen=1000)

        async def done() -> bool:
            return await receiver.count() - base >= SUBSCRIPTIONS

        await wait_for(done, DEADLINE_S)
        elapsed = time.monotonic() - started
        cpu = cpu_of(ps) - cpu0
        got = await receiver.count() - base
    finally:
        for x in procs:
            await stop(x)
        await r.aclose()
    return elapsed, cpu, got


async def _ready(r: object, leases: list[str], n: int) -> bool:
    """Every dispatcher in, the alert partition and every shard held, shared fairly."""
    members = await r.zcard(keys.members("deliverer"))  # type: ignore[attr-defined]
    held = await r.exists(*leases)  # type: ignore[attr-defined]
    return bool(held == len(leases) and members >= n)


async def _acked(r: object, p: int) -> bool:
    waiting, pending = await streams.lag(r, keys.alerts(p), keys.GROUP_DISPATCHER)  # type: ignore[arg-type]
    settings = Settings.load(None).model_copy(update={"delivery": _sharded()})
    return waiting + pending == 0 and await shards.pending_work(r, settings) == 0  # type: ignore[arg-type]


def _sharded() -> DeliverySettings:
    return Settings.load(None).delivery.model_copy(update={"shards": SHARDS})


async def run(report: Report) -> None:
    """Set up 100,000 subscriptions and one receiver; fan one alert out with 1, then 2."""
    receiver = await start_receiver(PORTS)
    try:
        async with private_server("fanout-100k") as server:
            r = connect(server.url)
            await subscribe(r, receiver.urls)
            await r.aclose()
            one, cpu, got = await one_run(server.url, receiver, 1, 1)
            two, _, got2 = await one_run(server.url, receiver, 2, 2)
    finally:
        await receiver.close()
    _report(report, receiver.kind, (one, cpu, got), (two, got2))


def _complete(got: int) -> str:
    """A warning in front of a figure whose fan-out did not finish within ``DEADLINE_S``."""
    return "" if got >= SUBSCRIPTIONS else f"INCOMPLETE after {DEADLINE_S:g} s: "


def _report(
    report: Report, kind: str, one: tuple[float, float, int], two: tuple[float, int]
) -> None:
    elapsed, cpu, got = one
    report.add(
        Result(
            "fanout_one_alert_100k_time_to_last",
            elapsed,
            "s",
            f"{_complete(got)}{got:,} of {SUBSCRIPTIONS:,} signed webhooks received"
            f" ({got / elapsed:,.0f}/s) by"
            f" {kind} on {PORTS} loopback ports; one notifier dispatch process, {SHARDS} shards",
            {"received": got, "receiver": kind, "dispatchers": 1},
        )
    )
    scaling = elapsed / two[0]
    report.add(
        Result(
            "fanout_dispatcher_scaling",
            scaling,
            "×",
            f"{scaling / TARGET_SCALING:.2f} of the {TARGET_SCALING:g}x target; time to last"
            f" {elapsed:.1f} s with 1 dispatcher, {two[0]:.1f} s with 2, {SHARDS} shards"
            f" ({_complete(two[1])}"
            f"{two[1]:,} received)",
            {"one": elapsed, "two": two[0], "received_two": two[1]},
        )
    )
    per_cpu = got / cpu if cpu > 0 else 0.0
    report.add(
        Result(
            "fanout_deliveries_per_cpu_second",
            per_cpu,
            "deliveries/CPU-s",
            f"{per_cpu / TARGET_PER_CPU:.2f} of the {TARGET_PER_CPU:,.0f} target; {cpu:.1f} CPU-s"
            f" of the dispatcher for {got:,} deliveries",
            {"cpu_s": cpu, "received": got},
        )
    )
