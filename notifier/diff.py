"""``diff(previous, current)``: the typed events that turn one snapshot of a match into the next.

Pure. The score is the authority (providers lag their event lists behind it, and a VAR
cancellation may only show as the score going down): a score that rises yields goals, one that
falls yields cancellations, and the goal lists only lend the details (scorer, minute, kind).
Events come out in match order, each carrying the running score after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from notifier.events import (
    Event,
    GoalCancelled,
    GoalScored,
    LineupsAnnounced,
    PenaltyMissed,
    PhaseChanged,
    RedCard,
    ShootoutKickTaken,
)
from notifier.goals import MINUTE_SLACK, first_seen, match_goals, time_key
from notifier.models import (
    OVER_STATUSES,
    STATUS_ORDER,
    Goal,
    Incident,
    MatchSnapshot,
    MatchStatus,
    Score,
    ShootoutKick,
    Side,
)

SIDES: tuple[Side, Side] = ("home", "away")
# Where a phase change sits in match time, so that it sorts among goals of the same poll.
_PHASE_POSITION: dict[MatchStatus, tuple[int, int]] = {
    MatchStatus.FIRST_HALF: (0, -1),
    MatchStatus.HALF_TIME: (45, 900),
    MatchStatus.SECOND_HALF: (45, 901),
    MatchStatus.EXTRA_TIME: (90, 900),
    MatchStatus.PENALTIES: (120, 900),
}
_END = (10_000, 0)
# Phases a first sight (or a poll after a long gap) can find a match in, kick-off long gone.
_PAST_KICK_OFF = frozenset(
    {MatchStatus.HALF_TIME, MatchStatus.SECOND_HALF, MatchStatus.EXTRA_TIME, MatchStatus.PENALTIES}
)


@dataclass(order=True)
class _Item:
    """An event waiting for its running score: sort position, then how to build it."""

    pos: tuple[int, int]
    seq: int
    kind: str = field(compare=False)
    side: Side | None = field(compare=False, default=None)
    goal: Goal | None = field(compare=False, default=None)
    incident: Incident | None = field(compare=False, default=None)
    kick: ShootoutKick | None = field(compare=False, default=None)
    phase: tuple[MatchStatus, MatchStatus] | None = field(compare=False, default=None)


def anomalies(prev: MatchSnapshot | None, cur: MatchSnapshot) -> list[str]:
    """Reasons to distrust ``cur`` as the next state of ``prev`` (empty when it is fine)."""
    if prev is None:
        return []
    problems = []
    if prev.status in OVER_STATUSES and cur.status not in OVER_STATUSES:
        problems.append(f"status went back from {prev.status} to {cur.status}")
    if (prev.home.name, prev.away.name) != (cur.home.name, cur.away.name):
        problems.append("teams changed")
    return problems


def diff(prev: MatchSnapshot | None, cur: MatchSnapshot, *, seen: datetime) -> list[Event]:
    """The events between two snapshots of one match, in match order."""
    if prev is None:
        if cur.status in OVER_STATUSES:
            return []  # first sight of a finished match: history, not news
        prev = _blank(cur)
    items = _phase_items(prev, cur) + _goal_items(prev, cur) + _incident_items(prev, cur)
    items += _shootout_items(prev, cur)
    items.sort()
    events: list[Event] = []
    if prev.lineups is None and cur.lineups is not None:
        events.append(
            LineupsAnnounced(**_base(cur, seen, "lineups", prev.score), lineups=cur.lineups)
        )
    return events + _build(prev, cur, items, seen)


def _blank(cur: MatchSnapshot) -> MatchSnapshot:
    """The match as it was before anything happened."""
    return MatchSnapshot(
        provider=cur.provider,
        match_id=cur.match_id,
        home=cur.home,
        away=cur.away,
        status=MatchStatus.SCHEDULED,
    )


def went_back(prev: MatchStatus, cur: MatchStatus) -> bool:
    """Whether a phase went backwards: a feed glitch, not news (resuming play and a
    postponement are news)."""
    return (
        STATUS_ORDER[cur] < STATUS_ORDER[prev]
        and MatchStatus.SUSPENDED not in (prev, cur)
        and cur != MatchStatus.POSTPONED
    )


def _phase_items(prev: MatchSnapshot, cur: MatchSnapshot) -> list[_Item]:
    if cur.status == prev.status or went_back(prev.status, cur.status):
        return []
    pos = _PHASE_POSITION.get(cur.status, _END)
    if cur.status == MatchStatus.SUSPENDED:
        pos = (cur.minute or 0, 999)
    if prev.status == MatchStatus.SCHEDULED and cur.status in _PAST_KICK_OFF:
        # Caught up after the kick-off: it comes first, the goals after it, then the rest.
        kickoff = (MatchStatus.SCHEDULED, MatchStatus.FIRST_HALF)
        return [
            _Item(_PHASE_POSITION[MatchStatus.FIRST_HALF], 0, "phase", phase=kickoff),
            _Item(pos, 0, "phase", phase=(MatchStatus.FIRST_HALF, cur.status)),
        ]
    return [_Item(pos, 0, "phase", phase=(prev.status, cur.status))]


def _goal_items(prev: MatchSnapshot, cur: MatchSnapshot) -> list[_Item]:
    items: list[_Item] = []
    for side in SIDES:
        delta = cur.score.of(side) - prev.score.of(side)
        before = [g for g in prev.goals if g.side == side]
        now = [g for g in cur.goals if g.side == side]
        new, gone = match_goals(before, now)
        if delta > 0:
            items += _scored(side, delta, new if len(new) >= delta else now, cur)
        elif delta < 0:
            items += _cancelled(side, -delta, gone, _new_incidents(prev, cur, side), cur)
    return items


def _scored(side: Side, n: int, new: Sequence[Goal], cur: MatchSnapshot) -> list[_Item]:
    known: list[Goal | None] = list(sorted(new, key=time_key)[-n:])
    missing: list[Goal | None] = [None] * (n - len(known))
    details = missing + known
    return [_Item(_goal_pos(g, cur), 1, "goal", side, goal=g) for g in details]


def _cancelled(
    side: Side, n: int, gone: Sequence[Goal], var: Sequence[Incident], cur: MatchSnapshot
) -> list[_Item]:
    out: list[_Item] = []
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
            _Item((pos[0], pos[1] + 1), 2, "goal_cancelled", side, goal=goal, incident=incident)
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


def _incident_items(prev: MatchSnapshot, cur: MatchSnapshot) -> list[_Item]:
    items = [
        _Item((i.minute, i.added or 0), 3, "red_card", i.side, incident=i)
        for i in _fresh(prev.red_cards, cur.red_cards)
    ]
    items += [
        _Item((i.minute, i.added or 0), 3, "penalty_missed", i.side, incident=i)
        for i in _fresh(prev.missed_penalties, cur.missed_penalties)
    ]
    return items


def _shootout_items(prev: MatchSnapshot, cur: MatchSnapshot) -> list[_Item]:
    if len(cur.shootout_kicks) > len(prev.shootout_kicks):
        fresh = cur.shootout_kicks[len(prev.shootout_kicks) :]
        return [_Item((120, 901 + k.order), 4, "kick", k.side, kick=k) for k in fresh]
    before = prev.shootout or Score()
    after = cur.shootout or Score()
    items = []
    for side in SIDES:
        for _ in range(max(after.of(side) - before.of(side), 0)):
            items.append(_Item((120, 901), 4, "kick", side))
    return items


def _base(cur: MatchSnapshot, seen: datetime, suffix: str, score: Score) -> dict[str, object]:
    return {
        "id": f"{cur.key}:{suffix}",
        "match": cur.key,
        "at": cur.updated_at or seen,
        "seen": seen,
        "home": cur.home.name,
        "away": cur.away.name,
        "competition": cur.competition,
        "status": cur.status,
        "minute": cur.minute,
        "added": cur.added,
        "score": score,
    }


def _build(
    prev: MatchSnapshot, cur: MatchSnapshot, items: list[_Item], seen: datetime
) -> list[Event]:
    score, shootout, fixes = prev.score, prev.shootout, prev.corrections
    events: list[Event] = []
    for item in items:
        if item.kind == "goal" and item.side is not None:
            score = score.plus(item.side)
        elif item.kind == "goal_cancelled" and item.side is not None:
            score = score.plus(item.side, -1) if score.of(item.side) > 0 else score
        elif item.kind == "kick" and item.side is not None:
            shootout = _kick_score(item, shootout)
        events.append(_event(cur, item, seen, score, shootout, fixes))
        if item.kind == "goal_cancelled" and item.side is not None:
            fixes = fixes.plus(item.side)
    return events


def carry(prev: MatchSnapshot | None, cur: MatchSnapshot, events: Sequence[Event]) -> MatchSnapshot:
    """``cur`` as it is stored: with the count of goals taken back so far, for the next diff,
    and each goal a feed re-timed or re-keyed kept as first listed."""
    fixes = prev.corrections if prev is not None else Score()
    for e in events:
        if isinstance(e, GoalCancelled):
            fixes = fixes.plus(e.side)
    goals = cur.goals if prev is None else first_seen(prev.goals, cur.goals)
    return cur.model_copy(update={"corrections": fixes, "goals": goals})


def _kick_score(item: _Item, shootout: Score | None) -> Score:
    running = shootout or Score()
    if item.kick is not None:
        return running.plus(item.kick.side) if item.kick.scored else running
    return running.plus(item.side) if item.side is not None else running


def _event(
    cur: MatchSnapshot,
    item: _Item,
    seen: datetime,
    score: Score,
    shootout: Score | None,
    fixes: Score,
) -> Event:
    tail = f"{score.home}-{score.away}"
    if item.phase is not None:
        return _phase_event(cur, item.phase, seen, score)
    assert item.side is not None
    minute, added = _item_minute(item, cur)
    if item.kind in ("goal", "goal_cancelled"):
        tag = "goal" if item.kind == "goal" else "cancel"
        n = fixes.of(item.side)  # a goal given again after a cancellation is a new goal
        again = f"#{n}" if n else ""
        base = _base(cur, seen, f"{tag}:{item.side}:{tail}:{minute}{again}", score)
        base |= {"minute": minute, "added": added}
        if item.kind == "goal":
            return GoalScored(**base, side=item.side, goal=item.goal)
        reason = item.incident.detail if item.incident else None
        return GoalCancelled(**base, side=item.side, goal=item.goal, reason=reason)
    if item.kind == "kick":
        run, kick = shootout or Score(), item.kick
        name = f"kick:{kick.order}" if kick else f"kick:{run.home}-{run.away}"
        return ShootoutKickTaken(**_base(cur, seen, name, score), shootout=run, kick=kick)
    assert item.incident is not None
    inc = item.incident
    base = _base(cur, seen, f"{item.kind}:{inc.side}:{inc.player}:{minute}+{added}", score)
    base |= {"minute": minute, "added": added}
    if item.kind == "red_card":
        return RedCard(**base, incident=inc)
    return PenaltyMissed(**base, incident=inc)


def _phase_event(
    cur: MatchSnapshot, phase: tuple[MatchStatus, MatchStatus], seen: datetime, score: Score
) -> PhaseChanged:
    before, after = phase
    suffix = f"phase:{before}>{after}"
    if MatchStatus.SUSPENDED in phase:
        suffix += f"@{cur.minute}"
    base = _base(cur, seen, suffix, score)
    if after != cur.status:  # the kick-off of a match first seen later on
        base |= {"status": after, "minute": 0, "added": None}
        return PhaseChanged(**base, previous=before)
    return PhaseChanged(**base, previous=before, shootout=cur.shootout, winner=cur.winner)


def _item_minute(item: _Item, cur: MatchSnapshot) -> tuple[int | None, int | None]:
    if item.goal is not None:
        return item.goal.minute, item.goal.added
    if item.incident is not None:
        return item.incident.minute, item.incident.added
    return cur.minute, cur.added
