"""Replay timeline: a recorded API-Football fixture served as if it were live. Pure, no clock.

``t`` is virtual seconds from kick-off (negative before it). Before kick-off the fixture is
"NS" with null goals and scores, and lineups only from ``lineups_before`` minutes out. Then
1H, HT (15 minutes), 2H and, where the recording has them, BT (5), extra time (a 1-minute
break at 105) and the shoot-out (P, one kick a minute), with events revealed when the clock
passes their minute and ``goals``/``score`` running as the real API fills them. Stoppage time
per period is the latest added minute of its events (for the last period also
``fixture.status.extra``), at least one minute. From :attr:`Timeline.end` on, the recording
itself is served. A VAR "Goal cancelled" event whose goal the recording no longer lists (the
live API drops it) is preceded by that goal, shown for one minute, as the live feed did.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import orjson

from notifier.domain.models import MatchSnapshot
from notifier.errors import FeedParseError
from notifier.feeds import fields as f
from notifier.feeds.api_football.events import TeamRef, read_events
from notifier.feeds.api_football.parse import kick_events_in_order, parse_fixture
from notifier.replay.events import Shown, reveal_times, show
from notifier.replay.phases import (
    MINUTE,
    SKELETON,
    Phase,
    end_of_replay,
    event_time,
    has_extra_time,
    last_period,
    place,
    schedule,
    stoppages,
)

LINEUPS_BEFORE = 40.0  # minutes before kick-off
_LONG = {
    "NS": "Not Started",
    "1H": "First Half",
    "HT": "Halftime",
    "2H": "Second Half",
    "ET": "Extra Time",
    "BT": "Break Time",
    "P": "Penalty In Progress",
}
_PEN_CODES = frozenset({"P", "PEN"})
_DETAILS = ("lineups", "statistics", "players")  # only ``id`` / ``ids`` answers carry them
_NULL_PAIR: dict[str, int | None] = {"home": None, "away": None}


class Timeline:
    """What ``GET /fixtures?id=`` answers at any virtual time of a replayed recording."""

    def __init__(self, recording: dict[str, Any], *, lineups_before: float = LINEUPS_BEFORE):
        """Build from a recorded single-fixture response; malformed input raises FeedParseError."""
        self._envelope, self._item = _single_fixture(copy.deepcopy(recording))
        snapshot = parse_fixture(self._item)
        self.fixture_id: int = _fixture_id(snapshot)
        self._lineups_from = -lineups_before * MINUTE
        plan = _plan(self._item, snapshot)
        self._phases, self._shown = plan.phases, plan.shown
        self._periods = [p for p in plan.phases if p.length]
        self._has_et, self._has_pens = plan.has_et, plan.has_pens
        self.end: float = plan.end
        self._json: dict[tuple[float, bool], bytes] = {}

    def at(self, t: float) -> dict[str, Any]:
        """The whole ``/fixtures?id=`` envelope as served at virtual time t."""
        return {
            "get": self._envelope.get("get", "fixtures"),
            "parameters": copy.deepcopy(self._envelope.get("parameters") or {}),
            "errors": [],
            "results": 1,
            "paging": {"current": 1, "total": 1},
            "response": [self.fixture_at(t)],
        }

    def fixture_at(self, t: float) -> dict[str, Any]:
        """The fixture (one element of ``response``) at virtual time t."""
        if t >= self.end:
            return copy.deepcopy(self._item)
        item = dict(self._item)
        for key in ("statistics", "players"):
            if key in item:
                item[key] = []
        lineups = self._item.get("lineups") or []
        item["lineups"] = lineups if t >= self._lineups_from else []
        if t < 0:
            self._fill_before(item)
        else:
            self._fill_live(item, t)
        return copy.deepcopy(item)

    def fixture_json(self, t: float, *, brief: bool = False) -> bytes:
        """``fixture_at(t)`` as JSON, cached per virtual minute (nothing changes within one);
        ``brief``: as ``live=all`` lists it, without lineups, statistics and players."""
        key = (math.floor(t / MINUTE) if t < self.end else math.inf, brief)
        found = self._json.get(key)
        if found is None:
            if len(self._json) >= 8:
                self._json.clear()
            item = self.fixture_at(t)
            for name in _DETAILS if brief else ():
                item.pop(name, None)
            found = self._json[key] = orjson.dumps(item)
        return found

    def lineups_at(self, t: float) -> list[Any]:
        """What ``/fixtures/lineups?fixture=`` answers at t: ``[]`` until they are out."""
        lineups = self._item.get("lineups") or []
        return copy.deepcopy(lineups) if t >= min(self._lineups_from, self.end) else []

    def status_at(self, t: float) -> str | None:
        """``fixture.status.short`` at t."""
        if t >= self.end:
            return f.text(f.obj(f.obj(self._item, "fixture"), "status"), "short")
        return "NS" if t < 0 else self._phase_at(t).code

    def _phase_at(self, t: float) -> Phase:
        return [p for p in self._phases if p.start <= t][-1]

    def _fill_before(self, item: dict[str, Any]) -> None:
        item["fixture"] = self._fixture("NS", None, None, -1.0)
        item["goals"] = dict(_NULL_PAIR)
        item["score"] = {key: dict(_NULL_PAIR) for key in _SCORE_KEYS}
        item["events"] = []
        item["teams"] = self._teams(None)

    def _fill_live(self, item: dict[str, Any], t: float) -> None:
        phase = self._phase_at(t)
        goals = self._goals_at(t)
        item["fixture"] = self._fixture(phase.code, *phase.clock(t), t)
        item["goals"] = goals
        item["score"] = self._score_at(t)
        item["events"] = [e.raw for e in self._shown if e.start <= t < e.stop]
        item["teams"] = self._teams(goals)

    def _fixture(self, code: str, elapsed: int | None, extra: int | None, t: float) -> Any:
        fixture = dict(f.obj(self._item, "fixture"))
        fixture["status"] = {"long": _LONG[code], "short": code, "elapsed": elapsed, "extra": extra}
        periods = fixture.get("periods")
        periods = periods if isinstance(periods, dict) else {}
        second = t >= self._periods[1].start
        fixture["periods"] = {
            "first": periods.get("first") if t >= 0 else None,
            "second": periods.get("second") if second else None,
        }
        return fixture

    def _teams(self, goals: dict[str, int] | None) -> dict[str, Any]:
        teams = f.obj(self._item, "teams")
        lead = None
        if goals is not None and goals["home"] != goals["away"]:
            lead = "home" if goals["home"] > goals["away"] else "away"
        winner = {side: None if lead is None else side == lead for side in ("home", "away")}
        return {
            **teams,
            **{side: {**f.obj(teams, side), "winner": winner[side]} for side in winner},
        }

    def _goals_at(self, t: float) -> dict[str, int]:
        goals = {"home": 0, "away": 0}
        for e in self._shown:
            if e.goal and e.side is not None and e.start <= t < min(e.stop, e.void):
                goals[e.side] += 1
        return goals

    def _score_at(self, t: float) -> dict[str, Any]:
        """``score`` as the API fills it: each part once its phase is over, penalties running."""
        ends = [p.end for p in self._periods]
        half = self._goals_at(ends[0]) if t >= ends[0] else None
        full = self._goals_at(ends[1]) if t >= ends[1] else None
        extra = None
        if self._has_et and full is not None and t >= ends[3]:
            total = self._goals_at(ends[3])
            extra = {side: max(0, total[side] - full[side]) for side in total}
        penalty = None
        if self._has_pens and t >= self._phases[-1].start:
            kicks = [e.side for e in self._shown if e.kick and e.scored and e.start <= t]
            penalty = {"home": kicks.count("home"), "away": kicks.count("away")}
        parts = (half, full, extra, penalty)
        return {key: dict(part or _NULL_PAIR) for key, part in zip(_SCORE_KEYS, parts, strict=True)}


@dataclass(frozen=True)
class _Plan:
    """What a recording turns into: phases, served events, where the replay ends."""

    phases: list[Phase]
    shown: list[Shown]
    end: float
    has_et: bool
    has_pens: bool


def _plan(item: dict[str, Any], snapshot: MatchSnapshot) -> _Plan:
    """Phases, event reveal times and the end of the replay of one recorded fixture."""
    state = f.obj(f.obj(item, "fixture"), "status")
    short = f.text(state, "short")
    now = (f.count(state.get("elapsed"), "elapsed"), f.count(state.get("extra"), "extra"))
    raw_events: list[Any] = item.get("events") or []
    refs = (
        TeamRef("home", snapshot.home.id, snapshot.home.name),
        TeamRef("away", snapshot.away.id, snapshot.away.name),
    )
    events = read_events(raw_events, refs, short, snapshot.score.home + snapshot.score.away)
    # Kicks are revealed in the order taken, whatever the order the recording lists them in.
    kicks = [e.index for e in kick_events_in_order([e for e in events if e.kind == "kick"])]
    times = {i: event_time(raw) for i, raw in enumerate(raw_events) if i not in kicks}
    has_et = has_extra_time(item, short, now[0], times)
    has_pens = short in _PEN_CODES or snapshot.shootout is not None or bool(kicks)
    skeleton = SKELETON[: 4 if has_et else 2]
    last = last_period(short, now[0], len(skeleton))
    placed = {i: place(time, skeleton) for i, time in times.items()}
    phases = schedule(skeleton, stoppages(skeleton, placed, last, now[1]), has_pens)
    reveal = reveal_times(phases, placed, kicks)
    shown = show(raw_events, reveal, events, snapshot.score)
    end = end_of_replay(phases, short, place(now, skeleton), last, len(kicks), has_pens)
    return _Plan(phases, shown, end, has_et, has_pens)


_SCORE_KEYS = ("halftime", "fulltime", "extratime", "penalty")


def _single_fixture(recording: object) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(recording, dict):
        raise FeedParseError("a recording must be a JSON object")
    if recording.get("errors"):
        raise FeedParseError(f"the recording is an error answer: {recording['errors']!r:.200}")
    response = recording.get("response")
    if not isinstance(response, list) or len(response) != 1 or not isinstance(response[0], dict):
        raise FeedParseError("a recording must be a /fixtures?id= answer with exactly one fixture")
    return recording, response[0]


def _fixture_id(snapshot: MatchSnapshot) -> int:
    try:
        return int(snapshot.match_id)
    except ValueError as exc:
        raise FeedParseError(f"fixture.id {snapshot.match_id!r} is not a number") from exc
