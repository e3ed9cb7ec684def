"""Latency with ``MATCHES`` live matches replaying, through the real pipeline.

The feed (:mod:`bench.feed_server`), the webhook receiver (:mod:`bench.receiver`) and the
poller (``notifier poll``, every match at its live interval: 15 s, jitter off) run in their own
processes; the aggregator and the dispatcher (delivering through one signed-webhook subscription
per match to the receiver) run in this one, as ``notifier aggregate`` and ``notifier dispatch``
would.

* event → alert: the alert's ``detected_at`` (poll time, before the poller's commit) to its
  ``emitted_at`` (the aggregator's fold), the span ``notifier_event_to_alert_seconds`` observes.
* alert → webhook received: ``emitted_at`` to the receiver's clock on arrival (same machine).
* feed change → alert received: the moment the feed starts serving a new score (known from the
  timelines, to the virtual minute the feed caches) to the goal alert's arrival. A score that
  is served for less than a poll interval (a goal VAR takes back two match minutes later: four
  seconds at this clock) can be missed by any poller; such changes are counted apart.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from pydantic import SecretStr

from bench.common import Report, Result, percentile, private_server, timelines
from bench.feed_server import API_KEY
from bench.procs import spawn, spawn_poller, stop
from notifier.bus import keys
from notifier.bus.connect import connect
from notifier.bus.subscriptions import SubscriptionStore
from notifier.bus.watches import Watch, add_watch
from notifier.channels.subscriptions import Subscription, SubscriptionSpec, new_id
from notifier.channels.webhook import generate_secret
from notifier.domain.alerts import ALERT, Alert
from notifier.replay.api_football import Timeline
from notifier.settings import ProviderSettings, Settings
from workers.cli.runtime import open_pipeline, serve

MATCHES = 200
SPEED = 30.0  # the match clock; the poll interval stays in wall seconds
OFFSET = 300.0  # virtual seconds into the match when the feed starts
SPREAD = 2700.0  # matches shifted by up to this much, so they are not in step
DURATION = 75.0  # wall seconds of the run
WARMUP = 5.0  # the first poll of every match catches up on what already happened
LIVE_S = 15.0
# At 30x a half-time lasts 30 s; the poller's half-time pace (60 s) would outlast it.
# The live pace is fixed here (floor = interval): the budgeted figure is bench.latency_budgeted.
HALF_TIME_AT_LIVE_PACE = {
    "NOTIFIER_POLL__HALF_TIME_S": str(LIVE_S),
    "NOTIFIER_POLL__LIVE_FLOOR_S": str(LIVE_S),
}


def settings_for(redis_url: str, feed_url: str, live_s: float = LIVE_S) -> Settings:
    """Default settings, pointed at the bench feed; jitter off; deliveries to loopback allowed."""
    base = Settings.load(None, redis_url=redis_url)
    provider = ProviderSettings(
        base_url=feed_url, api_key=SecretStr(API_KEY), requests_per_minute=100_000
    )
    return base.model_copy(
        update={
            "providers": base.providers.replace("api-football", provider),
            "poll": base.poll.model_copy(update={"live_s": live_s, "jitter_s": 0.0}),
            "delivery": base.delivery.model_copy(
                update={"allow_http": True, "allow_networks": ["127.0.0.0/8"]}
            ),
            "console": False,
        }
    )


async def follow(r: Any, settings: Settings, played: Sequence[Timeline], hook: str) -> None:
    """Watch every match, with a webhook subscription of its own (its subscriber's bot)."""
    store = SubscriptionStore(r, aliases=settings.aliases)
    secret = generate_secret()
    now = datetime.now(UTC)
    for t in played:
        watch = Watch(provider="api-football", match_id=str(t.fixture_id))
        await add_watch(r, watch)
        spec = SubscriptionSpec(
            channel="webhook", url=f"{hook}/{t.fixture_id}", secret=secret, matches=[watch.key]
        )
        sub = Subscription(id=new_id(), owner="bench", spec=spec, created_at=now, updated_at=now)
        await store.create(sub)


async def alerts_emitted(r: Any, settings: Settings) -> list[Alert]:
    """Every alert in the alert streams."""
    out = []
    for p in range(settings.streams.partitions):
        for _, fields in await r.xrange(keys.alerts(p)):
            out.append(ALERT.validate_json(fields[b"body"]))
    return out


def score_changes(
    t: Timeline, started: float, until: float, speed: float = SPEED
) -> list[tuple[float, int, int]]:
    """(wall time, home, away) of the score served first, then whenever it changes (the feed
    serves one answer per virtual minute)."""
    out: list[tuple[float, int, int]] = []
    v = OFFSET
    while v <= OFFSET + (until - started) * speed:
        goals = orjson.loads(t.fixture_json(v)).get("goals") or {}
        now = (goals.get("home") or 0, goals.get("away") or 0)
        if not out or now != out[-1][1:]:
            out.append((started + (v - OFFSET) / speed, *now))
        v += 60.0
    return out


def lasting(
    changes: list[tuple[float, int, int]], interval: float = LIVE_S
) -> tuple[list[tuple[float, int, int]], int]:
    """The changes (after the first score) a poller every ``interval`` must see: those served
    for less are dropped, and so is a return to the score seen before them; the number dropped."""
    kept = changes[:1]
    dropped = 0
    for i, change in enumerate(changes[1:], start=1):
        brief = i + 1 < len(changes) and changes[i + 1][0] - change[0] < interval
        if brief or kept[-1][1:] == change[1:]:
            dropped += 1
        else:
            kept.append(change)
    return kept[1:], dropped


def feed_to_received(
    played: Sequence[Timeline],
    received: list[dict[str, Any]],
    started: float,
    window: tuple[float, float],
    speed: float = SPEED,
    interval: float = LIVE_S,
) -> tuple[list[float], int, int]:
    """Latencies from each lasting score change in the window to its goal alert's arrival;
    changes without one; changes undone within a poll interval (not counted)."""
    by_match: dict[str, list[dict[str, Any]]] = {}
    for got in received:
        if got["kind"] in ("goal", "goal_cancelled"):
            by_match.setdefault(got["match"], []).append(got)
    out: list[float] = []
    missed = transient = 0
    for t in played:
        served = score_changes(t, started, window[1] + 2 * interval, speed)
        changes, dropped = lasting(served, interval)
        transient += dropped
        for at, home, away in changes:
            if not window[0] <= at <= window[1]:
                continue
            arrivals = [
                g["at"]
                for g in by_match.get(f"api-football:{t.fixture_id}", [])
                if (g["score"]["home"], g["score"]["away"]) == (home, away) and g["at"] >= at
            ]
            if arrivals:
                out.append(min(arrivals) - at)
            else:
                missed += 1
    return out, missed, transient


async def run_pipeline_for(settings: Settings, seconds: float) -> None:
    """Aggregator and dispatcher in this process, for ``seconds``."""
    async with contextlib.AsyncExitStack() as stack:
        pipe = await open_pipeline(settings, stack, roles=("aggregate", "dispatch"))
        deadline = time.monotonic() + seconds

        async def done() -> bool:
            return time.monotonic() >= deadline

        await serve(pipe, done=done)


async def run(report: Report) -> None:
    """Run the replay and report the three latencies."""
    played = timelines(MATCHES, spread_s=SPREAD)
    feed, (_, feed_url, started) = await spawn(
        "bench.feed_server", str(MATCHES), str(SPEED), str(OFFSET), str(SPREAD)
    )
    receiver, (_, receiver_url) = await spawn("bench.receiver")
    try:
        async with private_server("latency") as server:
            settings = settings_for(server.url, feed_url)
            r = connect(server.url)
            await follow(r, settings, played, f"{receiver_url}/hook")
            poller = await spawn_poller(
                server.url, feed_url, live_s=LIVE_S, jitter_s=0, extra=HALF_TIME_AT_LIVE_PACE
            )
            begin = time.time()
            try:
                await run_pipeline_for(settings, DURATION)
            finally:
                await stop(poller)
            end = time.time()
            emitted = await alerts_emitted(r, settings)
            await r.aclose()
        async with aiohttp.ClientSession() as s, s.get(f"{receiver_url}/received") as resp:
            received = await resp.json()
    finally:
        await stop(feed, f"{feed_url}/bench/quit")
        await stop(receiver, f"{receiver_url}/quit")
    _report(report, emitted, received, played, float(started), (begin + WARMUP, end))


def _report(
    report: Report,
    emitted: list[Alert],
    received: list[dict[str, Any]],
    played: Sequence[Timeline],
    started: float,
    window: tuple[float, float],
) -> None:
    live = [a for a in emitted if a.detected_at.timestamp() >= window[0]]
    fold = [(a.emitted_at - a.detected_at).total_seconds() * 1000 for a in live]
    ids = {a.id for a in live}
    emitted_at = {a.id: a.emitted_at.timestamp() for a in live}
    hook = [(g["at"] - emitted_at[g["id"]]) * 1000 for g in received if g["id"] in ids]
    changes, missed, transient = feed_to_received(
        played, received, started, (window[0], window[1] - LIVE_S - 5)
    )
    add_latency(report, "latency_event_to_alert", fold, "ms", 20.0, f"{len(fold)} alerts")
    add_latency(
        report, "latency_alert_to_webhook_received", hook, "ms", 50.0, f"{len(hook)} deliveries"
    )
    note = (
        f"{len(changes)} score changes, {missed} without alert ({transient} undone within a"
        f" poll interval not counted); poll every {LIVE_S:g} s, jitter off"
    )
    target = LIVE_S + 0.25
    add_latency(report, "latency_feed_change_to_alert_received", changes, "s", target, note)


def add_latency(
    report: Report, name: str, values: list[float], unit: str, target: float, note: str
) -> None:
    """One ``NAME_p99`` line with p50, the target and the sample size."""
    p50, p99 = percentile(values, 50), percentile(values, 99)
    report.add(
        Result(
            f"{name}_p99",
            p99,
            unit,
            f"p50 {p50:.3g} {unit}; {p99 / target:.2f} of the {target:g} {unit} target; {note};"
            f" {MATCHES} live matches",
            {"p50": p50, "p99": p99, "n": len(values), "target": target},
        )
    )
