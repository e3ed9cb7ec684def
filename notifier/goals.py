"""Telling goals apart across two polls, when providers re-id, re-time or re-credit them. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from notifier.models import Goal

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


def match_goals(before: Sequence[Goal], now: Sequence[Goal]) -> tuple[list[Goal], list[Goal]]:
    """Goals only in ``now`` (new) and goals only in ``before`` (gone), one-to-one matched."""
    unmatched = list(before)
    rest: list[Goal] = []
    for goal in now:  # an unchanged goal is its own twin, not a re-timed neighbour's
        if goal in unmatched:
            unmatched.remove(goal)
        else:
            rest.append(goal)
    new: list[Goal] = []
    for goal in sorted(rest, key=lambda g: g.ref is None):  # ref matches first
        twins = [b for b in unmatched if _same(b, goal)]
        if twins:
            unmatched.remove(min(twins, key=lambda b: _gap(b, goal)))
        else:
            new.append(goal)
    return new, unmatched
