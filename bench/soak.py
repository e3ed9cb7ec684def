"""``make soak``: N matches through the whole pipeline, in waves; per-wave growth of keys, keys
without a TTL, Redis memory and resident memory (issue 15: nothing may grow per match).

The replayed recordings (cloned under distinct fixture ids, every other match the leg of a
tie) are served by the replay feed at ``--speed``; the poller, aggregator and dispatcher run in
this process against a private Valkey, delivering each alert to a webhook receiver here too,
with ``retention_hours`` of a few seconds. Wave k kicks off one match length after wave k-1.
After each wave has finished and its retention has passed, one row is printed. Finished
matches' keys without a TTL (``finished_no_ttl``) must be 0; the other columns should be flat
after the warm-up waves.

    python -m bench.soak [--matches 40] [--waves 4] [--speed 900] [--retention-s 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
import time
from datetime import UTC, datetime

import orjson
from aiohttp import web
from redis.asyncio import Redis

from bench.common import ShiftedTimeline, load_json, private_server, recordings, with_fixture_id
from bench.soak_probe import Sample, sample, table
from notifier.bus import keys
from notifier.bus.subscriptions import SubscriptionStore
from notifier.bus.watches import add_watch, save_tie
from notifier.channels.subscriptions import Subscription, SubscriptionSpec, new_id
from notifier.channels.webhook import generate_secret
from notifier.domain.tie import TieSpec, parse_first_leg
from notifier.domain.watch import Watch
from notifier.replay.server import start_replay_server
from notifier.settings import Settings
from workers.cli.commands import PRE_MATCH_LEAD_S, REPLAY_KEY, point_at, replay_settings
from workers.cli.runtime import Pipeline, open_pipeline, serve

FIRST_ID = 9_100_000
FIRST_LEG = "Borussia Dortmund 2-0 Atalanta"  # of the scripted scenario's tie
WAVE_TIMEOUT_S = float(
    os.environ.get("SOAK_WAVE_TIMEOUT_S", "120")
)  # wall seconds a wave may take before the soak gives up


def plan(matches: int, waves: int) -> list[list[ShiftedTimeline]]:
    """The matches of each wave (each wave is served by a replay feed of its own, from its
    kick-off: the poller's pace for a fixture dated in the past is not the replay's)."""
    sources = [load_json(p) for p in recordings()]
    per_wave = -(-matches // waves)
    out: list[list[ShiftedTimeline]] = [[] for _ in range(waves)]
    for i in range(matches):
        wave = i // per_wave
        raw = with_fixture_id(sources[i % len(sources)], FIRST_ID + i)
        out[wave].append(ShiftedTimeline(raw, 0.0))
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


async def follow(pipe: Pipeline, timeline: ShiftedTimeline) -> Watch:
    """Follow one match (a tie's second leg for the scenario clones)."""
    tie = None
    if "Atalanta" in str(timeline.fixture_at(0.0).get("teams")):
        tie = TieSpec(id=f"soak-tie-{timeline.fixture_id}", first_leg=parse_first_leg(FIRST_LEG))
        await save_tie(pipe.r, tie, keys.partition_of(tie.id, pipe.settings.streams.partitions))
    watch = Watch(provider="api-football", match_id=str(timeline.fixture_id), tie=tie and tie.id)
    await add_watch(pipe.r, watch)
    return watch


async def subscribe(pipe: Pipeline, hook: str, timelines: list[ShiftedTimeline]) -> None:
    """One webhook subscription per team played (not per match: a subscription is the user's
    to delete, and would count as growth per match here)."""
    teams = sorted(
        {side["name"] for t in timelines for side in t.fixture_at(0.0)["teams"].values()}
    )
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
        await subscribe(pipe, hook, [t for wave in waves_plan for t in wave])
        stop = asyncio.Event()

        async def done() -> bool:
            return stop.is_set()

        task = asyncio.create_task(serve(pipe, sync_every=0.2, done=done))
        samples: list[Sample] = []
        expired: list[str] = []
        total = 0
        try:
            for k, wave in enumerate(waves_plan):
                feed = await start_replay_server(
                    wave, speed=speed, start_offset=-PRE_MATCH_LEAD_S, api_key=REPLAY_KEY, port=port
                )
                try:
                    watched = [await follow(pipe, t) for t in wave]
                    await _wait_over(pipe, watched, k)
                finally:
                    await feed.close()
                total += len(wave)
                waves_plan[k] = []  # the feed's own caches of this wave: not the notifier's
                expired += [w.match_id for w in watched] + [w.tie for w in watched if w.tie]
                await asyncio.sleep(retention_s + 1.0)  # its retention, and a sync to sweep it
                samples.append(await sample(pipe.r, k, total, expired, server.pid))
                print(table(samples[-1:], 0).splitlines()[1], file=sys.stderr, flush=True)
        finally:
            stop.set()
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


async def _statuses(pipe: Pipeline, wave: list[Watch]) -> dict[str, str]:
    """Each match's stored status (for the error of a wave that does not end)."""
    out = {}
    for w in wave:
        p = keys.partition_of(w.tie or w.key, pipe.settings.streams.partitions)
        raw = await pipe.r.get(keys.snapshot(p, w.key))
        out[w.key] = orjson.loads(raw).get("status", "?") if raw else "no snapshot"
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print the table; 1 if a finished match kept a key without a TTL."""
    p = argparse.ArgumentParser(prog="bench.soak", description=__doc__.splitlines()[0])
    p.add_argument("--matches", type=int, default=40)
    p.add_argument("--waves", type=int, default=4)
    p.add_argument("--speed", type=float, default=900.0)
    p.add_argument("--retention-s", type=float, default=3.0)
    args = p.parse_args(argv)
    started = time.monotonic()
    samples = asyncio.run(run(args.matches, args.waves, args.speed, args.retention_s))
    print(table(samples, warmup=1))
    print(f"soak: {args.matches} matches in {time.monotonic() - started:.0f} s")
    return 1 if any(s.finished_no_ttl for s in samples) else 0


if __name__ == "__main__":
    sys.exit(main())
