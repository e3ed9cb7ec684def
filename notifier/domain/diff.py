"""``diff(previous, current)``: the typed events that turn one snapshot of a match into the next.

Pure. The score is the authority (providers lag their event lists behind it, and a VAR
cancellation may only show as the score going down): a score that rises yields goals, one that
falls yields cancellations, and the goal lists only lend the details (scorer, minute, kind).
What changed is found in :mod:`notifier.domain.diff_items`; here each change gets the running score
after it and becomes an event, in match order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from notifier.domain.diff_items import PHASE_POSITION, Item, items, kicks_taken
from notifier.domain.events import (
    Event,
    GoalCancelled,
    GoalScored,
    LineupsAnnounced,
    PenaltyMissed,
    PhaseChanged,
    RedCard,
    ShootoutKickTaken,
    YellowCard,
)
from notifier.domain.goals import first_seen
from notifier.domain.models import OVER_STATUSES, MatchSnapshot, MatchStatus, Score

__all__ = ["anomalies", "carry", "diff"]


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
    events: list[Event] = []
    if prev.lineups is None and cur.lineups is not None:
        events.append(
            LineupsAnnounced(**_base(cur, seen, "lineups", prev.score), lineups=cur.lineups)
        )
    return events + _build(prev, cur, items(prev, cur), seen)


def _blank(cur: MatchSnapshot) -> MatchSnapshot:
    """The match as it was before anything happened."""
    return MatchSnapshot(
        provider=cur.provider,
        match_id=cur.match_id,
        home=cur.home,
        away=cur.away,
        status=MatchStatus.SCHEDULED,
    )


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
    prev: MatchSnapshot, cur: MatchSnapshot, items: list[Item], seen: datetime
) -> list[Event]:
    score, shootout, fixes = prev.score, prev.shootout, prev.corrections
    events: list[Event] = []
    for item in items:
        if item.kind == "goal" and item.side is not None:
            score = score.plus(item.side)
        elif item.kind == "goal_cancelled" and item.side is not None:
            score = score.plus(item.side, -1) if score.of(item.side) > 0 else score
        elif item.kind == "kick":
            shootout = item.to
        elif item.phase is not None and item.phase[1] in OVER_STATUSES:
            score = cur.score  # the final word (an awarded result has no goals to add up)
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
    kicks = cur.shootout_kicks if prev is None else kicks_taken(prev, cur)
    return cur.model_copy(update={"corrections": fixes, "goals": goals, "shootout_kicks": kicks})


def _event(
    cur: MatchSnapshot,
    item: Item,
    seen: datetime,
    score: Score,
    shootout: Score | None,
    fixes: Score,
) -> Event:
    tail = f"{score.home}-{score.away}"
    if item.phase is not None:
        return _phase_event(cur, item.phase, seen, score)
    if item.stage is not None:  # a part of extra time starts or stops: the status stays
        base = _base(cur, seen, f"phase:extra_time@{item.stage}", score)
        return PhaseChanged(**base, previous=MatchStatus.EXTRA_TIME, stage=item.stage)
    if item.kind == "kick":
        run, kick = shootout or Score(), item.kick
        name = f"kick:{kick.order}" if kick else f"kick:{run.home}-{run.away}"
        return ShootoutKickTaken(
            **_base(cur, seen, name, score),
            shootout=run,
            kick=kick,
            complete=cur.kicks_complete,
            decisive=item.decisive,
        )
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
    assert item.incident is not None
    inc = item.incident
    base = _base(cur, seen, f"{item.kind}:{inc.side}:{inc.player}:{minute}+{added}", score)
    base |= {"minute": minute, "added": added}
    if item.kind == "red_card":
        return RedCard(**base, incident=inc)
    if item.kind == "yellow_card":
        return YellowCard(**base, incident=inc)
    return PenaltyMissed(**base, incident=inc)


def _phase_event(
    cur: MatchSnapshot, phase: tuple[MatchStatus, MatchStatus], seen: datetime, score: Score
) -> PhaseChanged:
    before, after = phase
    suffix = f"phase:{before}>{after}"
    if MatchStatus.SUSPENDED in phase:
        suffix += f"@{cur.minute}"
    base = _base(cur, seen, suffix, score)
    if after != cur.status:  # a phase a poll gap hid (the kick-off of a match first seen later)
        base |= {"status": after, "minute": PHASE_POSITION[after][0], "added": None}
        return PhaseChanged(**base, previous=before)
    return PhaseChanged(**base, previous=before, shootout=cur.shootout, winner=cur.winner)


def _item_minute(item: Item, cur: MatchSnapshot) -> tuple[int | None, int | None]:
    if item.goal is not None:
        return item.goal.minute, item.goal.added
    if item.incident is not None:
        return item.incident.minute, item.incident.added
    return cur.minute, cur.added
