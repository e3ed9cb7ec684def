"""ESPN site API replay: a recorded scoreboard event as the live API shows it at t. Pure.

The match's course comes from the provider-neutral :class:`~notifier.replay.timeline.MatchTimeline`;
this module writes it back in ESPN's shape: ``status`` (``clock`` seconds, ``displayClock``
"57'" / "45'+2'", ``period``, ``type.name`` STATUS_SCHEDULED ... STATUS_SHOOTOUT with its
``state`` pre / in), ``competitors[].score`` as strings, ``winner`` false until the end,
``shootoutScore`` during a shoot-out, and the recorded ``details[]`` revealed as the clock
passes their ``clock.displayValue`` (shoot-out details one kick a minute). A summary
(``summary?event=``) is the same competition under ``header``, with the recording's rosters
from the lineup window on (a scoreboard recording has none). ``date`` / ``startDate`` are
rebased onto the replay's wall clock by the caller (``kickoff``).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from notifier.domain.models import Side
from notifier.feeds import fields as f
from notifier.feeds.espn.details import parse_clock
from notifier.feeds.espn.parse import parse_event
from notifier.replay.timeline import Clock, MatchTimeline

# Phase code -> (type id, name, description); BT and ET split by period below.
_TYPES = {
    "NS": ("1", "STATUS_SCHEDULED", "Scheduled"),
    "1H": ("25", "STATUS_FIRST_HALF", "First Half"),
    "HT": ("23", "STATUS_HALFTIME", "Halftime"),
    "2H": ("26", "STATUS_SECOND_HALF", "Second Half"),
    "BT2": ("41", "STATUS_END_OF_REGULATION", "End of Regulation"),
    "ET3": ("42", "STATUS_FIRST_HALF_EXTRA_TIME", "First Half Extra Time"),
    "BT3": ("43", "STATUS_HALFTIME_ET", "Halftime Extra Time"),
    "ET4": ("44", "STATUS_SECOND_HALF_EXTRA_TIME", "Second Half Extra Time"),
    "P": ("45", "STATUS_SHOOTOUT", "Shootout"),
}


class EspnReplay:
    """One recorded scoreboard event (in its league) and its replay."""

    def __init__(
        self, event: dict[str, Any], league: dict[str, Any], *, lineups_before: float = 40.0
    ) -> None:
        """Plan the replay of one scoreboard event; malformed input raises FeedParseError."""
        self.template = copy.deepcopy(event)
        self.league = copy.deepcopy(league)
        snapshot = parse_event(self.template, {f.text(league, "id"): f.text(league, "name")})
        self.timeline = MatchTimeline(snapshot, lineups_before=lineups_before)
        self.match_id = snapshot.match_id
        self.league_slug = f.text(league, "slug") or "all"
        self.rosters: list[Any] = []
        self.end = self.timeline.end
        self.played = self.timeline.played

    def status_at(self, t: float) -> str:
        """``status.type.name`` at t."""
        code = self._code(self.timeline.clock_at(t))
        if not self.played or code == "END":
            return f.text(f.obj(f.obj(self.template, "status"), "type"), "name") or ""
        return _TYPES[code][1]

    def event_at(self, t: float, *, kickoff: datetime | None = None) -> dict[str, Any]:
        """The scoreboard event at t (``kickoff``: the replay's wall time of kick-off)."""
        event = copy.deepcopy(self.template)
        if not self.played:
            return event
        comp = f.objs(event, "competitions")[0]
        if kickoff is not None:
            stamp = kickoff.strftime("%Y-%m-%dT%H:%MZ")
            event["date"] = comp["date"] = comp["startDate"] = stamp
        if t < self.end:
            clock = self.timeline.clock_at(t)
            event["status"] = comp["status"] = self._status(clock)
            self._fill(comp, t)
        return event

    def summary_at(self, t: float, *, kickoff: datetime | None = None) -> dict[str, Any]:
        """What ``summary?event=`` answers at t: the competition under ``header``."""
        event = self.event_at(t, kickoff=kickoff)
        header = {
            "id": event.get("id"),
            "uid": event.get("uid"),
            "season": event.get("season"),
            "league": {k: self.league.get(k) for k in ("id", "name", "abbreviation", "slug")},
            "competitions": event.get("competitions"),
        }
        rosters = self.rosters if t >= self.timeline.lineups_from else []
        return {"header": header, "rosters": copy.deepcopy(rosters), "keyEvents": []}

    def _code(self, clock: Clock) -> str:
        if clock.code in ("BT", "ET"):
            return f"{clock.code}{clock.period}"
        return clock.code

    def _status(self, clock: Clock) -> dict[str, Any]:
        type_id, name, description = _TYPES[self._code(clock)]
        shown = _display(clock.minute, clock.added)
        detail = {"HT": "HT", "NS": "Scheduled"}.get(clock.code, shown)
        return {
            "clock": (clock.minute or 0) * 60,
            "displayClock": shown,
            "period": clock.period,
            "type": {
                "id": type_id,
                "name": name,
                "state": "pre" if clock.code == "NS" else "in",
                "completed": False,
                "description": description,
                "detail": detail,
                "shortDetail": detail,
            },
        }

    def _fill(self, comp: dict[str, Any], t: float) -> None:
        state = self.timeline.state_at(t)
        for competitor in f.objs(comp, "competitors"):
            side: Side = "home" if competitor.get("homeAway") == "home" else "away"
            competitor["score"] = str(state.score.of(side))
            competitor["winner"] = False
            competitor.pop("shootoutScore", None)
            if state.shootout is not None:
                competitor["shootoutScore"] = state.shootout.of(side)
        details = f.objs(comp, "details")
        kicks = self.timeline.kicks_shown(t)
        shown = [d for d in details if d.get("shootout") is not True and self._shown(d, t)]
        comp["details"] = shown + [d for d in details if d.get("shootout") is True][:kicks]

    def _shown(self, detail: dict[str, Any], t: float) -> bool:
        minute, added = parse_clock(f.text(f.obj(detail, "clock"), "displayValue"))
        return self.timeline.shown_at(minute, added, t)


def _display(minute: int | None, added: int | None) -> str:
    if minute is None:
        return "0'"
    return f"{minute}'+{added}'" if added else f"{minute}'"


def load_scoreboard(body: dict[str, Any], *, lineups_before: float = 40.0) -> list[EspnReplay]:
    """Every event of a recorded scoreboard, each in its league (by the ``uid``'s ``l:``)."""
    leagues = f.objs(body, "leagues")
    by_id = {f.text(lg, "id"): lg for lg in leagues}
    out = []
    for event in f.objs(body, "events"):
        uid = f.text(event, "uid") or ""
        league_id = next((p[2:] for p in uid.split("~") if p.startswith("l:")), None)
        league = by_id.get(league_id) or (leagues[0] if leagues else {})
        out.append(EspnReplay(event, league, lineups_before=lineups_before))
    return out
