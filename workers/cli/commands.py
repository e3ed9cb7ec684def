"""What the CLI commands do: replay a recording through the real pipeline, run the workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from redis.asyncio import Redis

import notifier
from notifier.api.chat.wiring import needs_api
from notifier.bus import keys
from notifier.bus.watches import Watch, add_watch, reset_match, save_tie
from notifier.domain.models import MatchSnapshot
from notifier.domain.tie import TieRules, TieSpec, parse_first_leg
from notifier.errors import ConfigError
from notifier.replay.load import DEMO_PROVIDER, Replayed, ReplaySet, load_replay
from notifier.replay.server import ReplayServer
from notifier.settings import Settings
from workers.cli import status
from workers.cli.runtime import ROLES, WORKER_ROLES, Pipeline, open_pipeline, serve
from workers.cli.scoreboard import Scoreboard, replay_progress
from workers.cli.sinks import ConsoleSink, open_mqtt_sink
from workers.cli.tieconfig import load_tie_dir
from workers.deliver.dispatcher import Sink
from workers.deliver.dlq import STAGES

log = logging.getLogger("notifier.cli")
REPLAY_KEY = "replay-local-key"
PRE_MATCH_LEAD_S = 120.0  # virtual seconds before kick-off a replay starts (lineups are out)
PACKAGE_DATA = Path(notifier.__file__).resolve().parent / "data"  # shipped with the package
DEMO_SCENARIO = PACKAGE_DATA / "scenarios" / "atalanta-dortmund-2nd-leg.json"
DEMO_FIRST_LEG = "Borussia Dortmund 2-0 Atalanta"
DEMO_NEXT_ROUND = "the round of 16"


@dataclass(frozen=True)
class ReplayOptions:
    """What ``notifier replay`` was asked to do."""

    file: Path
    provider: str = DEMO_PROVIDER
    first_leg: str | None = None
    away_goals: bool = False
    next_round: str | None = None
    speed: float = 60.0
    as_json: bool = False
    delay: int = 0  # spoiler delay of the console, in seconds of the replay's clock
    match: str | None = None  # of a list or scoreboard recording: replay only this match
    api: str | None = None  # HOST:PORT to serve the API and live page on during the replay
    mqtt: str | None = None  # mqtt://host:port: publish for Home Assistant (else ``[mqtt]``)
    stay: bool = False  # keep serving the API after the replay, until interrupted
    lang: str | None = None  # language of the alert texts (default: the settings' lang)


def replay_settings(settings: Settings, speed: float) -> Settings:
    """Settings paced for a replay: the provider's live intervals, sped up like the clock."""
    poll = settings.poll.model_copy(
        update={
            "live_s": max(settings.poll.live_s / speed, 0.1),
            "half_time_s": max(settings.poll.half_time_s / speed, 0.1),
            "pre_match_s": max(min(settings.poll.pre_match_s, 30.0) / speed, 0.1),
            "lineup_s": max(min(settings.poll.lineup_s, 30.0) / speed, 0.1),
            "max_backoff_s": max(settings.poll.max_backoff_s / speed, 0.5),
            "jitter_s": 0.0,
        }
    )
    block = min(settings.streams.block_ms, 200)
    streams = settings.streams.model_copy(update={"block_ms": block})
    providers = settings.providers
    for name, provider in settings.providers.items():
        # The replay's clock runs ``speed`` times faster: so may its requests.
        budget = {
            "requests_per_minute": int(provider.requests_per_minute * speed),
            "requests_per_day": max(provider.requests_per_day, 10**9),
            "pause_s": max(provider.pause_s / speed, 0.5),
        }
        providers = providers.replace(name, provider.model_copy(update=budget))
    # A subscription's spoiler delay runs on the match clock too.
    delivery = settings.delivery.model_copy(update={"clock_rate": speed})
    update: dict[str, object] = {
        "delivery": delivery,
        "poll": poll,
        "streams": streams,
        "heartbeat_s": 1.0,
        "providers": providers,
    }
    if settings.redis_url is None:
        update["data_dir"] = Path(tempfile.mkdtemp(prefix="notifier-replay-"))
    return settings.model_copy(update=update)


def replay_tie(opts: ReplayOptions, match_key: str) -> TieSpec | None:
    """The tie a replay is the second leg of, from ``--first-leg``."""
    if opts.first_leg is None:
        return None
    first = parse_first_leg(opts.first_leg)
    return TieSpec(
        id=f"replay:{match_key}",
        first_leg=first,
        rules=TieRules(away_goals=opts.away_goals),
        next_round=opts.next_round,
        second_leg=match_key,
    )


