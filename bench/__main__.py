"""``python -m bench [NAME ...]``: run the benchmarks (all or those named), write results.json."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import time
from collections.abc import Iterator

from bench.common import RESULTS, Report
from workers.cli.main import run_async

# Run in this order; each module has ``async def run(report)``.
BENCHMARKS = (
    "aggregator",
    "latency",
    "latency_budgeted",
    "poller_scale",
    "fanout",
    "fanout_100k",
    "sse",
    "apprise_ratio",
    "mqtt_publish",
    "webpush_rate",
    "cluster",
    "hardening",
)


@contextlib.contextmanager
def profiled(name: str) -> Iterator[None]:
    """With BENCH_PROFILE=1, profile the benchmark's process (pyinstrument) into an HTML file."""
    if os.environ.get("BENCH_PROFILE") != "1":
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        out = RESULTS.parent / f"profile-{name}.html"
        out.write_text(profiler.output_html())
        print(f"# profile of {name}: {out}", flush=True)


def main(argv: list[str]) -> int:
    """Run the chosen benchmarks, print each figure, write bench/results.json."""
    logging.basicConfig(level=logging.WARNING)
    chosen = argv or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    report = Report()
    for name in chosen:
        started = time.monotonic()
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            report.pending(name, f"cannot import bench.{name}: {exc}")
            continue
        with profiled(name):
            run_async(module.run(report))  # the loop and collector policy of the workers
        print(f"# {name} took {time.monotonic() - started:.0f} s", flush=True)
    report.write()
    print(f"# {len(report.results)} results in {RESULTS}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
