"""Replay feed server: recorded matches served as the live providers would serve them.

The I/O shell around the pure timelines: an aiohttp app answering, from a virtual clock that
runs ``speed`` times faster than the wall clock, API-Football v3 (``/fixtures?id=``, ``?ids=``,
``?live=``, ``?league=&season=``, ``/fixtures/lineups?fixture=``;
:class:`notifier.replay.api_football.Timeline`), and football-data v4 and the ESPN site API
(:mod:`notifier.replay.routes`). A client cannot tell it from the provider, including the key
checks and API-Football's HTTP-200 error envelopes. Every request is counted
(``ReplayServer.log``) and errors can be injected (``ReplayServer.faults``), for tests and
benchmarks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web

from notifier.errors import ConfigError, FeedParseError
from notifier.replay import discovery, routes
from notifier.replay.api_football import Timeline
from notifier.replay.espn import EspnReplay
from notifier.replay.faults import FeedFaults, make_middleware
from notifier.replay.football_data import FootballDataReplay
from notifier.replay.state import (
    PREFIXES,
    STATE,
    Faults,
    ReplayClock,
    ReplayState,
    RequestLog,
    inject_faults,
    record,
)

__all__ = ["ReplayClock", "ReplayServer", "create_app", "load_recording", "start_replay_server"]

KEY_HEADER = "x-apisports-key"
MISSING_KEY = (
    "Error/Missing application key. Go to https://www.api-football.com/documentation-v3 "
    "to learn how to get your API application key."
)
# Statuses of a fixture that is not being played right now (live=all leaves them out).
NOT_IN_PLAY = frozenset({"TBD", "NS", "FT", "AET", "PEN", "PST", "CANC", "ABD", "AWD", "WO"})
MAX_IDS = 20  # the provider's own limit for ?ids=


def create_app(
    timelines: dict[str, Timeline],
    clock: ReplayClock,
    api_key: str | None = None,
    *,
    football_data: dict[str, FootballDataReplay] | None = None,
    espn: dict[str, EspnReplay] | None = None,
    feed_faults: FeedFaults | None = None,
) -> web.Application:
    """The replay feed as an aiohttp application (``init_app``-style factory); ``feed_faults``
    makes it misbehave as real providers do (:mod:`notifier.replay.faults`)."""
    chaos = [make_middleware(feed_faults)] if feed_faults is not None else []
    app = web.Application(middlewares=[inject_faults, *chaos])
    app[STATE] = ReplayState(dict(timelines), clock, api_key, football_data or {}, espn or {})
    for prefix in PREFIXES:
        app.router.add_get(prefix + "/fixtures", fixtures)
        app.router.add_get(prefix + "/fixtures/lineups", lineups)
        routes.add_routes(app, prefix)
        discovery.add_routes(app, prefix)
    return app


def envelope(
    path: str, request: web.Request, response: list[bytes], errors: Any = None
) -> web.Response:
    """An API-Football envelope around items already in JSON; errors come with HTTP 200."""
    head = {
        "get": path,
        "parameters": dict(request.query),
        "errors": errors or [],
        "results": len(response),
        "paging": {"current": 1, "total": 1},
    }
    body = orjson.dumps(head)[:-1] + b',"response":[' + b",".join(response) + b"]}"
    return web.Response(body=body, content_type="application/json")


def _refused(request: web.Request, path: str) -> web.Response | None:
    """The provider's answer to a missing or wrong key, or None when the key is right."""
    expected = request.app[STATE].api_key
    if expected is None or request.headers.get(KEY_HEADER) == expected:
        return None
    return envelope(path, request, [], {"token": MISSING_KEY})


async def fixtures(request: web.Request) -> web.Response:
    """``GET /fixtures`` with ``id``, ``ids`` (A-B-C), ``live`` or ``league`` (+ ``season``)."""
    refused = _refused(request, "fixtures")
    if refused is not None:
        return refused
    state = request.app[STATE]
    now = state.clock.now()
    query = request.query
    if "id" in query:
        wanted, problem = _ids([query["id"]], "id")
    elif "ids" in query:
        wanted, problem = _ids(query["ids"].split("-"), "ids")
    elif "live" in query:
        return _served(request, "fixtures?live", _live(state, now, query["live"]), brief=True)
    elif "league" in query:
        return _served(request, "fixtures?league", _league(state, now, query))
    else:
        return envelope(
            "fixtures", request, [], {"required": "At least one parameter is required."}
        )
    if problem is not None:
        return envelope("fixtures", request, [], problem)
    found = [i for i in wanted if i in state.timelines]
    route = "fixtures?id" if "id" in query else "fixtures?ids"
    return _served(request, route, found)


def _served(
    request: web.Request, route: str, ids: list[str], *, brief: bool = False
) -> web.Response:
    state = request.app[STATE]
    now = state.clock.now()
    record(request, route, ids)
    items = [state.timelines[i].fixture_json(now, brief=brief) for i in ids]
    return envelope("fixtures", request, items)