async def replay(settings: Settings, opts: ReplayOptions, sinks: list[Sink] | None = None) -> int:
    """Replay a recording as if live through poller, aggregator and dispatcher; exit when done.

    Returns how many entries ended in a dead-letter stream (the CLI exits non-zero then)."""
    found = load_replay(opts.provider, opts.file, opts.match)
    if opts.first_leg is not None and len(found.followed) > 1:
        raise ConfigError("--first-leg needs a recording of one match (choose one with --match)")
    settings = replay_settings(settings, opts.speed)
    stop = asyncio.Event()  # set by one Ctrl-C (or SIGTERM) at any moment from now on
    on_signals(stop)
    async with contextlib.AsyncExitStack() as stack:
        server = await found.serve(
            speed=opts.speed,
            start_offset=-PRE_MATCH_LEAD_S,
            api_key=REPLAY_KEY,
        )
        stack.push_async_callback(server.close)
        settings = point_at(settings, opts.provider, server.url)
        if sinks is None:
            sinks = [_console(settings, opts, stack, server, found.end)]
        pipe = await open_pipeline(settings, stack, roles=(*WORKER_ROLES, "bot"), sinks=sinks)
        pipe.stop = stop  # a signal before the pipeline runs stops it as soon as it starts
        await _add_mqtt(pipe, stack, opts.mqtt)
        watches = [
            Watch(provider=opts.provider, match_id=m.match_id, league=m.league)
            for m in found.followed
        ]
        tie = replay_tie(opts, watches[0].key)
        api = opts.api
        if api is None and needs_api(settings):  # the bots' inbound routes, while it plays
            api = f"{settings.api.host}:{settings.api.port}"
        if api:
            await _serve_api(pipe, api, stack, tie.id if tie else None)
        watches = [await _follow(pipe, watch, tie) for watch in watches]
        done = ReplayDone(pipe, server, found, watches)
        await serve(pipe, sync_every=0.2, done=done.check)
        dead = await dead_letters(pipe)
        if opts.api and opts.stay and done.finished:  # a Ctrl-C during the replay ends it all
            await wait_for_signal()
        return dead


async def dead_letters(pipe: Pipeline) -> int:
    """Entries in the dead-letter streams, each named in a log line."""
    total = 0
    for stage in STAGES:
        n = int(await pipe.r.xlen(keys.dlq(stage)))
        if n:
            log.error("dead_letters", extra={"stream": keys.dlq(stage), "count": n})
            print(
                f"notifier: {n} entr{'y' if n == 1 else 'ies'} in {keys.dlq(stage)}"
                " (see `notifier dlq list --stage " + stage + "`)",
                file=sys.stderr,
            )
        total += n
    return total


async def _add_mqtt(
    pipe: Pipeline, stack: contextlib.AsyncExitStack, url: str | None = None
) -> None:
    """The MQTT sink (``--mqtt`` or ``[mqtt]``) on the dispatcher, if there is one of each."""
    if pipe.dispatcher is None:
        return
    sink = await open_mqtt_sink(pipe.settings, stack, url, pipe.r)
    if sink is not None:
        pipe.dispatcher.sinks.append(sink)


def point_at(settings: Settings, provider: str, url: str) -> Settings:
    """Settings whose ``provider`` is the replay server at ``url``, with the replay's key."""
    current = settings.provider(provider)
    local = current.model_copy(update={"base_url": url, "api_key": SecretStr(REPLAY_KEY)})
    return settings.model_copy(update={"providers": settings.providers.replace(provider, local)})


def on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (instead of interrupting whatever is awaited)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def wait_for_signal() -> None:
    """Wait for SIGTERM or SIGINT (the pipeline's own handlers are done with by now)."""
    stop = asyncio.Event()
    on_signals(stop)
    await stop.wait()


def _console(
    settings: Settings,
    opts: ReplayOptions,
    stack: contextlib.AsyncExitStack,
    server: ReplayServer,
    end: float,
) -> Sink:
    """The scoreboard at a terminal; one plain (or JSON) line per alert anywhere else."""
    lang, names = opts.lang or settings.lang, settings.names_by_lang()
    if opts.as_json or not sys.stdout.isatty():
        return ConsoleSink(as_json=opts.as_json, delay_s=opts.delay, lang=lang, names=names)
    progress = replay_progress(server.clock.now, -PRE_MATCH_LEAD_S, end)
    board = Scoreboard(
        teams=settings.teams, progress=progress, delay_s=opts.delay, lang=lang, names=names
    )
    return stack.enter_context(board)


