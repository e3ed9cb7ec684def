"""A chaos run: matches replayed at high speed through separate poller, aggregator and
dispatcher processes (``notifier poll`` / ``aggregate`` / ``dispatch``, two replicas each) on a
private server with a password and AOF, webhook subscribers on loopback subscribed through the
API, and faults at random moments (:mod:`tests.chaos.monkey`). At the end, what every
subscriber accepted is compared with the pure expectation (:mod:`tests.chaos.scenario`).

The replay clock stands still until every match's first poll is stored, so a slow start of
the processes costs no match time; from then on it runs ``speed`` times faster than the wall.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr

from bench.common import server_binary
from notifier.bus.connect import cancel, connect
from notifier.bus.embedded import AppendFsync, EmbeddedServer
from notifier.channels.subscriptions import Subscription
from notifier.domain.alerts import Alert
from notifier.log import JsonFormatter
from notifier.replay.server import start_replay_server
from notifier.settings import ApiSettings, DeliverySettings, Settings, StreamSettings
from tests.chaos.monkey import AofWatch, Done, Monkey, event_ids, plan_faults
from tests.chaos.procs import ROLES, Worker, base_env
from tests.chaos.receivers import Hook, Receivers
from tests.chaos.report import Row, score
from tests.chaos.scenario import MatchPlan, expected_alerts, plan_matches
from tests.chaos.setup import (
    Gate,
    Secrets,
    count_events,
    find_leaks,
    first_polls_stored,
    follow,
    idle,
    serve_api,
    subscribe,
)
from workers.cli.commands import PRE_MATCH_LEAD_S, replay_settings

log = logging.getLogger("chaos")
START_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 120.0
QUIET_S = 1.5  # nothing new at any subscriber for this long: the run is over


@dataclass(frozen=True)
class ChaosConfig:
    """One run: how much is replayed, how fast, and how many faults of each kind."""

    matches: int = 10
    kills: int = 20
    redis_crashes: int = 1
    pauses: int = 1
    speed: float = 40.0
    fsync: AppendFsync = "always"
    stagger_s: float = 60.0  # virtual seconds between two kick-offs
    skip_s: float = 0.0  # virtual seconds of every match skipped (joined in play)
    replicas: int = 2
    partitions: int = 4
    shards: int = 0  # delivery.shards: 0 = each alert fanned out by its partition's owner
    lease_ttl_ms: int = 600
    flaky: float = 0.05  # share of first deliveries a subscriber answers 503
    seed: int = 6
    workdir: Path | None = None
    binary: Path | None = None  # the server (default: the bundled Valkey, else one on PATH)


@dataclass
class Outcome:
    """What a run found."""

    config: ChaosConfig
    rows: dict[str, Row] = field(default_factory=dict)
    faults: list[Done] = field(default_factory=list)
    crash: dict[str, Any] = field(default_factory=dict)
    recovered: list[str] = field(default_factory=list)  # events lost by the crash, re-derived
    leaks: dict[str, list[str]] = field(default_factory=dict)  # secret -> files it is in
    notes: dict[str, int] = field(default_factory=dict)  # takeovers etc. counted in the logs
    seconds: float = 0.0
    finished: bool = False
    workdir: Path = Path()
    server: str = ""  # the server binary's name and version

    @property
    def total(self) -> Row:
        """Every subscriber's figures summed."""
        return sum(self.rows.values(), Row())


def run_settings(
    cfg: ChaosConfig, redis_url: str, feed_url: str, hooks: str, secrets_: Secrets
) -> Settings:
    """The settings every process of the run gets (the workers by environment)."""
    base = Settings(
        redis_url=redis_url,
        console=False,
        heartbeat_s=0.5,
        shutdown_grace_s=2.0,
        streams=StreamSettings(
            partitions=cfg.partitions, lease_ttl_ms=cfg.lease_ttl_ms, claim_idle_ms=1000
        ),
        delivery=DeliverySettings(
            allow_http=True,
            allow_networks=["127.0.0.0/8"],
            telegram_url=hooks,
            retry_schedule_s=[0.2, 0.5, 1.0, 2.0, 4.0],
            jitter=0.1,
            retry_poll_s=0.05,
            timeout_s=2.0,
            shards=cfg.shards,
        ),
        api=ApiSettings(tokens=[SecretStr(secrets_.api_token)]),
    )
    paced = replay_settings(base, cfg.speed)
    feed = paced.provider("api-football").model_copy(
        update={"base_url": feed_url, "api_key": SecretStr(secrets_.feed_key)}
    )
    return paced.model_copy(update={"providers": paced.providers.replace("api-football", feed)})


