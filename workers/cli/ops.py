"""Operator commands: ``notifier check`` (container health) and ``notifier replay-server``.

Also exposes a worker's own metrics on ``metrics_port`` when a worker command starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import time
from pathlib import Path
from typing import Any

from notifier import metrics
from notifier.api.health import assess
from notifier.bus.connect import connect, running_server, server_file
from notifier.bus.heartbeat import fresh_heartbeats
from notifier.errors import StoreError
from notifier.feeds import registry
from notifier.replay.load import DEMO_PROVIDER, load_replay
from notifier.settings import Settings
from workers.cli.commands import DEMO_SCENARIO, wait_for_signal

WORKER_COMMANDS = ("run", "poll", "aggregate", "dispatch")
CHECK_TIMEOUT_S = 5.0


def register(sub: Any) -> None:
    """Add ``check`` and ``replay-server`` to the command line."""
    check = sub.add_parser("check", help="exit 0 if this host's workers beat lately, else 1")
    check.add_argument(
        "--any", action="store_true", help="any host's workers count, not only this host's"
    )
    check.add_argument(
        "--worker",
        action="append",
        default=[],
        help="a worker that must beat (poller, aggregator, dispatcher, api); repeatable",
    )
    check.add_argument("--max-age", type=float, help="seconds (default: 3 heartbeat intervals)")
    check.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="retry until healthy, this long"
    )
    feed = sub.add_parser("replay-server", help="serve a recording as a live feed over HTTP")
    feed.add_argument(
        "file",
        type=Path,
        nargs="?",
        default=DEMO_SCENARIO,
        help="a recorded response of --provider (default: the demo's scripted match)",
    )
    feed.add_argument("--provider", default=DEMO_PROVIDER, choices=registry.NAMES)
    feed.add_argument("--match", help="of a recording of many matches: serve only this one")
    feed.add_argument("--host", default="127.0.0.1")
    feed.add_argument("--port", type=int, default=8000)
    feed.add_argument("--speed", type=float, default=60.0, help="virtual clock speed")
    feed.add_argument(
        "--start", type=float, default=-120.0, help="virtual seconds from kick-off to start at"
    )
    feed.add_argument("--api-key", help="the x-apisports-key clients must send (default: none)")
    feed.add_argument(
        "--no-hold",
        action="store_true",
        help="start the clock at once (default: at the first request for matches, so looking"
        " teams up and following one takes no match time)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int | None:
    """Run one of this module's commands; None when the command is another module's."""
    if args.command == "check":
        return asyncio.run(check(settings, args))
    if args.command == "replay-server":
        asyncio.run(replay_server(args))
        return 0
    if args.command in WORKER_COMMANDS and settings.metrics_port:
        metrics.serve(settings.metrics_port, settings.metrics_host)
    return None


async def check(settings: Settings, args: argparse.Namespace) -> int:
    """Read the heartbeats; print one line; 0 if healthy, 1 if not. With ``--wait``, look again
    (twice a second) until healthy or the time is up: for scripts that start a notifier."""
    deadline = time.monotonic() + getattr(args, "wait", 0.0)
    while True:
        code, message = await _check_once(settings, args)
        if code == 0 or time.monotonic() >= deadline:
            print(message)
            return code
        await asyncio.sleep(0.5)


async def _check_once(settings: Settings, args: argparse.Namespace) -> tuple[int, str]:
    url = settings.redis_url or await running_server(settings)
    if not url:
        where = server_file(settings)
        return 1, f"unhealthy: no REDIS_URL, and no embedded server running ({where} names none)"
    r = connect(url, socket_timeout_s=CHECK_TIMEOUT_S, retries=1)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S * 2):
            beats = await fresh_heartbeats(r)
    except (StoreError, TimeoutError) as exc:
        return 1, f"unhealthy: redis unreachable: {exc or 'timed out'}"
    finally:
        await r.aclose()
    max_age = args.max_age if args.max_age is not None else 3 * settings.heartbeat_s
    host = None if args.any else socket.gethostname()
    ok, message = assess(beats, time.time(), max_age=max_age, host=host, workers=args.worker)
    return (0 if ok else 1), ("healthy: " if ok else "unhealthy: ") + message


async def replay_server(args: argparse.Namespace) -> None:
    """Serve a recording as its provider would (matches, and the teams and competitions
    discovery asks for), from a virtual clock, until interrupted."""
    found = load_replay(args.provider, args.file, args.match)
    if args.match is not None:
        found.only(args.match)
    async with contextlib.AsyncExitStack() as stack:
        server = await found.serve(
            speed=args.speed,
            start_offset=args.start,
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            hold=not args.no_hold,
        )
        stack.push_async_callback(server.close)
        matches = ", ".join(m.match_id for m in found.followed)
        print(
            f"replay feed ({args.provider}) of {matches} at {server.url} (x{args.speed:g})",
            file=sys.stderr,
            flush=True,
        )
        await wait_for_signal()