async def _serve_api(
    pipe: Pipeline, address: str, stack: contextlib.AsyncExitStack, tie: str | None
) -> None:
    from workers.cli.web import serve_api

    url = await serve_api(pipe.settings, pipe.r, address, stack)
    page = f"{url}/ties/{tie}" if tie else url + "/"
    print(f"live page: {page}", file=sys.stderr, flush=True)


async def _follow(pipe: Pipeline, watch: Watch, tie: TieSpec | None) -> Watch:
    if tie is not None:
        watch = watch.model_copy(update={"tie": tie.id})
    p = keys.partition_of(watch.tie or watch.key, pipe.settings.streams.partitions)
    await reset_match(pipe.r, p, watch.key)
    if tie is not None:
        await save_tie(pipe.r, tie, p)
    await add_watch(pipe.r, watch)
    return watch


@dataclass
class ReplayDone:
    """Whether a replay is over: every followed match finished (or, recorded live, caught up
    with its recording), and every event and alert handled."""

    pipe: Pipeline
    server: ReplayServer
    found: ReplaySet
    watches: list[Watch]
    finished: bool = False  # the replay reached its end (not stopped by a signal)

    async def check(self) -> bool:
        """True once the replay is over."""
        ends = {m.match_id: m for m in self.found.followed}
        for watch in self.watches:
            if not await self._match_done(watch, ends[watch.match_id]):
                return False
        self.finished = await self.pipe.idle()
        return self.finished

    async def _match_done(self, watch: Watch, replayed: Replayed) -> bool:
        p = keys.partition_of(watch.tie or watch.key, self.pipe.settings.streams.partitions)
        if await self.pipe.r.exists(keys.match_done(p, watch.key)):
            return True
        if self.server.clock.now() < replayed.end:
            return False
        raw = await self.pipe.r.get(keys.snapshot(p, watch.key))
        if not raw:
            return False
        stored = MatchSnapshot.model_validate_json(raw)
        final = replayed.final
        return (stored.status, stored.score, stored.goals) == (
            final.status,
            final.score,
            final.goals,
        )


def demo_options(speed: float, as_json: bool, scenario: Path = DEMO_SCENARIO) -> ReplayOptions:
    """The demo: the scripted second leg of Atalanta v Dortmund (Dortmund won the first 2-0)."""
    return ReplayOptions(
        file=scenario,
        first_leg=DEMO_FIRST_LEG,
        next_round=DEMO_NEXT_ROUND,
        speed=speed,
        as_json=as_json,
    )


async def run(
    settings: Settings, roles: tuple[str, ...] = ROLES, ties_dir: Path | None = None
) -> None:
    """Run the workers of ``roles`` until SIGTERM; follow the ties configured in ``ties_dir``."""
    async with contextlib.AsyncExitStack() as stack:
        console = ConsoleSink(lang=settings.lang, names=settings.names_by_lang())
        sinks: list[Sink] = [console] if settings.console and "dispatch" in roles else []
        pipe = await open_pipeline(settings, stack, roles=roles, sinks=sinks)
        await _add_mqtt(pipe, stack)
        for spec, watch in load_tie_dir(ties_dir or Path("config/ties")):
            p = keys.partition_of(spec.id, settings.streams.partitions)
            await save_tie(pipe.r, spec, p)
            if watch is not None:
                await add_watch(pipe.r, watch)
        if "poll" in roles:
            await log_summary(pipe.r, settings)
        await serve(pipe)


async def log_summary(r: Redis, settings: Settings) -> None:
    """What ``notifier status`` prints, logged at start; plainly when nothing is followed."""
    summary = await status.summary(r, settings)
    follows = [f["id"] for f in summary["follows"]]
    if not follows and not summary["next_matches"]:
        log.warning("following_nothing", extra={"hint": status.HOW_TO_FOLLOW})
        return
    nxt = summary["next_matches"][0] if summary["next_matches"] else None
    log.info(
        "following",
        extra={
            "follows": follows,
            "matches": len(summary["next_matches"]),
            "next": f"{nxt['title'] or nxt['match']} at {nxt['kickoff']}" if nxt else None,
            "providers": summary["providers"],
        },
    )