async def run_chaos(cfg: ChaosConfig) -> Outcome:
    """Run one chaos replay; its outcome."""
    with contextlib.ExitStack() as keep:
        workdir = cfg.workdir or Path(keep.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        handler = _capture_logs(workdir / "logs" / "harness.log")
        try:
            return await _run(replace(cfg, workdir=workdir), workdir)
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()


def _capture_logs(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    return handler


@dataclass
class Run:
    """What a running chaos replay is made of."""

    cfg: ChaosConfig
    workdir: Path
    plans: list[MatchPlan]
    secrets: Secrets
    server: EmbeddedServer
    r: Any = None
    settings: Settings | None = None
    receivers: Receivers = field(default_factory=Receivers)
    workers: list[Worker] = field(default_factory=list)
    gate: Gate = field(default_factory=Gate)


async def _run(cfg: ChaosConfig, workdir: Path) -> Outcome:
    plans = plan_matches(cfg.matches, stagger_s=cfg.stagger_s, skip_s=cfg.skip_s)
    secrets_ = Secrets()
    server = EmbeddedServer(
        workdir / "redis",
        binary=cfg.binary or server_binary(),
        appendfsync=cfg.fsync,
        password=secrets_.redis_password,
        extra_args=["--auto-aof-rewrite-percentage", "0"],
    )
    run = Run(cfg, workdir, plans, secrets_, server)
    out = Outcome(cfg, workdir=workdir)
    async with contextlib.AsyncExitStack() as stack:
        subs = await _set_up(run, stack)
        assert run.settings is not None
        info = await run.r.info("server")
        version = info.get("valkey_version") or info.get("redis_version")
        out.server = f"{server.binary.name} {version}"
        await _chaos(run, out)
        for worker in run.workers:
            await worker.stop()
        lost = set(out.crash.get("events_lost", ()))
        out.recovered = sorted(lost & await event_ids(run.r, cfg.partitions))
        start_at = -PRE_MATCH_LEAD_S
        expected = [a for p in plans for a in expected_alerts(p, start_at, run.settings)]
        hooks = run.receivers.hooks
        out.rows = {
            name: score(sub, hooks[name], expected, cfg.speed) for name, sub in subs.items()
        }
        _dump(workdir, hooks, expected)
    out.leaks = find_leaks(workdir, secrets_.named())
    out.notes = count_events(workdir)
    return out


async def _set_up(run: Run, stack: contextlib.AsyncExitStack) -> dict[str, Subscription]:
    """Server, feed, subscribers, API, subscriptions, followed matches, workers: all ready."""
    cfg = run.cfg
    await stack.enter_async_context(run.server)
    await run.receivers.start()
    stack.push_async_callback(run.receivers.close)
    feed = await start_replay_server(
        [p.timeline for p in run.plans],  # type: ignore[misc]
        speed=cfg.speed,
        start_offset=-PRE_MATCH_LEAD_S,
        api_key=run.secrets.feed_key,
        time_fn=run.gate,
    )
    stack.push_async_callback(feed.close)
    run.settings = run_settings(cfg, run.server.url, feed.url, run.receivers.url, run.secrets)
    run.r = connect(run.server.url)
    stack.push_async_callback(run.r.aclose)
    api = await serve_api(run.settings, run.r, stack)
    subs = await subscribe(api, run.secrets, run.plans, run.receivers, cfg.flaky)
    await follow(run.r, run.settings, run.plans)
    env = base_env(run.server.url, run.workdir, run.settings)
    run.workers = [Worker(role, n, env, run.workdir) for n in range(cfg.replicas) for role in ROLES]
    for worker in run.workers:
        stack.push_async_callback(worker.kill)
        await worker.start()
    settings = run.settings
    await _until(
        lambda: first_polls_stored(run.r, settings, run.plans), START_TIMEOUT_S, "first polls"
    )
    return subs


async def _until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """Wait (bounded) until ``check()`` holds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"chaos: {what} not within {within:.0f} s")
        await asyncio.sleep(0.1)


async def _chaos(run: Run, out: Outcome) -> None:
    """Open the clock, run the faults over the match time, then wait for the pipeline to drain."""
    cfg = run.cfg
    span = (max(p.timeline.end for p in run.plans) + PRE_MATCH_LEAD_S) / cfg.speed
    rng = random.Random(cfg.seed)
    faults = plan_faults(
        rng, 0.95 * span, kills=cfg.kills, redis=cfg.redis_crashes, pauses=cfg.pauses
    )
    aof = AofWatch(run.server.data_dir)
    monkey = Monkey(
        run.workers,
        run.server,
        run.r,
        rng,
        cfg.fsync,
        pause_s=3 * cfg.lease_ttl_ms / 1000,
        aof=aof,
        partitions=cfg.partitions,
    )
    sampler = asyncio.create_task(aof.run())
    run.gate.open()
    started = time.monotonic()
    try:
        await monkey.run(faults, started)
    finally:
        await cancel(sampler)
    out.faults, out.crash = monkey.done, monkey.crash
    left = span - (time.monotonic() - started)
    out.finished = await _drain(run, max(0.0, left) + DRAIN_TIMEOUT_S)
    out.seconds = time.monotonic() - started


async def _drain(run: Run, within: float) -> bool:
    """Wait until the run is over and the subscribers have heard nothing new for a while."""
    assert run.settings is not None
    deadline = time.monotonic() + within
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        heard = sum(len(h.arrivals) for h in run.receivers.hooks.values())
        if heard != last:
            last, quiet_since = heard, time.monotonic()
        quiet = time.monotonic() - quiet_since >= QUIET_S
        if quiet and await idle(run.r, run.settings, run.plans):
            return True
        await asyncio.sleep(0.2)
    return False


def _dump(workdir: Path, hooks: dict[str, Hook], expected: list[Alert]) -> None:
    """What each subscriber accepted, in order, and the expectation: for a look afterwards."""
    for name, hook in hooks.items():
        rows = [[a.webhook_id, a.alert_id, a.kind] for a in hook.arrivals]
        (workdir / f"arrivals-{name}.json").write_bytes(orjson.dumps(rows))
    (workdir / "expected.json").write_bytes(orjson.dumps([[a.id, a.text] for a in expected]))
