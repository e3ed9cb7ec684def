"""``notifier``: the command line. Settings are built once here and passed down."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import importlib
import json
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from notifier import log as logsetup
from notifier.domain.holdback import MAX_DELAY_S
from notifier.domain.texts import LANGS
from notifier.errors import NotifierError
from notifier.feeds import registry
from notifier.replay.load import DEMO_PROVIDER
from notifier.settings import Settings
from workers.cli import commands

T = TypeVar("T")
QUIET = ("teams", "leagues", "follow", "unfollow", "follows", "status", "init")

# Modules that add commands: each has ``register(sub)`` (add its subparsers) and
# ``run(args, settings) -> int | None`` (None when the command is not one of its own).
EXTENSIONS: tuple[str, ...] = (
    "workers.cli.ops",
    "workers.cli.delivery",
    "workers.cli.setup",
    "workers.cli.follow",
    "workers.cli.bots",
)


def _extensions() -> list[ModuleType]:
    return [importlib.import_module(name) for name in EXTENSIONS]


# Collector thresholds for the long-running commands (CPython's default is 700, 10, 10). A worker
# allocates tens of thousands of short-lived objects a second (decoded events, alerts, request
# state), nearly all freed by reference counting; at the default, a young collection every 700
# allocations walks whatever batch is in flight, and the resulting promotions trigger full
# collections over every subscription, state and client held. Measured with ``make bench``:
# webhook fan-out +25 %, aggregator +35 % (docs/scaling.md). The young threshold is above what
# one read of the aggregator keeps alive at once (12 partitions x 100 events, ~36,000 objects):
# at 20,000 it still collected ~20 times over the benchmark's 14,329 events, 12-16 µs an event.
GC_THRESHOLDS = (100_000, 20, 20)


def tune_gc() -> None:
    """Collect once, freeze what survives start-up (modules, compiled validators, settings,
    scripts: never garbage, so never scanned again) and collect less often from now on.

    Only the cycle collector's schedule changes: reference counting still frees everything the
    moment it is unused, and cyclic garbage is still found, after more allocations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to the end on uvloop's event loop when it is installed, else asyncio's,
    with the collector tuned for a long-running worker (:func:`tune_gc`).

    The workers spend much of their time in the event loop (sockets, timers, task switches);
    uvloop's does that work in C: a webhook delivery costs about a tenth less CPU on it.
    """
    tune_gc()
    try:
        import uvloop
    except ImportError:  # not on every platform (Windows): asyncio's own loop does the same
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def _delay(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number of seconds") from None
    if not 0 <= number <= MAX_DELAY_S:
        raise argparse.ArgumentTypeError(f"must be 0 to {MAX_DELAY_S}")
    return number


def _delay_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--delay",
        type=_delay,
        default=0,
        metavar="SECONDS",
        help="spoiler delay on the replay's clock: each alert SECONDS after it happened, "
        "a goal ruled out meanwhile never shown (0-900)",
    )


def _replay_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "file", type=Path, help="a recorded provider response (e.g. API-Football /fixtures?id=)"
    )
    p.add_argument("--provider", default=DEMO_PROVIDER, choices=registry.NAMES)
    p.add_argument("--first-leg", help='make FILE the second leg of a tie: "HOME H-A AWAY"')
    p.add_argument("--away-goals", action="store_true", help="decide a level tie on away goals")
    p.add_argument("--next-round", help='what the winner reaches, e.g. "the round of 16"')
    p.add_argument("--speed", type=_positive, default=60.0, help="virtual clock speed (default 60)")
    p.add_argument("--json", action="store_true", help="one JSON object per alert")
    _delay_arg(p)
    _lang_arg(p)
    p.add_argument("--match", help="of a recording of many matches: replay only this match id")
    _page_args(p)


def _lang_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=LANGS, help="language of the alert texts (default: settings)")


def _page_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mqtt",
        metavar="URL",
        help="publish to a broker (mqtt://host:port) for Home Assistant: discovery, state, events",
    )
    p.add_argument("--api", metavar="HOST:PORT", help="serve the API and live page meanwhile")
    p.add_argument("--stay", action="store_true", help="with --api: keep serving after the end")


def parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    ap = argparse.ArgumentParser(
        prog="notifier", description="Live football alerts, two-legged ties included."
    )
    ap.add_argument(
        "--config",
        type=Path,
        help="settings file (default: NOTIFIER_CONFIG, ./config/notifier.toml, the user's)",
    )
    ap.add_argument("--log-level", help="DEBUG, INFO, WARNING, ...")
    ap.add_argument("--log-format", choices=["auto", "json", "plain"])
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="all workers in one process")
    for role, text in (("poll", "poller"), ("aggregate", "aggregator"), ("dispatch", "dispatcher")):
        sub.add_parser(role, help=f"the {text} alone (needs REDIS_URL to share state)")
    demo = sub.add_parser("demo", help="replay the scripted Atalanta v Dortmund second leg")
    demo.add_argument("--speed", type=_positive, default=150.0)
    demo.add_argument("--json", action="store_true")
    demo.add_argument("--scenario", type=Path, default=commands.DEMO_SCENARIO)
    _delay_arg(demo)
    _lang_arg(demo)
    _page_args(demo)
    _replay_args(
        sub.add_parser("replay", help="replay a recorded match through the whole pipeline")
    )
    feed = sub.add_parser("feed", help="feed tools").add_subparsers(
        dest="feed_command", required=True
    )
    parse = feed.add_parser("parse", help="print the normalised snapshot(s) of a recorded response")
    parse.add_argument("--provider", required=True, choices=registry.NAMES)
    parse.add_argument("file", type=Path)
    parse.add_argument("--match", help="only this provider match id")
    for ext in _extensions():
        ext.register(sub)
    return ap


def _settings(args: argparse.Namespace, quiet: bool) -> Settings:
    settings = Settings.load(args.config)
    level = args.log_level or ("WARNING" if quiet else settings.log_level)
    logsetup.setup(args.log_format or settings.log_format, level)
    return settings


def feed_parse(args: argparse.Namespace) -> int:
    """``notifier feed parse``: the snapshots of a recorded response, as JSON."""
    from notifier.feeds.base import snapshot_json

    snaps = registry.parse(args.provider, args.file.read_bytes(), match=args.match)
    out = [snapshot_json(s) for s in snaps]
    print(json.dumps(out[0] if args.match and len(out) == 1 else out, indent=2, ensure_ascii=False))
    return 0 if snaps else 1


def dispatch(args: argparse.Namespace) -> int:
    """Run the chosen command; its exit code."""
    if args.command == "feed":
        return feed_parse(args)
    if args.command == "init":  # needs no settings: it writes them
        from workers.cli import setup

        return int(setup.run(args, None) or 0)
    quiet = args.command in ("demo", "replay", *QUIET)
    settings = _settings(args, quiet)
    for ext in _extensions():
        code = ext.run(args, settings)
        if code is not None:
            return int(code)
    if args.command == "demo":
        opts = commands.demo_options(args.speed, args.json, args.scenario)
        opts = dataclasses.replace(
            opts, api=args.api, stay=args.stay, lang=args.lang, mqtt=args.mqtt, delay=args.delay
        )
        return 1 if run_async(commands.replay(settings, opts)) else 0
    elif args.command == "replay":
        opts = commands.ReplayOptions(
            file=args.file,
            provider=args.provider,
            first_leg=args.first_leg,
            away_goals=args.away_goals,
            next_round=args.next_round,
            speed=args.speed,
            as_json=args.json,
            delay=args.delay,
            api=args.api,
            stay=args.stay,
            lang=args.lang,
            mqtt=args.mqtt,
            match=args.match,
        )
        return 1 if run_async(commands.replay(settings, opts)) else 0
    elif args.command == "run":
        run_async(commands.run(settings))
    else:
        run_async(commands.run(settings, roles=(args.command,)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``notifier`` console script."""
    args = parser().parse_args(argv)
    try:
        return dispatch(args)
    except (NotifierError, ValueError, OSError) as exc:
        print(f"notifier: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
