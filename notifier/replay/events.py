"""Which raw events of a replayed API-Football recording are served when. Pure.

Events appear when the clock passes their minute; shoot-out kicks one a minute into the
shoot-out, in recorded order. A VAR "Goal cancelled" event whose goal the recording still lists
takes that goal off ``goals`` from its own reveal on (at least a minute after the goal); one
whose goal the recording no longer lists (the live API drops it) is preceded by that goal,
shown for one minute, as the live feed did. Used by :mod:`notifier.replay.api_football`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from notifier.domain.models import Score, Side
from notifier.feeds.api_football.events import SCORING, FeedEvent, pair_cancellations
from notifier.replay.phases import MINUTE, Phase, Place


@dataclass(frozen=True)
class Shown:
    """One served event: when it appears, leaves, and whether (and until when) it scores."""

    raw: dict[str, Any]
    start: float
    stop: float = math.inf
    side: Side | None = None
    goal: bool = False  # it counts in ``goals`` while shown, until ``void``
    void: float = math.inf  # a VAR decision takes the goal back from then on
    kick: bool = False
    scored: bool = False


def reveal_times(
    phases: list[Phase], placed: dict[int, Place], kicks: list[int]
) -> dict[int, float]:
    """When each raw event appears; kicks one a minute into the shoot-out, in recorded order."""
    periods = [p for p in phases if p.length]
    reveal = {
        i: math.inf if where is None else periods[where[0]].start + where[1] * MINUTE
        for i, where in placed.items()
    }
    for number, index in enumerate(kicks, start=1):
        reveal[index] = phases[-1].start + number * MINUTE
    return reveal


def show(
    raw_events: list[Any], reveal: dict[int, float], events: list[FeedEvent], score: Score
) -> list[Shown]:
    """Served events in recorded order, with VAR cancellations and provisional goals timed."""
    by_index = {e.index: e for e in events}
    pairs = pair_cancellations(events, score)
    voided: dict[int, float] = {}
    for var, goal in pairs.items():
        if goal is not None:  # the goal counts for at least a minute before VAR takes it back
            reveal[var] = max(reveal[var], reveal[goal] + MINUTE)
            voided[goal] = reveal[var]
    shown: list[Shown] = []
    for index, raw in enumerate(raw_events):
        event, start = by_index.get(index), reveal[index]
        if event is not None and event.kind == "var_cancel" and pairs[index] is None:
            shown.append(Shown(_provisional(raw), start, start + MINUTE, event.side, goal=True))
            start += MINUTE
        shown.append(_entry(raw, start, event, voided.get(index, math.inf)))
    return shown


def _entry(raw: dict[str, Any], start: float, event: FeedEvent | None, void: float) -> Shown:
    if event is None:
        return Shown(raw, start)
    goal, kick = event.kind in SCORING, event.kind == "kick"
    return Shown(raw, start, side=event.side, goal=goal, void=void, kick=kick, scored=event.scored)


def _provisional(var: dict[str, Any]) -> dict[str, Any]:
    """The goal a VAR event names, as the live feed listed it before the decision."""
    return {
        "time": var.get("time"),
        "team": var.get("team"),
        "player": var.get("player"),
        "assist": {"id": None, "name": None},
        "type": "Goal",
        "detail": "Normal Goal",
        "comments": None,
    }
