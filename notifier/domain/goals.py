"""Telling goals apart across two polls, when providers re-id, re-time or re-credit them. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from notifier.domain.models import Goal

# Providers re-time a goal by a minute or two between polls (stoppage time, corrections).
MINUTE_SLACK = 3


def time_key(goal: Goal) -> tuple[int, int]:
    """Sort key in match time: minute, then added minutes."""
    return (goal.minute, goal.added or 0)


def _same(a: Goal, b: Goal) -> bool:
    if a.ref is not None and a.ref == b.ref:
        return True
    close = abs(a.minute - b.minute) <= MINUTE_SLACK
    if a.player and b.player:
        return close and a.player == b.player
    return a.minute == b.minute and (a.added or 0) == (b.added or 0)


def _gap(a: Goal, b: Goal) -> tuple[bool, int, int]:
    """How far apart two candidate twins are: same ref first, then nearest in time."""
    same_ref = a.ref is not None and a.ref == b.ref
    return (not same_ref, abs(a.minute - b.minute), abs((a.added or 0) - (b.added or 0)))


def pair_goals(
    before: Sequence[Goal], now: Sequence[Goal]
) -> tuple[list[tuple[Goal | None, Goal]], list[Goal]]:
    """Each goal of ``now`` with its twin in ``before`` (None: new), in ``now``'s order, and the
    goals of ``before`` that are gone; one-to-one."""
    unmatched = list(before)
    twin: dict[int, Goal | None] = {}
    rest: list[int] = []
    for i, goal in enumerate(now):  # an unchanged goal is its own twin, not a re-timed neighbour's
        if goal in unmatched:
            unmatched.remove(goal)
            twin[i] = goal
        else:
            rest.append(i)
    for i in sorted(rest, key=lambda i: now[i].ref is None):  # ref matches first
        twins = [b for b in unmatched if _same(b, now[i])]
        found = min(twins, key=lambda b: _gap(b, now[i])) if twins else None
        if found is not None:
            unmatched.remove(found)
        twin[i] = found
    return [(twin[i], goal) for i, goal in enumerate(now)], unmatched


def match_goals(before: Sequence[Goal], now: Sequence[Goal]) -> tuple[list[Goal], list[Goal]]:
    """Goals only in ``now`` (new) and goals only in ``before`` (gone), one-to-one matched."""
    pairs, gone = pair_goals(before, now)
    return [goal for twin, goal in pairs if twin is None], gone


def first_seen(before: Sequence[Goal], now: Sequence[Goal]) -> tuple[Goal, ...]:
    """``now``'s goals, each re-timed or re-keyed one as it was first listed (what the alerts
    quoted: a later cancellation names the same minute), unless only ``now`` names the scorer."""
    pairs, _ = pair_goals(before, now)
    return tuple(
        twin if twin is not None and (twin.player or not goal.player) else goal
        for twin, goal in pairs
    )
