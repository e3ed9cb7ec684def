"""``python -m tests.chaos``: the full chaos run (``make chaos``), once per appendfsync mode.

Prints per mode the table ``expected, delivered, lost, duplicated, out_of_order`` (and
``unexpected``, ``altered``) per subscriber, the faults as they happened, what the logs say
about takeovers, what a Redis crash lost and whether it was re-derived, and any secret found in
the logs. Exits 1 unless ``appendfsync always`` is clean and nothing leaked.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tests.chaos.harness import ChaosConfig, Outcome, run_chaos
from tests.chaos.report import table


def parser() -> argparse.ArgumentParser:
    """The options (defaults: the issue's full run)."""
    ap = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    ap.add_argument("--matches", type=int, default=10)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--speed", type=float, default=40.0)
    ap.add_argument("--fsync", default="always,everysec", help="modes, comma-separated")
    ap.add_argument("--skip-min", type=float, default=0.0, help="join every match this late")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--pauses", type=int, default=1, help="SIGSTOPs past the lease")
    ap.add_argument("--redis-crashes", type=int, default=1)
    ap.add_argument("--lease-ttl-ms", type=int, default=600)
    ap.add_argument("--shards", type=int, default=0, help="delivery.shards (sharded fan-out)")
    ap.add_argument("--workdir", type=Path, help="keep logs and data here")
    ap.add_argument("--server", type=Path, help="server binary (default: the bundled Valkey)")
    return ap


def describe(out: Outcome) -> str:
    """The whole report of one run."""
    cfg = out.config
    lines = [
        table(
            f"{out.server} appendfsync {cfg.fsync}: {cfg.matches} matches at x{cfg.speed:g}, "
            f"{len(out.faults)} faults, {out.seconds:.0f} s"
            + ("" if out.finished else " (NOT DRAINED: timed out)"),
            out.rows,
        ),
        "faults: " + "; ".join(f"{f.at:.1f}s {f.kind} {f.target} ({f.detail})" for f in out.faults),
        "logged: " + ", ".join(f"{k} {v}" for k, v in out.notes.items()),
    ]
    if out.crash:
        lost = out.crash.get("events_lost", [])
        lines.append(
            f"redis crash at {out.crash['at']:.1f}s: AOF cut by {out.crash['aof_bytes_lost']} "
            f"bytes, {len(lost)} events lost from the stream, {len(out.recovered)} of them "
            "re-derived by the next poll (same ids)"
        )
    leaks = "; ".join(f"{k} in {', '.join(v)}" for k, v in out.leaks.items())
    lines.append("secrets in logs: " + (leaks or "none"))
    return "\n".join(lines)


async def main(argv: list[str] | None = None) -> int:
    """Run each mode; 0 if ``always`` was clean and nothing leaked."""
    args = parser().parse_args(argv)
    ok = True
    for mode in args.fsync.split(","):
        cfg = ChaosConfig(
            matches=args.matches,
            kills=args.kills,
            speed=args.speed,
            fsync=mode,  # type: ignore[arg-type]
            skip_s=args.skip_min * 60,
            seed=args.seed,
            pauses=args.pauses,
            redis_crashes=args.redis_crashes,
            lease_ttl_ms=args.lease_ttl_ms,
            shards=args.shards,
            workdir=args.workdir / mode if args.workdir else None,
            binary=args.server,
        )
        out = await run_chaos(cfg)
        print(describe(out), end="\n\n", flush=True)
        clean = out.finished and out.total.clean
        ok = ok and not out.leaks and (clean or mode != "always")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
