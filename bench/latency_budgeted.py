"""Feed change → alert received with the live pace chosen from the plan's budget.

``MATCHES`` (5) live matches replay at ``SPEED`` from a feed process; ``notifier poll`` polls
them in its own process with the default settings of budget-aware polling (floor
``poll.live_floor_s``, 1 s jitter) on a 300 requests/minute, 7,500/day plan (API-Football
Pro's); the aggregator and dispatcher run in this process and deliver each match's alerts to its
own signed-webhook subscription in a receiver process. A score change happens at whatever
moment its recording has it, unrelated to the poll phase. The figure is the time from the feed
serving a new score to its goal alert arriving, as in :mod:`bench.latency`, whose fixed-interval
figure (measured earlier in the same ``make bench`` run) gives the ratio. The feed's request
count over the run is checked against the plan.
"""

from __future__ import annotations

import time

import aiohttp

from bench import latency as fixed
from bench.common import Report, Result, percentile, private_server, timelines
from bench.poller_scale import requests
from bench.procs import spawn, spawn_poller, stop
from notifier.bus.connect import connect

MATCHES = 5
SPEED = 30.0  # as bench.latency: a match in three minutes
OFFSET = fixed.OFFSET
SPREAD = 2700.0
DURATION = 110.0
WARMUP = 5.0
PLAN = {
    "NOTIFIER_PROVIDERS__API_FOOTBALL__REQUESTS_PER_MINUTE": "300",
    "NOTIFIER_PROVIDERS__API_FOOTBALL__REQUESTS_PER_DAY": "7500",
    "NOTIFIER_POLL__HALF_TIME_S": "2",  # a 30x half-time lasts 30 s
}
PER_MINUTE = 300
TARGET_S = 3.0
BRIEF_S = 2.5  # a score served for less than the floor and its jitter can be missed
CEILING_S = 15.0


async def run(report: Report) -> None:
    """Replay, poll on the budget, deliver; report the p99 and the requests against the plan."""
    played = timelines(MATCHES, spread_s=SPREAD)
    feed, (_, feed_url, started) = await spawn(
        "bench.feed_server", str(MATCHES), str(SPEED), str(OFFSET), str(SPREAD)
    )
    receiver, (_, receiver_url) = await spawn("bench.receiver")
    try:
        async with private_server("latency-budgeted") as server:
            settings = fixed.settings_for(server.url, feed_url, CEILING_S)
            r = connect(server.url)
            await fixed.follow(r, settings, played, f"{receiver_url}/hook")
            await r.aclose()
            poller = await spawn_poller(
                server.url, feed_url, live_s=CEILING_S, jitter_s=1.0, extra=PLAN
            )
            begin = time.time()
            try:
                await fixed.run_pipeline_for(settings, DURATION)
                made = await requests(feed_url)
            finally:
                await stop(poller)
            end = time.time()
        async with aiohttp.ClientSession() as s, s.get(f"{receiver_url}/received") as resp:
            received = await resp.json()
    finally:
        await stop(feed, f"{feed_url}/bench/quit")
        await stop(receiver, f"{receiver_url}/quit")
    window = (begin + WARMUP, end - 5.0)
    changes, missed, transient = fixed.feed_to_received(
        played, received, float(started), window, speed=SPEED, interval=BRIEF_S
    )
    _report(report, changes, missed, transient, made / ((end - begin) / 60))


def _report(
    report: Report, changes: list[float], missed: int, transient: int, per_minute: float
) -> None:
    p50, p99 = percentile(changes, 50), percentile(changes, 99)
    earlier = [x for x in report.results if x.name == "latency_feed_change_to_alert_received_p99"]
    against = (
        f"{p99 / earlier[0].value:.2f} of the fixed {fixed.LIVE_S:g} s interval's"
        f" {earlier[0].value:.3g} s in this run"
        if earlier and earlier[0].value
        else "fixed-interval figure not measured in this run (python -m bench latency …)"
    )
    report.add(
        Result(
            "latency_feed_change_to_alert_budgeted_p99",
            p99,
            "s",
            f"p50 {p50:.3g} s; {p99 / TARGET_S:.2f} of the {TARGET_S:g} s target; {against};"
            f" {len(changes)} score changes, {missed} without alert ({transient} undone within"
            f" {BRIEF_S:g} s not counted); {MATCHES} live matches at {SPEED:g}x,"
            f" plan {PER_MINUTE}/min: {per_minute:.0f} requests/min made",
            {
                "p50": p50,
                "p99": p99,
                "n": len(changes),
                "missed": missed,
                "target": TARGET_S,
                "requests_per_minute": per_minute,
                "plan_per_minute": PER_MINUTE,
            },
        )
    )
