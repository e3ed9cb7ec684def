"""The poller at scale: ``MATCHES`` live replayed matches, one ``notifier poll`` process.

The feed (:mod:`bench.feed_server`, its own process) serves every match in play for the whole
run; the poller runs with the default settings (live pace from the plan's budget, between 2 s
and 15 s, 1 s jitter, bulk requests where the provider has them) on a 300 requests/minute plan.
After ``WARMUP`` seconds we count, over ``WINDOW`` seconds, the feed requests per live match per
minute, the poller's CPU time as a share of one core, and its peak resident memory (VmHWM)
over the whole run.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import psutil

from bench.common import Report, Result, private_server, timelines
from bench.procs import spawn, spawn_poller, stop
from notifier.bus import keys
from notifier.bus.connect import connect
from notifier.bus.watches import Watch, add_watch
from notifier.settings import Settings

MATCHES = 1000
OFFSET = 600.0  # ten minutes in
SPREAD = 2400.0  # up to forty more: every match is in play (or at half-time) throughout
WARMUP = 25.0
WINDOW = 60.0
PER_MATCH_5S = 12.0  # requests per match per minute of one-request-per-match polling every 5 s
# The plan: 300 requests a minute (API-Football Pro's pace) and 75,000 a day. The live pace is
# chosen from it (budget-aware polling): 1,000 matches, 20 to a request, go back to its minute.
PLAN_PER_MINUTE = 300
PLAN = {
    "NOTIFIER_PROVIDERS__API_FOOTBALL__REQUESTS_PER_MINUTE": str(PLAN_PER_MINUTE),
    "NOTIFIER_PROVIDERS__API_FOOTBALL__REQUESTS_PER_DAY": "75000",
}


async def requests(feed_url: str) -> int:
    """Feed requests answered so far."""
    async with aiohttp.ClientSession() as s, s.get(f"{feed_url}/bench/requests") as resp:
        return int((await resp.json())["requests"])


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return psutil.Process(pid).memory_info().rss / 2**20


async def measure(feed_url: str, redis_url: str) -> tuple[float, float, float]:
    """(requests per match per minute, CPU share of one core, peak RSS MB) of the poller."""
    poller = await spawn_poller(redis_url, feed_url, live_s=15.0, jitter_s=1.0, extra=PLAN)
    try:
        proc = psutil.Process(poller.pid)
        await asyncio.sleep(WARMUP)
        n0, cpu0, t0 = await requests(feed_url), proc.cpu_times(), time.monotonic()
        await asyncio.sleep(WINDOW)
        n1, cpu1, t1 = await requests(feed_url), proc.cpu_times(), time.monotonic()
        rss = peak_rss_mb(poller.pid)
    finally:
        await stop(poller)
    minutes = (t1 - t0) / 60
    cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (t1 - t0)
    return (n1 - n0) / MATCHES / minutes, cpu, rss


async def run(report: Report) -> None:
    """Run the poller against the feed and report its three figures."""
    feed, (_, feed_url, _) = await spawn(
        "bench.feed_server", str(MATCHES), "1", str(OFFSET), str(SPREAD)
    )
    partitions = Settings.load(None).streams.partitions
    try:
        async with private_server("poller") as server:
            r = connect(server.url)
            for t in timelines(MATCHES, spread_s=SPREAD):
                await add_watch(r, Watch(provider="api-football", match_id=str(t.fixture_id)))
            await r.aclose()
            rate, cpu, rss = await measure(feed_url, server.url)
            r = connect(server.url)
            events = sum([await r.xlen(keys.events(p)) for p in range(partitions)])
            await r.aclose()
    finally:
        await stop(feed, f"{feed_url}/bench/quit")
    report.add(
        Result(
            "poller_requests_per_live_match_per_minute",
            rate,
            "req/match/min",
            f"{rate / 0.5:.2f} of the 0.5 target; per-match polling every 5 s makes"
            f" {PER_MATCH_5S:g} ({PER_MATCH_5S / max(rate, 1e-9):.0f}x more);"
            f" {MATCHES} live matches, {events} events published;"
            f" {rate * MATCHES:.0f} requests/min on a {PLAN_PER_MINUTE}/min plan"
            f" ({rate * MATCHES / PLAN_PER_MINUTE:.2f} of it)",
            {"matches": MATCHES, "window_s": WINDOW, "events": events},
        )
    )
    report.add(
        Result(
            "poller_cpu_share",
            100 * cpu,
            "% of one core",
            f"{cpu / 0.5:.2f} of the 50% target; {MATCHES} live matches",
        )
    )
    report.add(
        Result(
            "poller_peak_rss",
            rss,
            "MB",
            f"{rss / 300:.2f} of the 300 MB target; {MATCHES} live matches",
        )
    )
