"""A provider-neutral replay of one recorded match: its state at any virtual time. Pure, no clock.

Built from the adapter's snapshot of a recording (the state the recording shows): the phases
come from :mod:`notifier.replay.phases`, goals, red cards and missed penalties appear when the
clock passes their minute, and a shoot-out runs one kick a minute. Where the feed lists fewer
goals than its score (football-data's free tier lists none), the missing score changes are
spread evenly over the half they belong to (the half-time score, where known, says which), so
the replay reveals score changes only, as that feed would. A VAR-cancelled goal is not replayed
here (the API-Football timeline of :mod:`notifier.replay.api_football` does that from its raw
events).

``t`` is virtual seconds from kick-off. From :attr:`MatchTimeline.end` on, the recorded state
itself is served; a match recorded live stays at its recorded minute from then on. Each
provider's renderer (:mod:`notifier.replay.football_data`, :mod:`notifier.replay.espn`) turns
:meth:`MatchTimeline.state_at` back into that provider's JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from notifier.domain.models import (
    Goal,
    Incident,
    MatchSnapshot,
    MatchStatus,
    Score,
    ShootoutKick,
    Side,
)
from notifier.replay.phases import (
    MINUTE,
    SKELETON,
    Phase,
    Place,
    Skeleton,
    end_of_replay,
    last_period,
    place,
    schedule,
    stoppages,
)

S = MatchStatus
LINEUPS_BEFORE = 40.0  # minutes before kick-off
# Recorded statuses that have something to replay (the others are served as recorded).
PLAYED = frozenset(
    {
        S.FIRST_HALF,
        S.HALF_TIME,
        S.SECOND_HALF,
        S.EXTRA_TIME,
        S.PENALTIES,
        S.FINISHED,
        S.SUSPENDED,
        S.ABANDONED,
    }
)
_CODES = {
    S.FIRST_HALF: "1H",
    S.HALF_TIME: "HT",
    S.SECOND_HALF: "2H",
    S.EXTRA_TIME: "ET",
    S.PENALTIES: "P",
    S.SUSPENDED: "SUSP",
    S.ABANDONED: "ABD",
}
STATUS_OF_CODE = {
    "1H": S.FIRST_HALF,
    "HT": S.HALF_TIME,
    "2H": S.SECOND_HALF,
    "ET": S.EXTRA_TIME,
    "BT": S.EXTRA_TIME,
    "P": S.PENALTIES,
}


@dataclass(frozen=True)
class Moment:
    """Something that happens at a virtual second: a goal (listed or not), a card, a miss."""

    at: float
    kind: str  # "goal", "red_card", "missed_penalty"
    side: Side
    goal: Goal | None = None  # None: a score change the feed gives no details of
    incident: Incident | None = None


@dataclass(frozen=True)
class Clock:
    """Where the match clock stands: API-Football-style phase code, minute, added minutes."""

    code: str  # "NS", "1H", "HT", "2H", "BT", "ET", "P", or "END" (the recorded state)
    period: int  # 0 before kick-off, 1-4 periods of play, 5 the shoot-out
    minute: int | None
    added: int | None


class MatchTimeline:
    """What a recorded match looks like at any virtual time of its replay."""

    def __init__(
        self,
        final: MatchSnapshot,
        *,
        half_time: Score | None = None,
        lineups_before: float = LINEUPS_BEFORE,
    ) -> None:
        """Plan the replay of ``final`` (the recorded snapshot); ``half_time`` places goals."""
        self.final = final
        self.played = final.status in PLAYED
        self.lineups_from = -lineups_before * MINUTE
        self._has_et = _has_extra_time(final)
        self._skeleton: Skeleton = SKELETON[: 4 if self._has_et else 2]
        code = _code(final, self._has_et)
        last = last_period(code, final.minute, len(self._skeleton))
        now = place((final.minute, final.added), self._skeleton)
        listed: list[tuple[str, Goal | Incident]] = [("goal", g) for g in final.goals]
        listed += [("red_card", i) for i in final.red_cards]
        listed += [("missed_penalty", i) for i in final.missed_penalties]
        placed = {n: place(_time_of(item), self._skeleton) for n, item in enumerate(listed)}
        kicks = _kicks(final)
        has_pens = final.status is S.PENALTIES or final.shootout is not None or bool(kicks)
        self.phases = schedule(
            self._skeleton, stoppages(self._skeleton, placed, last, final.added), has_pens
        )
        self._periods = [p for p in self.phases if p.length]
        self.end = end_of_replay(self.phases, code, now, last, len(kicks), has_pens)
        if not self.played:
            self.end = 0.0
        self.kicks = kicks
        self.moments = sorted(
            [self._moment(item, placed[n]) for n, item in enumerate(listed)]
            + self._unlisted_goals(half_time),
            key=lambda m: m.at,
        )

    def clock_at(self, t: float) -> Clock:
        """The phase and the clock at t."""
        if t >= self.end:
            return Clock("END", 0, self.final.minute, self.final.added)
        if t < 0:
            return Clock("NS", 0, None, None)
        phase = [p for p in self.phases if p.start <= t][-1]
        minute, added = phase.clock(t)
        period = 5 if phase.code == "P" else sum(p.start <= t for p in self._periods)
        return Clock(phase.code, period, minute, added)

    def shown_at(self, minute: int | None, added: int | None, t: float) -> bool:
        """Whether something at this match time has happened by t (unplaceable: at the end)."""
        return t >= self.end or self._reveal(place((minute, added), self._skeleton)) <= t

    def kicks_shown(self, t: float) -> int:
        """How many shoot-out kicks have been taken by t."""
        if t >= self.end:
            return len(self.kicks)
        start = self.phases[-1].start if self.phases[-1].code == "P" else math.inf
        return max(0, min(len(self.kicks), int((t - start) // MINUTE))) if t >= start else 0

    def state_at(self, t: float) -> MatchSnapshot:
        """The match as the feed would show it at t (the recorded snapshot from the end on)."""
        if t >= self.end:
            return self.final
        clock = self.clock_at(t)
        base = self.final.model_copy(
            update={"winner": None, "updated_at": None, "cancelled_goals": ()}
        )
        lineups = self.final.lineups if t >= self.lineups_from else None
        if t < 0:
            return base.model_copy(update=_blank(lineups))
        shown = [m for m in self.moments if m.at <= t]
        kicks = self.kicks[: self.kicks_shown(t)]
        return base.model_copy(
            update={
                "status": STATUS_OF_CODE[clock.code],
                "minute": clock.minute,
                "added": clock.added,
                "score": _score(shown),
                "goals": tuple(m.goal for m in shown if m.goal is not None),
                "red_cards": _incidents(shown, "red_card"),
                "missed_penalties": _incidents(shown, "missed_penalty"),
                "shootout": _shootout(kicks) if clock.code == "P" else None,
                "shootout_kicks": tuple(k for k in kicks if k in self.final.shootout_kicks),
                "lineups": lineups,
            }
        )

    def score_at_period_end(self, period: int) -> Score | None:
        """The score when period ``period`` (1-based) ended, or None if it has not yet."""
        if period > len(self._periods):
            return None
        end = self._periods[period - 1].end
        return _score([m for m in self.moments if m.at < end])

    def _reveal(self, where: Place) -> float:
        if where is None:
            return self.end
        return self._periods[where[0]].start + where[1] * MINUTE

    def _moment(self, item: tuple[str, Goal | Incident], where: Place) -> Moment:
        kind, value = item
        at = self._reveal(where)
        if isinstance(value, Goal):
            return Moment(at, kind, value.side, goal=value)
        return Moment(at, kind, value.side, incident=value)

    def _unlisted_goals(self, half_time: Score | None) -> list[Moment]:
        """Score changes the feed lists no goal for, spread evenly over the minutes played."""
        listed = {side: sum(g.side == side for g in self.final.goals) for side in _SIDES}
        missing = {side: max(0, self.final.score.of(side) - listed[side]) for side in _SIDES}
        if not any(missing.values()):
            return []
        last = self._last_minute()
        if half_time is None:
            return self._spread(missing, 1, last)
        first: dict[Side, int] = {"home": 0, "away": 0}
        for side in _SIDES:
            early = sum(g.side == side and g.minute <= 45 for g in self.final.goals)
            first[side] = min(missing[side], max(0, half_time.of(side) - early))
        rest = {side: missing[side] - first[side] for side in _SIDES}
        return self._spread(first, 1, min(45, last)) + self._spread(rest, 46, max(46, last))

    def _last_minute(self) -> int:
        """The last minute played in the recording (90 or 120 for a finished match)."""
        if self.final.status is S.FINISHED:
            return 120 if self._has_et else 90
        if self.final.status is S.HALF_TIME:
            return 45
        return max(1, self.final.minute or 1)

    def _spread(self, counts: dict[Side, int], lo: int, hi: int) -> list[Moment]:
        sides = _interleave(counts)
        out = []
        for k, side in enumerate(sides, start=1):
            minute = lo + (hi - lo) * k // (len(sides) + 1)
            out.append(Moment(self._reveal(place((minute, None), self._skeleton)), "goal", side))
        return out


_SIDES: tuple[Side, Side] = ("home", "away")


def _has_extra_time(final: MatchSnapshot) -> bool:
    if final.status in (S.EXTRA_TIME, S.PENALTIES) or final.shootout is not None:
        return True
    minutes = [g.minute for g in final.goals] + [i.minute for i in final.red_cards]
    return any(m > 90 for m in minutes) or (final.minute or 0) > 90


def _code(final: MatchSnapshot, has_et: bool) -> str:
    if final.status is S.FINISHED:
        if final.shootout is not None or final.shootout_kicks:
            return "PEN"
        return "AET" if has_et else "FT"
    return _CODES.get(final.status, "NS")


def _time_of(item: tuple[str, Goal | Incident]) -> tuple[int | None, int | None]:
    return item[1].minute, item[1].added


def _kicks(final: MatchSnapshot) -> tuple[ShootoutKick, ...]:
    """The shoot-out kicks to reveal: as listed, else made up to reach the shoot-out score."""
    if final.shootout_kicks or final.shootout is None:
        return final.shootout_kicks
    rounds = max(final.shootout.home, final.shootout.away, 1)
    kicks: list[ShootoutKick] = []
    for n in range(rounds):
        for side in _SIDES:
            scored = n < final.shootout.of(side)
            kicks.append(ShootoutKick(order=len(kicks) + 1, side=side, scored=scored))
    return tuple(kicks)


def _interleave(counts: dict[Side, int]) -> list[Side]:
    """Sides taking turns, the side with more goals first: {home: 2, away: 1} -> h, a, h."""
    left = dict(counts)
    order: list[Side] = []
    turn: Side = "home" if left["home"] >= left["away"] else "away"
    while left["home"] or left["away"]:
        if left[turn]:
            order.append(turn)
            left[turn] -= 1
        turn = "away" if turn == "home" else "home"
    return order


def _blank(lineups: object) -> dict[str, object]:
    return {
        "status": S.SCHEDULED,
        "minute": None,
        "added": None,
        "score": Score(),
        "shootout": None,
        "goals": (),
        "red_cards": (),
        "missed_penalties": (),
        "shootout_kicks": (),
        "lineups": lineups,
    }


def _score(shown: list[Moment]) -> Score:
    goals = [m.side for m in shown if m.kind == "goal"]
    return Score(home=goals.count("home"), away=goals.count("away"))


def _incidents(shown: list[Moment], kind: str) -> tuple[Incident, ...]:
    return tuple(m.incident for m in shown if m.kind == kind and m.incident is not None)


def _shootout(kicks: tuple[ShootoutKick, ...]) -> Score:
    scored = [k.side for k in kicks if k.scored]
    return Score(home=scored.count("home"), away=scored.count("away"))


__all__ = ["PLAYED", "STATUS_OF_CODE", "Clock", "MatchTimeline", "Moment", "Phase"]
