"""What the CLI commands do: replay a recording through the real pipeline, run the workers."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from notifier import keys
from notifier.settings import ProviderSettings, Settings
from notifier.tie import TieRules, TieSpec, parse_first_leg
from notifier.tieconfig import load_tie_dir
from notifier.watch import Watch, add_watch, reset_match, save_tie
from workers.dispatcher import Sink
from workers.replay import load_recording, start_replay_server
from workers.runtime import ROLES, Pipeline, open_pipeline, serve
from workers.sinks import ConsoleSink

log = logging.getLogger("notifier.cli")
REPLAY_KEY = "replay-local-key"
PRE_MATCH_LEAD_S = 120.0  # virtual seconds before kick-off a replay starts (lineups are out)
DEMO_SCENARIO = Path("config/scenarios/atalanta-dortmund-2nd-leg.json")
DEMO_FIRST_LEG = "Borussia Dortmund 2-0 Atalanta"
DEMO_NEXT_ROUND = "the round of 16"


@dataclass(frozen=True)
class ReplayOptions:
    """What ``notifier replay`` was asked to do."""

    file: Path
    provider: str = "api-football"
    first_leg: str | None = None
    away_goals: bool = False
    next_round: str | None = None
    speed: float = 60.0
    as_json: bool = False


def replay_settings(settings: Settings, speed: float) -> Settings:
    """Settings paced for a replay: the provider's live intervals, sped up like the clock."""
    poll = settings.poll.model_copy(
        update={
            "live_s": max(settings.poll.live_s / speed, 0.1),
            "half_time_s": max(settings.poll.half_time_s / speed, 0.1),
            "pre_match_s": max(min(settings.poll.pre_match_s, 30.0) / speed, 0.1),
            "jitter_s": 0.0,
        }
    )
    block = min(settings.streams.block_ms, 200)
    streams = settings.streams.model_copy(update={"block_ms": block})
    update: dict[str, object] = {"poll": poll, "streams": streams, "heartbeat_s": 1.0}
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


async def replay(settings: Settings, opts: ReplayOptions, sinks: list[Sink] | None = None) -> None:
    """Replay a recording as if live through poller, aggregator and dispatcher; exit when done."""
    timeline = load_recording(opts.file)
    settings = replay_settings(settings, opts.speed)
    match_id = str(timeline.fixture_id)
    async with contextlib.AsyncExitStack() as stack:
        server = await start_replay_server(
            {match_id: timeline},
            speed=opts.speed,
            start_offset=-PRE_MATCH_LEAD_S,
            api_key=REPLAY_KEY,
        )
        stack.push_async_callback(server.close)
        providers = settings.providers.replace(
            opts.provider,
            ProviderSettings(base_url=server.url, api_key=SecretStr(REPLAY_KEY)),
        )
        settings = settings.model_copy(update={"providers": providers})
        sinks = sinks if sinks is not None else [ConsoleSink(as_json=opts.as_json)]
        pipe = await open_pipeline(settings, stack, sinks=sinks)
        watch = Watch(provider=opts.provider, match_id=match_id)
        tie = replay_tie(opts, watch.key)
        watch = await _follow(pipe, watch, tie)
        await serve(pipe, sync_every=0.2, done=lambda: _replay_done(pipe, watch))


async def _follow(pipe: Pipeline, watch: Watch, tie: TieSpec | None) -> Watch:
    if tie is not None:
        watch = watch.model_copy(update={"tie": tie.id})
    p = keys.partition_of(watch.tie or watch.key, pipe.settings.streams.partitions)
    await reset_match(pipe.r, p, watch.key)
    if tie is not None:
        await save_tie(pipe.r, tie, p)
    await add_watch(pipe.r, watch)
    return watch


async def _replay_done(pipe: Pipeline, watch: Watch) -> bool:
    p = keys.partition_of(watch.tie or watch.key, pipe.settings.streams.partitions)
    if not await pipe.r.exists(keys.match_done(p, watch.key)):
        return False
    return await pipe.idle()


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
        sinks: list[Sink] = [ConsoleSink()] if settings.console and "dispatch" in roles else []
        pipe = await open_pipeline(settings, stack, roles=roles, sinks=sinks)
        for spec, watch in load_tie_dir(ties_dir or Path("config/ties")):
            p = keys.partition_of(spec.id, settings.streams.partitions)
            await save_tie(pipe.r, spec, p)
            if watch is not None:
                await add_watch(pipe.r, watch)
        await serve(pipe)