async def lineups(request: web.Request) -> web.Response:
    """``GET /fixtures/lineups?fixture=N[&team=T]``: ``[]`` until the lineups are out."""
    refused = _refused(request, "fixtures/lineups")
    if refused is not None:
        return refused
    state = request.app[STATE]
    wanted, problem = _ids([request.query.get("fixture", "")], "fixture")
    if problem is not None:
        return envelope("fixtures/lineups", request, [], problem)
    record(request, "fixtures/lineups", wanted)
    timeline = state.timelines.get(wanted[0])
    found = timeline.lineups_at(state.clock.now()) if timeline is not None else []
    team = request.query.get("team")
    if team is not None:
        found = [entry for entry in found if str(entry.get("team", {}).get("id")) == team]
    return envelope("fixtures/lineups", request, [orjson.dumps(entry) for entry in found])


def _ids(values: list[str], field: str) -> tuple[list[str], dict[str, str] | None]:
    """Fixture ids from a query, or the provider-style error for that field."""
    ids = [value.strip() for value in values]
    if not ids or not all(value.isdigit() for value in ids):
        return [], {field: f"The {field.capitalize()} field must contain integers."}
    if len(ids) > MAX_IDS:
        return [], {field: f"Maximum of {MAX_IDS} ids allowed."}
    return [str(int(value)) for value in ids], None


def _live(state: ReplayState, now: float, which: str) -> list[str]:
    """Ids of the fixtures in play at ``now``: all of them, or those of the given league ids."""
    leagues = None if which == "all" else set(which.split("-"))
    found = []
    for fixture_id, timeline in state.timelines.items():
        if timeline.status_at(now) in NOT_IN_PLAY:
            continue
        if leagues is None or _league_of(timeline, now)[0] in leagues:
            found.append(fixture_id)
    return found


def _league(state: ReplayState, now: float, query: Any) -> list[str]:
    """Ids of the fixtures of a league (and season): a replay is one matchday, dates aside."""
    season = query.get("season")
    found = []
    for fixture_id, timeline in state.timelines.items():
        league, of_season = _league_of(timeline, now)
        if league == query["league"] and (season is None or of_season == season):
            found.append(fixture_id)
    return found


def _league_of(timeline: Timeline, now: float) -> tuple[str, str]:
    league = timeline.fixture_at(now).get("league") or {}
    return str(league.get("id")), str(league.get("season"))


class ReplayServer:
    """A running replay feed on a loopback port; ``await close()`` stops it."""

    def __init__(self, runner: web.AppRunner, url: str, state: ReplayState) -> None:
        """Wrap a started runner (use :func:`start_replay_server`)."""
        self._runner = runner
        self._closed = False
        self.url = url
        self.state = state
        self.clock = state.clock

    @property
    def log(self) -> RequestLog:
        """Every request answered so far."""
        return self.state.log

    @property
    def faults(self) -> Faults:
        """Set ``status``, ``count`` (and ``retry_after``) to answer errors instead of data."""
        return self.state.faults

    async def close(self) -> None:
        """Stop serving and release the port (a second call does nothing)."""
        if not self._closed:
            self._closed = True
            await self._runner.cleanup()

    async def __aenter__(self) -> ReplayServer:
        """The server itself."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close on leaving the block."""
        await self.close()


async def start_replay_server(
    timelines: dict[str, Timeline] | Iterable[Timeline] = (),
    *,
    speed: float,
    start_offset: float,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    time_fn: Callable[[], float] = time.monotonic,
    football_data: Iterable[FootballDataReplay] = (),
    espn: Iterable[EspnReplay] = (),
    feed_faults: FeedFaults | None = None,
    hold: bool = False,
) -> ReplayServer:
    """Serve recordings (API-Football timelines by fixture id, football-data, ESPN) from now on
    (``hold``: from the first request for matches)."""
    clock = ReplayClock(speed=speed, start_offset=start_offset, time_fn=time_fn, hold=hold)
    app = create_app(
        _by_id(timelines),
        clock,
        api_key,
        football_data={m.match_id: m for m in football_data},
        espn={m.match_id: m for m in espn},
        feed_faults=feed_faults,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
    except BaseException:
        await runner.cleanup()
        raise
    return ReplayServer(runner, f"http://{host}:{bound}", app[STATE])


def _by_id(timelines: dict[str, Timeline] | Iterable[Timeline]) -> dict[str, Timeline]:
    if isinstance(timelines, dict):
        return {str(key): value for key, value in timelines.items()}
    return {str(timeline.fixture_id): timeline for timeline in timelines}


def read_json(path: str | Path) -> Any:
    """A recording file's JSON; ConfigError if unreadable, FeedParseError if not JSON."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read recording {path}: {exc.strerror or exc}") from exc
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FeedParseError(f"recording {path} is not JSON: {exc}") from exc


def load_recording(path: str | Path, *, lineups_before: float = 40.0) -> Timeline:
    """A timeline from a recorded or scripted ``/fixtures?id=`` JSON file."""
    data = read_json(path)
    try:
        return Timeline(data, lineups_before=lineups_before)
    except FeedParseError as exc:
        raise FeedParseError(f"recording {path}: {exc}") from exc
