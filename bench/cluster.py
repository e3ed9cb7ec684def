"""Aggregator throughput with several aggregator processes: on one server and on a 3-node cluster.

The workload of :mod:`bench.aggregator` is loaded, then ``AGGREGATORS`` processes
(:mod:`bench.agg_worker`) each take their fair share of the partitions and drain it; the rate
is all events over the time from the common start to the last one done. On a 2-core machine
three aggregators and three servers share two cores, so this shows how the work spreads, not
what three machines would do.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from pathlib import Path

from bench.aggregator import PARTITIONS, bench_settings, load, workload
from bench.common import ROOT, Report, Result, private_server, server_binary
from notifier.bus.cluster import EmbeddedCluster
from notifier.bus.connect import connect
from notifier.domain.events import Event

AGGREGATORS = 3


async def _spawn(url: str, name: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "bench.agg_worker", url, str(PARTITIONS), name),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert line.strip() == b"ready", line
    return proc


async def run_workers(url: str, total: int, count: int = AGGREGATORS) -> tuple[float, list[int]]:
    """Events/s of ``count`` aggregator processes draining ``total`` events; partitions each."""
    procs = [await _spawn(url, f"bench-agg-{i}") for i in range(count)]
    try:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        reports = []
        for proc in procs:
            assert proc.stdout is not None
            reports.append((await asyncio.wait_for(proc.stdout.readline(), 300)).split())
            await asyncio.wait_for(proc.wait(), 30)
    finally:
        for proc in procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
    done = sum(int(r[1]) for r in reports)
    assert done >= total, f"aggregators folded {done} of {total}"
    elapsed = max(float(r[3]) for r in reports) - min(float(r[2]) for r in reports)
    return total / elapsed, [int(r[4]) for r in reports]


async def _measure(url: str, events: list[Event]) -> tuple[float, list[int]]:
    r = connect(url)
    try:
        total = await load(r, events, bench_settings())
    finally:
        await r.aclose()
    return await run_workers(url, total)


async def run(report: Report) -> None:
    """3 aggregators on one server, and on a 3-node cluster."""
    events = workload()
    async with private_server("agg3") as server:
        one, shares_one = await _measure(server.url, events)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        async with EmbeddedCluster(Path(tmp), binary=server_binary(), appendonly=True) as c:
            three, shares = await _measure(c.url, events)
    single = next(
        (r.value for r in report.results if r.name == "aggregator_throughput_1node"), None
    )
    vs = f"; ratio {three / single:.2f} of 1 aggregator on 1 node" if single else ""
    report.add(
        Result(
            "aggregator_throughput_1node_3aggregators",
            one,
            "events/s",
            f"3 processes, partitions held {shares_one}",
        )
    )
    report.add(
        Result(
            "aggregator_throughput_3node_cluster_3aggregators",
            three,
            "events/s",
            f"3 masters, 3 processes, partitions held {shares}{vs}; 2 cores in all",
            {"partitions": PARTITIONS, "shares": shares},
        )
    )
