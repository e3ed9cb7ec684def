"""football-data.org v4 replay: a recorded match object as the live API shows it at t. Pure.

The match's course comes from the provider-neutral :class:`~notifier.replay.timeline.MatchTimeline`;
this module only writes it back in v4's shape: ``status`` TIMED / IN_PLAY / PAUSED / FINISHED,
``score.duration`` REGULAR / EXTRA_TIME / PENALTY_SHOOTOUT, ``fullTime`` running from 0-0 at
kick-off, ``halfTime`` filled at the break and then frozen, ``regularTime`` / ``extraTime`` /
``penalties`` once their phase is reached (``fullTime`` then includes the shoot-out, as the API
does), ``winner`` only once the match is over. Lists the recording has (``goals``, ``bookings``,
``substitutions``, ``penalties``, lineups: paid tiers) are revealed as the clock passes them;
the free tier has none, so its replay reveals score changes only. ``minute`` / ``injuryTime``
are sent only if the recording has them. ``utcDate`` and ``lastUpdated`` are rebased onto the
replay's wall clock by the caller (``kickoff``, ``updated``).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from notifier.domain.models import Score
from notifier.feeds import fields as f
from notifier.feeds.football_data.parse import parse_match
from notifier.replay.timeline import MatchTimeline

_STATUS = {"NS": "TIMED", "HT": "PAUSED", "BT": "PAUSED"}  # any other code of play: IN_PLAY
_TIMED_LISTS = ("goals", "bookings", "substitutions")
_NULL: dict[str, int | None] = {"home": None, "away": None}


class FootballDataReplay:
    """One recorded v4 match and its replay."""

    def __init__(self, match: dict[str, Any], *, lineups_before: float = 40.0) -> None:
        """Plan the replay of one v4 match object; malformed input raises FeedParseError."""
        self.template = copy.deepcopy(match)
        snapshot = parse_match(self.template)
        half = f.score_pair(f.obj(self.template, "score"), "halfTime")
        self.timeline = MatchTimeline(snapshot, half_time=half, lineups_before=lineups_before)
        self.match_id = snapshot.match_id
        self.competition = f.text(f.obj(self.template, "competition"), "code")
        self.end = self.timeline.end
        self.played = self.timeline.played

    def status_at(self, t: float) -> str:
        """The v4 ``status`` at t."""
        code = self.timeline.clock_at(t).code
        if not self.played or code == "END":
            return f.text(self.template, "status") or "SCHEDULED"
        return _STATUS.get(code, "IN_PLAY")

    def match_at(
        self, t: float, *, kickoff: datetime | None = None, updated: datetime | None = None
    ) -> dict[str, Any]:
        """The v4 match object at t (``kickoff``/``updated``: the replay's wall times)."""
        item = copy.deepcopy(self.template)
        if self.played:
            if kickoff is not None:
                item["utcDate"] = _iso(kickoff)
            if updated is not None:
                item["lastUpdated"] = _iso(updated)
            if t < self.end:
                self._fill(item, t)
        return item

    def _fill(self, item: dict[str, Any], t: float) -> None:
        clock = self.timeline.clock_at(t)
        item["status"] = self.status_at(t)
        item["score"] = self._score(t, clock.code)
        if "minute" in self.template:
            item["minute"] = clock.minute
            item["injuryTime"] = clock.added
        for key in _TIMED_LISTS:
            if isinstance(self.template.get(key), list):
                item[key] = [x for x in self.template[key] if self._shown(x, t)]
        if isinstance(self.template.get("penalties"), list):
            item["penalties"] = self.template["penalties"][: self.timeline.kicks_shown(t)]
        if t < self.timeline.lineups_from:
            for side in ("homeTeam", "awayTeam"):
                team = dict(f.obj(item, side))
                item[side] = {**team, **{k: [] for k in ("lineup", "bench") if k in team}}

    def _shown(self, x: object, t: float) -> bool:
        if not isinstance(x, dict):
            return False
        minute = f.count(x.get("minute"), "minute")
        return self.timeline.shown_at(minute, f.count(x.get("injuryTime"), "injuryTime"), t)

    def _score(self, t: float, code: str) -> dict[str, Any]:
        state = self.timeline.state_at(t)
        if code == "NS":
            parts = {"fullTime": dict(_NULL), "halfTime": dict(_NULL)}
            return {"winner": None, "duration": "REGULAR", **parts}
        half = self.timeline.score_at_period_end(1)
        regular = self.timeline.score_at_period_end(2)
        half = None if code == "1H" else half
        out: dict[str, Any] = {
            "winner": None,
            "duration": _duration(code),
            "fullTime": _pair(state.score),
            "halfTime": _pair(half) if half is not None else dict(_NULL),
        }
        if code in ("ET", "BT", "P"):
            reg = regular or state.score
            out["regularTime"] = _pair(reg)
            extra = Score(home=state.score.home - reg.home, away=state.score.away - reg.away)
            out["extraTime"] = _pair(extra)
        if code == "P":
            pens = state.shootout or Score()
            out["penalties"] = _pair(pens)
            total = Score(home=state.score.home + pens.home, away=state.score.away + pens.away)
            out["fullTime"] = _pair(total)
        return out


def _duration(code: str) -> str:
    if code == "P":
        return "PENALTY_SHOOTOUT"
    return "EXTRA_TIME" if code in ("ET", "BT") else "REGULAR"


def _pair(score: Score) -> dict[str, int | None]:
    return {"home": score.home, "away": score.away}


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def load_matches(body: dict[str, Any], *, lineups_before: float = 40.0) -> list[FootballDataReplay]:
    """Every match of a recorded v4 list (``{"matches": [...]}``) or single match response."""
    if isinstance(body.get("matches"), list):
        items = f.objs(body, "matches")
    elif isinstance(body.get("match"), dict):
        items = [f.obj(body, "match")]
    else:
        items = [body]
    return [FootballDataReplay(m, lineups_before=lineups_before) for m in items]
