"""``make soak``: N matches through the whole pipeline, in waves; per-wave growth of keys, keys
without a TTL, stream entries, Redis memory and resident memory (issue 15: nothing may grow per
match).

The replayed recordings (cloned under distinct fixture ids, every other match the leg of a
tie) are served at ``--speed`` by a replay feed in a process of its own, one per wave
(:mod:`bench.soak_feed`); the poller, aggregator and dispatcher run in this process against a
private Valkey, delivering each alert to a webhook receiver here too, with ``retention_hours``
of a few seconds. Wave k kicks off once wave k-1 is measured. After each wave has finished, its
retention has passed and the sweep has forgotten it, one row is printed. It exits 1, saying
why, if a finished match kept a key without a TTL (``finished_no_ttl``) or a measure grew per
match after the warm-up waves by more than :data:`FLAT` allows.

    python -m bench.soak [--matches 80] [--waves 8] [--speed 900] [--retention-s 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from aiohttp import web
from redis.asyncio import Redis

from bench.common import load_json, private_server, recordings
from bench.procs import spawn, stop
from bench.soak_probe import Sample, sample, table, verdict
from notifier.bus import keys
from notifier.bus.subscriptions import SubscriptionStore
from notifier.bus.watches import add_watch, save_tie
from notifier.channels.subscriptions import Subscription, SubscriptionSpec, new_id
from notifier.channels.webhook import generate_secret
from notifier.domain.tie import TieSpec, parse_first_leg
from notifier.domain.watch import Watch
from notifier.settings import Settings
from workers.cli.commands import point_at, replay_settings
from workers.cli.runtime import Pipeline, open_pipeline, serve

FIRST_ID = 9_100_000
FIRST_LEG = "Borussia Dortmund 2-0 Atalanta"  # of the scripted scenario's tie
WAVE_TIMEOUT_S = float(
    os.environ.get("SOAK_WAVE_TIMEOUT_S", "120")
)  # wall seconds a wave may take before the soak gives up
SWEPT_TIMEOUT_S = 30.0  # wall seconds a wave's matches may take to be swept past the retention
# The first waves fill what is filled once: pools, caches (the alert texts' memo holds 256),
# scripts, imports, and the allocators' arenas (Valkey's RSS climbs ~0.3 MB over two waves).
WARMUP_WAVES = 2
# "Flat", in numbers: the most each measure may grow per finished match after the warm-up (the
# median over the waves, bench.soak_probe.growth: six waves after the warm-up at least). Keys
# and stream entries: a fraction of one (a match left ~36 marks and ~40 entries before the
# retention covered them). Redis memory: 2 KB (it grew 45 KB a match). Resident memory, this
# process's and the server's, with their allocators' free memory given back first
# (bench.soak_probe.trim_heap): a few KB, since pages come and go in steps of 4 KB and more
# (the process grew 117 KB a match with its feed in it, the server 53 KB). The raw RSS is
# shown, not judged: glibc's free memory in it rises and falls by megabytes between waves.
FLAT = {
    "keys": 0.5,
    "entries": 0.5,
    "used_memory": 2.0,  # KB
    "rss": 8.0,  # KB, this process: poller, aggregator, dispatcher
    "redis_rss": 4.0,  # KB
}


@dataclass(frozen=True)
class Planned:
    """One soak match: its fixture id, its teams, whether it is a tie's second leg."""

    fixture_id: int
    teams: tuple[str, str]
    leg: bool


