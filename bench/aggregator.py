"""Aggregator throughput against the bare redis-py XREADGROUP+XACK loop, same server and batch.

The same entries (every event the poller publishes for ``MATCHES`` replayed matches, each match
the second leg of a tie) are read again and again from the same streams, the group reset to
the start each time: by the bare loop, which only reads and acks; by the real aggregator, which
decodes, folds through the tie engine, commits state, alerts, seen-marks and acks; and by the
floor stub (:mod:`bench.aggregator_floor`). The aggregator and the floor run in alternation,
``PAIRS`` times, each aggregator run from nothing folded (states, marks and alerts deleted), and
the ratio printed is the median of the pairs' ratios: a run lasts about a second, and this
machine's speed moves more than that from one second to the next.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import redis.asyncio as aioredis

from bench.aggregator_floor import floor_rate
from bench.common import (
    Report,
    Result,
    clone_events,
    group_rate,
    match_events,
    private_server,
    timelines,
)
from notifier.bus import keys, streams
from notifier.bus.connect import connect
from notifier.bus.entries import event_fields
from notifier.bus.watches import save_tie
from notifier.domain import fold, structs
from notifier.domain.events import Event
from notifier.domain.structs import EVENTS
from notifier.domain.tie import TieSpec, parse_first_leg
from notifier.settings import Settings
from workers.fold.aggregator import Aggregator
from workers.fold.batch import BatchFolder, StateCache

MATCHES = 1000
PARTITIONS = 12
TARGET = 0.3
FLOOR_TARGET = 0.6  # of the floor stub's rate, measured in the same run
BARE_RUNS = 3
PAIRS = 3  # aggregator and floor runs, in alternation


def bench_settings(partitions: int = PARTITIONS) -> Settings:
    """Default settings (batch 100) over ``partitions`` partitions."""
    base = Settings.load(None)
    return base.model_copy(
        update={"streams": base.streams.model_copy(update={"partitions": partitions})}
    )


def workload(matches: int = MATCHES, *, distinct: bool = False) -> list[Event]:
    """Every event of ``matches`` replayed matches, each the second leg of its own tie.

    The matches are clones of three recordings: the same teams, the same texts, which the
    fold's text memo renders once and then finds. ``distinct``: each match between two teams
    of its own (the recordings' names, numbered), as on a real match day, where one match's
    texts are not another's and the memo helps within a match only."""
    per_recording = [match_events(t) for t in timelines(3)]
    out: list[Event] = []
    for i in range(matches):
        events = clone_events(per_recording[i % len(per_recording)], str(8_000_000 + i))
        update = {"tie": f"bench-tie-{i}"}
        if distinct:
            update |= {"home": f"{events[0].home} {i}", "away": f"{events[0].away} {i}"}
        out += [e.model_copy(update=update) for e in events]
    return out


def tie_of(event: Event | structs.Event) -> TieSpec:
    """The tie a workload event's match is the second leg of (first leg won 2-1 by its away)."""
    assert event.tie is not None
    first = parse_first_leg(f"{event.away} 2-1 {event.home}")
    return TieSpec(id=event.tie, first_leg=first, second_leg=event.match)


async def load(r: aioredis.Redis, events: Sequence[Event], settings: Settings) -> int:
    """Publish the workload into the event streams (and the ties), pipelined."""
    n = settings.streams.partitions
    ties = {e.tie: e for e in events if e.tie}
    for tie_id, e in ties.items():
        await save_tie(r, tie_of(e), keys.partition_of(tie_id, n))
    for start in range(0, len(events), 1000):
        async with r.pipeline(transaction=False) as pipe:
            for e in events[start : start + 1000]:
                p = keys.partition_of(e.tie or e.match, n)
                pipe.xadd(keys.events(p), event_fields(e), maxlen=settings.streams.maxlen)
            await pipe.execute()
    return len(events)


async def reset_folds(r: aioredis.Redis, settings: Settings) -> None:
    """Nothing folded yet: every key but the event streams and the ties deleted (states, marks,
    alerts, leases, members; the floor's stand-in states too)."""
    keep = {keys.events(p) for p in range(settings.streams.partitions)}
    tie_prefix = keys.tie(0, "").split(":{", 1)[0]
    doomed = [
        k
        async for k in r.scan_iter(count=1000)
        if k.decode() not in keep and not k.decode().startswith(tie_prefix)
    ]
    for start in range(0, len(doomed), 1000):
        await r.delete(*doomed[start : start + 1000])
    await reset_group(r, settings)


async def reset_group(r: aioredis.Redis, settings: Settings) -> None:
    """The aggregator group back at the start of every event stream."""
    for p in range(settings.streams.partitions):
        await r.xgroup_destroy(keys.events(p), keys.GROUP_AGGREGATOR)
        await streams.ensure_group(r, keys.events(p), keys.GROUP_AGGREGATOR)


async def bare_loop(r: aioredis.Redis, settings: Settings, total: int) -> float:
    """Entries/s of XREADGROUP (all partitions, COUNT batch) + XACK, until all are read."""
    names = {keys.events(p): ">" for p in range(settings.streams.partitions)}
    for name in names:
        await streams.ensure_group(r, name, keys.GROUP_AGGREGATOR)

    async def ack(reply: Any) -> int:
        for stream, rows in reply:
            await r.xack(stream, keys.GROUP_AGGREGATOR, *[i for i, _ in rows])
        return sum(len(rows) for _, rows in reply)

    return await group_rate(r, names, "bare", settings.streams.batch, total, ack)


async def aggregator_rate(r: aioredis.Redis, settings: Settings, total: int) -> tuple[float, float]:
    """Events/s through one aggregator in burst mode, until all are folded; and its CPU µs
    per event."""
    agg = Aggregator(r, settings, instance="bench")
    started, cpu = time.perf_counter(), time.process_time()
    done = await agg.drain(max_rounds=total + 100)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await agg.leases.release_all()
    assert done >= total, f"aggregator folded {done} of {total}"
    return total / elapsed, cpu / total * 1e6


def stage_costs(events: Sequence[Event], settings: Settings) -> dict[str, float]:
    """CPU µs per event of the aggregator's pure stages, without Redis: decoding the stream
    entry (into the fold's structs), and folding through the tie engine with its alerts and
    state serialised (best of a few runs over the same events)."""
    bodies = [event_fields(e)["body"].encode() for e in events]
    folder = BatchFolder(None, settings, StateCache())  # type: ignore[arg-type]
    now = datetime.now(UTC)
    best = {"decode": math.inf, "fold": math.inf}
    for _ in range(3):
        cpu = time.process_time()
        decoded = [EVENTS.decode(b) for b in bodies]
        best["decode"] = min(best["decode"], time.process_time() - cpu)
        states = {e.match: fold.begin(e, tie_of(e), settings.aliases) for e in decoded}
        cpu = time.process_time()
        for i in range(0, len(decoded), settings.streams.batch):
            batch = [(str(j), e) for j, e in enumerate(decoded[i : i + settings.streams.batch])]
            folder.fold(0, batch, set(), states, lambda: now, strict=True)
        best["fold"] = min(best["fold"], time.process_time() - cpu)
    return {k: v / len(bodies) * 1e6 for k, v in best.items()}


class Measured(NamedTuple):
    """Rates (per second: medians of the runs), the median ratio of the alternating pairs,
    counts, and client CPU µs per entry (medians)."""

    rate: float
    bare: float
    floor: float
    vs_floor: float
    pairs: list[tuple[float, float]]  # (aggregator, floor) events/s, in the order run
    events: int
    alerts: int
    cpu: float
    bare_cpu: float


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


async def measure(events: Sequence[Event]) -> Measured:
    """The aggregator, the bare loop and the floor stub over the same entries, on a fresh
    private server."""
    settings = bench_settings()
    async with private_server("aggregator") as server:
        r = connect(server.url)
        try:
            total = await load(r, events, settings)
            runs = []
            cpu = time.process_time()
            for _ in range(BARE_RUNS):  # short and noisy: the median of a few
                runs.append(await bare_loop(r, settings, total))
                await reset_group(r, settings)
            bare_cpu = (time.process_time() - cpu) / (BARE_RUNS * total) * 1e6
            pairs, cpus, alerts = [], [], 0
            for _ in range(PAIRS):
                await reset_folds(r, settings)
                rate, cpu_per_event = await aggregator_rate(r, settings, total)
                parts = range(settings.streams.partitions)
                alerts = sum([await r.xlen(keys.alerts(p)) for p in parts])
                await reset_group(r, settings)
                pairs.append((rate, await floor_rate(r, settings, total)))
                cpus.append(cpu_per_event)
        finally:
            await r.aclose()
    return Measured(
        median([a for a, _ in pairs]),
        median(runs),
        median([f for _, f in pairs]),
        median([a / f for a, f in pairs]),
        pairs,
        total,
        alerts,
        median(cpus),
        bare_cpu,
    )


async def run(report: Report) -> None:
    """Measure and report aggregator throughput and its ratio to the bare loop."""
    events = workload()
    gc.freeze()  # the bench's own copy of the workload: no aggregator process holds one
    m = await measure(events)
    rate, bare, cpu, bare_cpu = m.rate, m.bare, m.cpu, m.bare_cpu
    ratio = rate / bare
    report.add(
        Result(
            "aggregator_throughput_1node",
            rate,
            "events/s",
            f"ratio {ratio:.2f} of bare XREADGROUP+XACK at {bare:,.0f} entries/s, batch 100;"
            f" target >= {TARGET}",
            {"bare": bare, "ratio": ratio, "events": m.events, "alerts": m.alerts},
        )
    )
    report.add(
        Result(
            "aggregator_floor_1node",
            m.floor,
            "events/s",
            f"ratio {m.floor / bare:.2f} of the bare loop: a stub doing the same stream and commit"
            f" work with no engine; the aggregator reaches {rate / m.floor:.2f} of it",
            {"bare": bare, "ratio": m.floor / bare, "aggregator_ratio": rate / m.floor},
        )
    )
    vs_floor = m.vs_floor
    each = ", ".join(f"{a / f:.2f}" for a, f in m.pairs)
    report.add(
        Result(
            "aggregator_vs_floor",
            vs_floor,
            "",
            f"{vs_floor / FLOOR_TARGET:.2f} of the {FLOOR_TARGET:g} target; median of"
            f" {len(m.pairs)} alternating runs ({each}), aggregator {rate:,.0f} events/s"
            f" against the floor stub's {m.floor:,.0f} (medians), in this run",
            {"aggregator": rate, "floor": m.floor, "target": FLOOR_TARGET, "pairs": m.pairs},
        )
    )
    stages = stage_costs(events, bench_settings())
    rest = cpu - stages["decode"] - stages["fold"]
    report.add(
        Result(
            "aggregator_cpu_per_event",
            cpu,
            "µs",
            f"decode {stages['decode']:.0f} µs, fold+render+serialise {stages['fold']:.0f} µs,"
            f" Redis client and the rest {rest:.0f} µs; the bare loop spends"
            f" {bare_cpu:.1f} µs an entry, ratio {bare_cpu / cpu:.2f}",
            {**stages, "rest": rest, "bare": bare_cpu},
        )
    )
    await distinct_teams(report)


async def distinct_teams(report: Report) -> None:
    """The same against the floor, every match between teams of its own (a real match day)."""
    events = workload(distinct=True)
    gc.freeze()
    m = await measure(events)
    fold_us = stage_costs(events, bench_settings())["fold"]
    each = ", ".join(f"{a / f:.2f}" for a, f in m.pairs)
    report.add(
        Result(
            "aggregator_vs_floor_distinct_teams",
            m.vs_floor,
            "",
            f"{m.vs_floor / FLOOR_TARGET:.2f} of the {FLOOR_TARGET:g} target; median of"
            f" {len(m.pairs)} alternating runs ({each}); every match between teams of its own:"
            f" aggregator {m.rate:,.0f} events/s against the floor stub's {m.floor:,.0f},"
            f" {m.cpu:.0f} µs CPU an event, of which fold+render+serialise {fold_us:.0f} µs",
            {"aggregator": m.rate, "floor": m.floor, "cpu": m.cpu, "fold": fold_us},
        )
    )
