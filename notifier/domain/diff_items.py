"""What changed between two snapshots of one match, as items in match order. Pure.

Used by :func:`notifier.domain.diff.diff`, which gives each item its running score and makes it an
event. The score is the authority: a score that rises gives goals, one that falls gives
cancellations, and the goal lists only lend the details; phases a poll gap hid are made up on
the later snapshot's evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from notifier.domain.goals import MINUTE_SLACK, match_goals, time_key
from notifier.domain.models import (
    STATUS_ORDER,
    Goal,
    Incident,
    MatchSnapshot,
    MatchStatus,
    Score,
    ShootoutKick,
    Side,
)
from notifier.domain.shootout import decided_at, in_order

SIDES: tuple[Side, Side] = ("home", "away")
# Where a phase change sits in match time, so that it sorts among goals of the same poll.
PHASE_POSITION: dict[MatchStatus, tuple[int, int]] = {
    MatchStatus.FIRST_HALF: (0, -1),
    MatchStatus.HALF_TIME: (45, 900),
    MatchStatus.SECOND_HALF: (45, 901),
    MatchStatus.EXTRA_TIME: (90, 900),
    MatchStatus.PENALTIES: (120, 900),
}
_END = (10_000, 0)
# A match over (or at penalties) whose clock is past this played extra time. Not 90: some
# clocks count stoppage time on (a second half can end at 90+15), and extra time ends at 120.
_EXTRA_TIME_EVIDENCE = 105
_NOT_PLAYING = (MatchStatus.SCHEDULED, MatchStatus.POSTPONED, MatchStatus.SUSPENDED)
_REGULAR = (MatchStatus.FIRST_HALF, MatchStatus.HALF_TIME, MatchStatus.SECOND_HALF)
# Phases a first sight (or a poll after a long gap) can find a match in, kick-off long gone.
_PAST_KICK_OFF = frozenset(
    {MatchStatus.HALF_TIME, MatchStatus.SECOND_HALF, MatchStatus.EXTRA_TIME, MatchStatus.PENALTIES}
)


@dataclass(order=True)
class Item:
    """An event waiting for its running score: sort position, then how to build it."""

    pos: tuple[int, int]
    seq: int
    kind: str = field(compare=False)
    side: Side | None = field(compare=False, default=None)
    goal: Goal | None = field(compare=False, default=None)
    incident: Incident | None = field(compare=False, default=None)
    kick: ShootoutKick | None = field(compare=False, default=None)
    phase: tuple[MatchStatus, MatchStatus] | None = field(compare=False, default=None)
    to: Score | None = field(compare=False, default=None)  # a kick: the shoot-out after it
    decisive: bool = field(compare=False, default=False)  # a kick: the one that won it
    stage: str | None = field(compare=False, default=None)  # a break: which part of extra time


def went_back(prev: MatchStatus, cur: MatchStatus) -> bool:
    """Whether a phase went backwards: a feed glitch, not news (resuming play and a
    postponement are news)."""
    return (
        STATUS_ORDER[cur] < STATUS_ORDER[prev]
        and MatchStatus.SUSPENDED not in (prev, cur)
        and cur != MatchStatus.POSTPONED
    )


def items(prev: MatchSnapshot, cur: MatchSnapshot) -> list[Item]:
    """Every change from ``prev`` to ``cur``, sorted in match order."""
    goals = [] if _awarded(prev, cur) else _goal_items(prev, cur)
    found = _phase_items(prev, cur) + _break_items(prev, cur) + goals + _incident_items(prev, cur)
    found += _shootout_items(prev, cur)
    found.sort()
    return found


def _phase_items(prev: MatchSnapshot, cur: MatchSnapshot) -> list[Item]:
    if cur.status == prev.status or went_back(prev.status, cur.status):
        return []
    steps = [prev.status, *_skipped(prev, cur), cur.status]
    items = []
    for before, after in pairwise(steps):
        pos = PHASE_POSITION.get(after, _END)
        if after == MatchStatus.SUSPENDED:
            pos = (cur.minute or 0, 999)
        items.append(Item(pos, 0, "phase", phase=(before, after)))
    return items


_HALF_OF_EXTRA_TIME = 105
_END_OF_EXTRA_TIME = 118  # a break from here on is the one before penalties (told by its status)
_EXTRA_TIME_HALF_FROM = 100  # a break before this is the one before extra time (a flapping feed)


def _break_items(prev: MatchSnapshot, cur: MatchSnapshot) -> list[Item]:
    """Extra time starting, its half-time and its second half: the breaks within extra time
    (API-Football BT, football-data PAUSED, ESPN STATUS_HALFTIME_ET) coming and going. A break
    before minute 100 is the one before extra time (a feed flapping out of it and back)."""
    et = MatchStatus.EXTRA_TIME
    if cur.status != et or prev.status != et:
        return []
    minute = cur.minute if cur.minute is not None else prev.minute
    if cur.paused and not prev.paused:  # half-time in extra time (the first break is a phase)
        in_play = minute is None or _EXTRA_TIME_HALF_FROM <= minute < _END_OF_EXTRA_TIME
        if prev.status != et or not in_play:
            return []
        return [Item((_HALF_OF_EXTRA_TIME, 900), 0, "break", stage="extra_time_half_time")]
    if cur.paused:
        return []
    if prev.status == et and prev.paused:
        second = _second_half_of_extra_time(prev, minute)
        stage = "extra_time_second_half" if second else "extra_time"
        return [Item((_HALF_OF_EXTRA_TIME, 901) if second else (90, 902), 0, "break", stage=stage)]
    return []


def _second_half_of_extra_time(prev: MatchSnapshot, minute: int | None) -> bool:
    """Whether play resuming after a break in extra time is its second half: the clock past
    105, or a break that began at the half-time of extra time (from minute 100). A feed may show
    the first poll back at 105+1 (the first half's added time it last counted): that is still the
    second half starting, and read as extra time resuming it would never be told."""
    if minute is not None and minute > _HALF_OF_EXTRA_TIME:
        return True
    return prev.minute is not None and prev.minute >= _EXTRA_TIME_HALF_FROM


def _skipped(prev: MatchSnapshot, cur: MatchSnapshot) -> list[MatchStatus]:
    """Phases a poll gap hid, on the later snapshot's evidence: the kick-off of a match first
    seen under way, extra time (the clock well past 90) and a shoot-out (its score or kicks)."""
    path: list[MatchStatus] = []
    if prev.status == MatchStatus.SCHEDULED and cur.status in _PAST_KICK_OFF:
        path.append(MatchStatus.FIRST_HALF)
    last = path[-1] if path else prev.status
    ends = (MatchStatus.PENALTIES, MatchStatus.FINISHED)
    if last in _REGULAR and cur.status in ends and (cur.minute or 0) > _EXTRA_TIME_EVIDENCE:
        path.append(MatchStatus.EXTRA_TIME)
    last = path[-1] if path else prev.status
    shootout = cur.shootout is not None or bool(cur.shootout_kicks)
    if last in (*_REGULAR, MatchStatus.EXTRA_TIME) and cur.status in ends[1:] and shootout:
        path.append(MatchStatus.PENALTIES)
    return path


def _awarded(prev: MatchSnapshot, cur: MatchSnapshot) -> bool:
    """A result given at the desk (API-Football AWD / WO, football-data AWARDED): a match not
    being played is over, with a score its goal list does not explain. No goals to announce."""
    if cur.status != MatchStatus.FINISHED or prev.status not in _NOT_PLAYING:
        return False
    for side in SIDES:
        delta = cur.score.of(side) - prev.score.of(side)
        new, _ = match_goals(
            [g for g in prev.goals if g.side == side], [g for g in cur.goals if g.side == side]
        )
        if delta < 0 or len(new) < delta:
            return True
    return False


def _goal_items(prev: MatchSnapshot, cur: MatchSnapshot) -> list[Item]:
    items: list[Item] = []
    for side in SIDES:
        delta = cur.score.of(side) - prev.score.of(side)
        before = [g for g in prev.goals if g.side == side]
        now = [g for g in cur.goals if g.side == side]
        new, gone = match_goals(before, now)
        var = _new_incidents(prev, cur, side)
        if delta < 0:
            items += _cancelled(side, -delta, gone, var, cur)
            continue
        # A goal ruled out and another scored between two polls leave the score as it was:
        # the goal list and a VAR decision naming the gone goal tell both.
        swaps = _ruled_out(gone, var)[: max(len(new) - delta, 0)]
        items += _cancelled(side, len(swaps), swaps, var, cur)
        n = delta + len(swaps)
        if n > 0:
            items += _scored(side, n, new if len(new) >= n else now, cur)
    return items


def _ruled_out(gone: Sequence[Goal], var: Sequence[Incident]) -> list[Goal]:
    """The gone goals a fresh VAR decision names (same player, or same minute), in time order."""
    return [
        g
        for g in sorted(gone, key=time_key)
        if any(
            _same_incident(Incident(minute=g.minute, side=g.side, player=g.player), i) for i in var
        )
    ]


def _scored(side: Side, n: int, new: Sequence[Goal], cur: MatchSnapshot) -> list[Item]:
    known: list[Goal | None] = list(sorted(new, key=time_key)[-n:])
    missing: list[Goal | None] = [None] * (n - len(known))
    details = missing + known
    return [Item(_goal_pos(g, cur), 1, "goal", side, goal=g) for g in details]


def _cancelled(
    side: Side, n: int, gone: Sequence[Goal], var: Sequence[Incident], cur: MatchSnapshot
) -> list[Item]:
    out: list[Item] = []
    gone_sorted = sorted(gone, key=time_key)
    for i in range(n):
        goal = gone_sorted[-1 - i] if i < len(gone_sorted) else None
        incident = var[-1 - i] if i < len(var) else None
        if goal is None and incident is not None:
            goal = Goal(
                minute=incident.minute, added=incident.added, side=side, player=incident.player
            )
        pos = (cur.minute or 0, (cur.added or 0) + 1) if goal is None else _goal_pos(goal, cur)
        out.append(
            Item((pos[0], pos[1] + 1), 2, "goal_cancelled", side, goal=goal, incident=incident)
        )
    return out


def _goal_pos(goal: Goal | None, cur: MatchSnapshot) -> tuple[int, int]:
    if goal is None:
        return (cur.minute or 0, cur.added or 0)
    return (goal.minute, goal.added or 0)


def _new_incidents(prev: MatchSnapshot, cur: MatchSnapshot, side: Side) -> list[Incident]:
    return [i for i in _fresh(prev.cancelled_goals, cur.cancelled_goals) if i.side == side]


def _fresh(before: Sequence[Incident], now: Sequence[Incident]) -> list[Incident]:
    """Incidents of ``now`` not in ``before``, allowing for re-timing and re-description."""
    return [i for i in now if not any(_same_incident(b, i) for b in before)]


def _same_incident(a: Incident, b: Incident) -> bool:
    if a.side != b.side:
        return False
    if a.player and b.player:
        return a.player == b.player and abs(a.minute - b.minute) <= MINUTE_SLACK
    return (a.minute, a.added or 0) == (b.minute, b.added or 0)


def _incident_items(prev: MatchSnapshot, cur: MatchSnapshot) -> list[Item]:
    items = [
        Item((i.minute, i.added or 0), 3, "red_card", i.side, incident=i)
        for i in _fresh(prev.red_cards, cur.red_cards)
    ]
    items += [
        Item((i.minute, i.added or 0), 3, "yellow_card", i.side, incident=i)
        for i in _fresh(prev.yellow_cards, cur.yellow_cards)
    ]
    items += [
        Item((i.minute, i.added or 0), 3, "penalty_missed", i.side, incident=i)
        for i in _fresh(prev.missed_penalties, cur.missed_penalties)
    ]
    return items


def _shootout_items(prev: MatchSnapshot, cur: MatchSnapshot) -> list[Item]:
    """Kicks by the list where the feed gives one, in the order taken (each with the score it
    leaves, counted in the list: the feed's shoot-out score may lag its kicks; none after the
    kick that decides it), else by the shoot-out score."""
    before = prev.shootout or Score()
    kicks, done = kicks_taken(prev, cur), len(prev.shootout_kicks)
    if len(kicks) > done:
        end = decided_at(kicks) if cur.kicks_complete else None
        items = []
        for n, k in enumerate(kicks[done:], start=done + 1):
            run = _kicks_score(kicks[:n])
            if end is not None and n > end + 1:
                break  # nothing is taken after the shoot-out is won: a feed out of order
            if k.scored and run.of(k.side) <= before.of(k.side):
                continue  # already told by the shoot-out score, before the list caught up
            won = end is not None and n == end + 1
            items.append(Item((120, 901 + n), 4, "kick", k.side, kick=k, to=run, decisive=won))
        return items
    if cur.shootout_kicks:  # the list tells every kick; its score may be ahead or behind
        return []
    after = cur.shootout or Score()
    rise = {side: max(after.of(side) - before.of(side), 0) for side in SIDES}
    if sum(rise.values()) > 1:  # who kicked when is unknown: one alert for the lot
        return [Item((120, 901), 4, "kick", to=after)]
    return [Item((120, 901), 4, "kick", side, to=after) for side in SIDES if rise[side]]


def kicks_taken(prev: MatchSnapshot, cur: MatchSnapshot) -> tuple[ShootoutKick, ...]:
    """``cur``'s kicks in the order taken, ``prev``'s (stored in that order) leading."""
    return in_order(cur.shootout_kicks, prev.shootout_kicks, complete=cur.kicks_complete)


def _kicks_score(kicks: Sequence[ShootoutKick]) -> Score:
    scored = [k.side for k in kicks if k.scored]
    return Score(home=scored.count("home"), away=scored.count("away"))