def plan(matches: int, waves: int) -> list[list[Planned]]:
    """The matches of each wave (each wave is served by a replay feed of its own, from its
    kick-off: the poller's pace for a fixture dated in the past is not the replay's; the feed
    clones the same recordings, :mod:`bench.soak_feed`)."""
    sides = []
    for path in recordings():
        teams = load_json(path)["response"][0]["teams"]
        sides.append((str(teams["home"]["name"]), str(teams["away"]["name"])))
    per_wave = -(-matches // waves)
    out: list[list[Planned]] = [[] for _ in range(waves)]
    for i in range(matches):
        home, away = sides[i % len(sides)]
        leg = "Atalanta" in (home, away)
        out[i // per_wave].append(Planned(FIRST_ID + i, (home, away), leg))
    return out


def soak_settings(redis_url: str, feed_url: str, speed: float, retention_s: float) -> Settings:
    """Replay pacing, the feed, loopback deliveries, and a retention of seconds."""
    base = replay_settings(Settings.load(None, redis_url=redis_url), speed)
    base = point_at(base, "api-football", feed_url)
    delivery = base.delivery.model_copy(
        update={"allow_http": True, "allow_networks": ["127.0.0.0/8"], "timeout_s": 2.0}
    )
    # Later waves' fixtures carry the recording's kick-off date, long past on their clock: the
    # poller's "far-off or overdue" pace (hours, not scaled by the replay) must stay short.
    poll = base.poll.model_copy(update={"idle_max_s": 0.5, "overdue_s": 10.0**9})
    return base.model_copy(
        update={
            "retention_hours": retention_s / 3600,
            "console": False,
            "delivery": delivery,
            "poll": poll,
        }
    )


async def follow(pipe: Pipeline, match: Planned) -> Watch:
    """Follow one match (a tie's second leg for the scenario clones)."""
    tie = None
    if match.leg:
        tie = TieSpec(id=f"soak-tie-{match.fixture_id}", first_leg=parse_first_leg(FIRST_LEG))
        await save_tie(pipe.r, tie, keys.partition_of(tie.id, pipe.settings.streams.partitions))
    watch = Watch(provider="api-football", match_id=str(match.fixture_id), tie=tie and tie.id)
    await add_watch(pipe.r, watch)
    return watch


async def subscribe(pipe: Pipeline, hook: str, matches: list[Planned]) -> None:
    """One webhook subscription per team played (not per match: a subscription is the user's
    to delete, and would count as growth per match here)."""
    teams = sorted({side for m in matches for side in m.teams})
    now = datetime.now(UTC)
    store = SubscriptionStore(pipe.r)
    for i, team in enumerate(teams):
        spec = SubscriptionSpec(
            channel="webhook", url=f"{hook}/{i}", secret=generate_secret(), teams=[team]
        )
        sub = Subscription(id=new_id(), owner="soak", spec=spec, created_at=now, updated_at=now)
        await store.create(sub)


async def finished(r: Redis, watches: list[Watch], partitions: int, gone: set[str]) -> bool:
    """Whether every match of a wave is over (each is noted as soon as it is: the retention
    may forget it before the others end)."""
    for w in watches:
        p = keys.partition_of(w.tie or w.key, partitions)
        over = await r.exists(keys.match_done(p, w.key))
        if over or await r.zscore(keys.finished(), w.key) is not None:
            gone.add(w.key)
    return all(w.key in gone for w in watches)


async def receiver(stack: contextlib.AsyncExitStack) -> str:
    """A webhook receiver that answers 200 to everything; its base URL."""

    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}/hook"


def free_port() -> int:
    """A loopback port nobody listens on now (each wave's feed binds it in turn)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(matches: int, waves: int, speed: float, retention_s: float) -> list[Sample]:
    """The soak; one sample per wave."""
    waves_plan = plan(matches, waves)
    port = free_port()
    async with private_server("soak") as server, contextlib.AsyncExitStack() as stack:
        settings = soak_settings(server.url, f"http://127.0.0.1:{port}", speed, retention_s)
        hook = await receiver(stack)
        pipe = await open_pipeline(settings, stack)
        await subscribe(pipe, hook, [m for wave in waves_plan for m in wave])
        stopping = asyncio.Event()

        async def done() -> bool:
            return stopping.is_set()

        task = asyncio.create_task(serve(pipe, sync_every=0.2, done=done))
        samples: list[Sample] = []
        expired: list[str] = []
        total = 0
        try:
            for k, wave in enumerate(waves_plan):
                args = (FIRST_ID, total, len(wave), speed, port)
                feed, _ = await spawn("bench.soak_feed", *map(str, args))
                try:
                    watched = [await follow(pipe, m) for m in wave]
                    await _wait_over(pipe, watched, k)
                finally:
                    await stop(feed)
                total += len(wave)
                expired += [w.match_id for w in watched] + [w.tie for w in watched if w.tie]
                await _wait_swept(pipe, watched, retention_s)
                partitions = settings.streams.partitions
                samples.append(await sample(pipe.r, k, total, expired, server.pid, partitions))
                print(table(samples[-1:], 0).splitlines()[1], file=sys.stderr, flush=True)
        finally:
            stopping.set()
            await task
    return samples


async def _wait_over(pipe: Pipeline, watched: list[Watch], k: int) -> None:
    gone: set[str] = set()
    deadline = time.monotonic() + WAVE_TIMEOUT_S
    while not await finished(pipe.r, watched, pipe.settings.streams.partitions, gone):
        if time.monotonic() > deadline:
            states = await _statuses(pipe, watched)
            raise TimeoutError(f"wave {k} not over within {WAVE_TIMEOUT_S:g} s: {states}")
        await asyncio.sleep(0.2)


async def _wait_swept(pipe: Pipeline, watched: list[Watch], retention_s: float) -> None:
    """Past the wave's retention, until the sweep has forgotten its matches (it waits for the
    stages to settle them: a busy machine's dispatcher may be seconds behind), then a trim
    (every quarter of the retention). Bounded: a match never swept shows in the table."""
    await asyncio.sleep(retention_s)
    deadline = time.monotonic() + SWEPT_TIMEOUT_S
    names = [w.key for w in watched]
    while time.monotonic() < deadline:
        left = await pipe.r.zmscore(keys.finished(), names)
        if all(score is None for score in left) and not await pipe.r.hlen(keys.watch()):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(retention_s / 4 + 1.0)


async def _statuses(pipe: Pipeline, wave: list[Watch]) -> dict[str, str]:
    """Each match's stored status (for the error of a wave that does not end)."""
    out = {}
    for w in wave:
        p = keys.partition_of(w.tie or w.key, pipe.settings.streams.partitions)
        raw = await pipe.r.get(keys.snapshot(p, w.key))
        out[w.key] = orjson.loads(raw).get("status", "?") if raw else "no snapshot"
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print the table; 1 (and why) if a finished match kept a key without a
    TTL or a measure was not flat after the warm-up (:data:`FLAT`)."""
    p = argparse.ArgumentParser(prog="bench.soak", description=__doc__.splitlines()[0])
    p.add_argument("--matches", type=int, default=80)
    p.add_argument("--waves", type=int, default=8)
    p.add_argument("--speed", type=float, default=900.0)
    p.add_argument("--retention-s", type=float, default=3.0)
    args = p.parse_args(argv)
    started = time.monotonic()
    samples = asyncio.run(run(args.matches, args.waves, args.speed, args.retention_s))
    print(table(samples, warmup=WARMUP_WAVES))
    print(f"soak: {args.matches} matches in {time.monotonic() - started:.0f} s")
    why = verdict(samples, WARMUP_WAVES, FLAT)
    for reason in why:
        print(f"soak: NOT FLAT: {reason}")
    if not why:
        print(
            "soak: flat (limits per finished match: "
            + ", ".join(f"{k} {v}" for k, v in FLAT.items())
            + ")"
        )
    return 1 if why else 0


if __name__ == "__main__":
    sys.exit(main())
