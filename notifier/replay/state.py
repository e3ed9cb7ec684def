"""What the replay feed server serves from: the virtual clock, the recordings of each provider,
the request log (for tests and benchmarks) and injected faults (429, 5xx) for politeness tests."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp.typedefs import Handler

from notifier.errors import ConfigError
from notifier.replay.api_football import Timeline
from notifier.replay.espn import EspnReplay
from notifier.replay.football_data import FootballDataReplay

LOG_MAX = 200_000  # requests remembered one by one (the counters count them all)


class ReplayClock:
    """Virtual match time: ``(now - started) * speed + start_offset`` seconds."""

    def __init__(
        self,
        *,
        speed: float = 1.0,
        start_offset: float = 0.0,
        time_fn: Callable[[], float] = time.monotonic,
        hold: bool = False,
    ) -> None:
        """Start the clock now (by ``time_fn``) at ``start_offset`` virtual seconds; ``hold``:
        it stands at ``start_offset`` until :meth:`start` (the first poll of a match)."""
        if speed <= 0:
            raise ConfigError(f"replay speed must be positive, not {speed}")
        self.speed = speed
        self.start_offset = start_offset
        self._time = time_fn
        self.held = hold
        self._started = time_fn()
        self._wall_started = datetime.now(UTC)

    def start(self) -> None:
        """Let a held clock run from now (nothing for a running one)."""
        if self.held:
            self.held = False
            self._started = self._time()
            self._wall_started = datetime.now(UTC)

    def now(self) -> float:
        """Virtual seconds from kick-off (negative before it)."""
        if self.held:
            return self.start_offset
        return (self._time() - self._started) * self.speed + self.start_offset

    def wall_at(self, t: float) -> datetime:
        """The wall-clock time (UTC, whole seconds) at which the virtual clock reads t."""
        base = datetime.now(UTC) if self.held else self._wall_started
        when = base + timedelta(seconds=(t - self.start_offset) / self.speed)
        return when.replace(microsecond=0)


@dataclass(frozen=True)
class Hit:
    """One request answered: when (monotonic), which route, the matches served, and the client
    (the ``NAME`` of a ``/~NAME/...`` path prefix: a base URL per client tells them apart)."""

    at: float
    route: str
    matches: tuple[str, ...]
    client: str = ""


@dataclass
class RequestLog:
    """Every request the replay server answered: counters, and the latest ones one by one."""

    total: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    by_match: Counter[str] = field(default_factory=Counter)
    hits: deque[Hit] = field(default_factory=lambda: deque(maxlen=LOG_MAX))

    def record(self, route: str, matches: Iterable[str], client: str = "") -> None:
        """Count one request of ``route`` that served ``matches``."""
        served = tuple(matches)
        self.total += 1
        self.by_route[route] += 1
        self.by_match.update(served)
        self.hits.append(Hit(time.monotonic(), route, served, client))

    def reset(self) -> None:
        """Forget everything counted so far (e.g. after a warm-up)."""
        self.total = 0
        self.by_route.clear()
        self.by_match.clear()
        self.hits.clear()


@dataclass
class Faults:
    """Errors to answer with instead of data: the next ``count`` requests get ``status``."""

    status: int = 0
    count: int = 0
    retry_after: str | None = None

    def take(self) -> web.Response | None:
        """The error response for this request, if one is due."""
        if self.count <= 0:
            return None
        self.count -= 1
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        body = b'{"message": "injected by the replay server", "errorCode": %d}' % self.status
        return web.Response(
            status=self.status, body=body, content_type="application/json", headers=headers
        )


@dataclass(frozen=True)
class ReplayState:
    """The recordings by provider match id, the clock, the expected API key, log and faults."""

    timelines: dict[str, Timeline]
    clock: ReplayClock
    api_key: str | None
    football_data: dict[str, FootballDataReplay] = field(default_factory=dict)
    espn: dict[str, EspnReplay] = field(default_factory=dict)
    log: RequestLog = field(default_factory=RequestLog)
    faults: Faults = field(default_factory=Faults)


STATE = web.AppKey("replay_state", ReplayState)
PREFIXES = ("", "/~{client}")  # every route also answers under /~NAME/, to tell clients apart


# Lookups of teams and competitions: they leave a held clock standing (a person searching and
# following takes minutes); the first request for matches starts it.
LOOKUPS = frozenset(
    {"espn/leagues", "espn/teams", "v4/competitions", "v4/competitions/teams", "teams", "leagues"}
)


def record(request: web.Request, route: str, matches: Iterable[str]) -> None:
    """Count one answered request in the server's log (a request for matches starts a held
    clock)."""
    client = request.match_info.get("client", "")
    state = request.app[STATE]
    state.log.record(route, matches, client)
    if route not in LOOKUPS:
        state.clock.start()


@web.middleware
async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer with the injected error while one is due, else let the handler answer."""
    fault = request.app[STATE].faults.take()
    if fault is not None:
        record(request, "fault", ())
        return fault
    return await handler(request)
