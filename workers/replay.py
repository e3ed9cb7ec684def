"""Replay feed server: recorded or scripted matches served as the live API-Football v3 would.

The I/O shell around :class:`notifier.replay.Timeline`: an aiohttp app answering the paths the
poller uses (``/fixtures?id=``, ``?ids=``, ``?live=``, ``/fixtures/lineups?fixture=``) from a
virtual clock that runs ``speed`` times faster than the wall clock. A client cannot tell it from
the provider, including the ``x-apisports-key`` check and HTTP-200 error envelopes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web

from notifier.errors import ConfigError, FeedParseError
from notifier.replay import Timeline

KEY_HEADER = "x-apisports-key"
MISSING_KEY = (
    "Error/Missing application key. Go to https://www.api-football.com/documentation-v3 "
    "to learn how to get your API application key."
)
# Statuses of a fixture that is not being played right now (live=all leaves them out).
NOT_IN_PLAY = frozenset({"TBD", "NS", "FT", "AET", "PEN", "PST", "CANC", "ABD", "AWD", "WO"})
MAX_IDS = 20  # the provider's own limit for ?ids=


class ReplayClock:
    """Virtual match time: ``(now - started) * speed + start_offset`` seconds."""

    def __init__(
        self,
        *,
        speed: float = 1.0,
        start_offset: float = 0.0,
        time_fn: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start the clock now (by ``time_fn``) at ``start_offset`` virtual seconds."""
        if speed <= 0:
            raise ConfigError(f"replay speed must be positive, not {speed}")
        self.speed = speed
        self.start_offset = start_offset
        self._time = time_fn
        self._started = time_fn()

    def now(self) -> float:
        """Virtual seconds from kick-off (negative before it)."""
        return (self._time() - self._started) * self.speed + self.start_offset


@dataclass(frozen=True)
class ReplayState:
    """What the handlers serve from: the fixtures by id, the clock, the expected API key."""

    timelines: dict[str, Timeline]
    clock: ReplayClock
    api_key: str | None


STATE = web.AppKey("replay_state", ReplayState)


def create_app(
    timelines: dict[str, Timeline], clock: ReplayClock, api_key: str | None = None
) -> web.Application:
    """The replay feed as an aiohttp application (``init_app``-style factory)."""
    app = web.Application()
    app[STATE] = ReplayState(dict(timelines), clock, api_key)
    app.router.add_get("/fixtures", fixtures)
    app.router.add_get("/fixtures/lineups", lineups)
    return app


def envelope(
    path: str, request: web.Request, response: list[Any], errors: Any = None
) -> web.Response:
    """An API-Football envelope; errors, like the provider's, come with HTTP 200."""
    body = {
        "get": path,
        "parameters": dict(request.query),
        "errors": errors or [],
        "results": len(response),
        "paging": {"current": 1, "total": 1},
        "response": response,
    }
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def _refused(request: web.Request, path: str) -> web.Response | None:
    """The provider's answer to a missing or wrong key, or None when the key is right."""
    expected = request.app[STATE].api_key
    if expected is None or request.headers.get(KEY_HEADER) == expected:
        return None
    return envelope(path, request, [], {"token": MISSING_KEY})


async def fixtures(request: web.Request) -> web.Response:
    """``GET /fixtures`` with ``id``, ``ids`` (A-B-C) or ``live`` (``all`` or league ids)."""
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
        return envelope("fixtures", request, _live(state, now, query["live"]))
    else:
        return envelope(
            "fixtures", request, [], {"required": "At least one parameter is required."}
        )
    if problem is not None:
        return envelope("fixtures", request, [], problem)
    found = [state.timelines[i].fixture_at(now) for i in wanted if i in state.timelines]
    return envelope("fixtures", request, found)


async def lineups(request: web.Request) -> web.Response:
    """``GET /fixtures/lineups?fixture=N[&team=T]``: ``[]`` until the lineups are out."""
    refused = _refused(request, "fixtures/lineups")
    if refused is not None:
        return refused
    state = request.app[STATE]
    wanted, problem = _ids([request.query.get("fixture", "")], "fixture")
    if problem is not None:
        return envelope("fixtures/lineups", request, [], problem)
    timeline = state.timelines.get(wanted[0])
    found = timeline.lineups_at(state.clock.now()) if timeline is not None else []
    team = request.query.get("team")
    if team is not None:
        found = [entry for entry in found if str(entry.get("team", {}).get("id")) == team]
    return envelope("fixtures/lineups", request, found)


def _ids(values: list[str], field: str) -> tuple[list[str], dict[str, str] | None]:
    """Fixture ids from a query, or the provider-style error for that field."""
    ids = [value.strip() for value in values]
    if not ids or not all(value.isdigit() for value in ids):
        return [], {field: f"The {field.capitalize()} field must contain integers."}
    if len(ids) > MAX_IDS:
        return [], {field: f"Maximum of {MAX_IDS} ids allowed."}
    return [str(int(value)) for value in ids], None


def _live(state: ReplayState, now: float, which: str) -> list[dict[str, Any]]:
    """Fixtures in play at ``now``: all of them, or those of the given league ids."""
    leagues = None if which == "all" else set(which.split("-"))
    found = []
    for timeline in state.timelines.values():
        if timeline.status_at(now) in NOT_IN_PLAY:
            continue
        item = timeline.fixture_at(now)
        if leagues is None or str(item.get("league", {}).get("id")) in leagues:
            found.append(item)
    return found


class ReplayServer:
    """A running replay feed on a loopback port; ``await close()`` stops it."""

    def __init__(self, runner: web.AppRunner, url: str, clock: ReplayClock) -> None:
        """Wrap a started runner (use :func:`start_replay_server`)."""
        self._runner = runner
        self._closed = False
        self.url = url
        self.clock = clock

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
    timelines: dict[str, Timeline] | Iterable[Timeline],
    *,
    speed: float,
    start_offset: float,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    time_fn: Callable[[], float] = time.monotonic,
) -> ReplayServer:
    """Serve timelines (by fixture id) on host:port (0 picks a free port) from now on."""
    by_id = _by_id(timelines)
    clock = ReplayClock(speed=speed, start_offset=start_offset, time_fn=time_fn)
    runner = web.AppRunner(create_app(by_id, clock, api_key), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
    except BaseException:
        await runner.cleanup()
        raise
    return ReplayServer(runner, f"http://{host}:{bound}", clock)


def _by_id(timelines: dict[str, Timeline] | Iterable[Timeline]) -> dict[str, Timeline]:
    if isinstance(timelines, dict):
        return {str(key): value for key, value in timelines.items()}
    return {str(timeline.fixture_id): timeline for timeline in timelines}


def load_recording(path: str | Path, *, lineups_before: float = 40.0) -> Timeline:
    """A timeline from a recorded or scripted ``/fixtures?id=`` JSON file."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read recording {path}: {exc.strerror or exc}") from exc
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FeedParseError(f"recording {path} is not JSON: {exc}") from exc
    try:
        return Timeline(data, lineups_before=lineups_before)
    except FeedParseError as exc:
        raise FeedParseError(f"recording {path}: {exc}") from exc
