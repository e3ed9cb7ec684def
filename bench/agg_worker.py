"""One aggregator process for the multi-aggregator benchmark.

``python -m bench.agg_worker URL PARTITIONS NAME``: connects, joins the aggregator replicas,
prints ``ready``, waits for a line on stdin, drains its fair share of the partitions, then
prints ``done COUNT START END`` (wall-clock seconds) and exits.
"""

from __future__ import annotations

import asyncio
import sys
import time

from bench.aggregator import bench_settings
from notifier.bus.connect import connect
from workers.cli.main import run_async
from workers.fold.aggregator import Aggregator


async def main(url: str, partitions: int, name: str) -> None:
    """Join, wait for the go, drain, report."""
    settings = bench_settings(partitions)
    r = connect(url)
    agg = Aggregator(r, settings, instance=name)
    await agg.members.live(int(time.time() * 1000))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    started = time.time()
    done = await agg.drain(max_rounds=100_000)
    ended = time.time()
    print(f"done {done} {started} {ended} {len(agg.owned)}", flush=True)
    await agg.leases.release_all()
    await r.aclose()


if __name__ == "__main__":
    run_async(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))  # as `notifier aggregate` runs
