"""API-Football v3 ``events`` list: validation, classification, VAR pairing, shoot-out kicks.

Pure. Shared by the adapter (:mod:`notifier.feeds.api_football.parse`) and the replay timeline
(:mod:`notifier.replay.api_football`), so both read the provider's events the same way. Each
event keeps
its ``index`` in the raw list, so callers can go back to the raw JSON.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from notifier.domain.models import Score, Side
from notifier.errors import FeedParseError
from notifier.feeds import fields as f

log = logging.getLogger("notifier.feeds.api_football")
PROVIDER = "api-football"

EventKind = Literal[
    "goal",
    "penalty",
    "own_goal",
    "missed_penalty",
    "red_card",
    "yellow_card",
    "var_cancel",
    "kick",
    "other",
]
SIDES: tuple[Side, Side] = ("home", "away")
SCORING: frozenset[EventKind] = frozenset({"goal", "penalty", "own_goal"})
SHOOTOUT_COMMENT = "penalty shootout"
_GOAL_DETAILS: dict[str, EventKind] = {
    "normal goal": "goal",
    "penalty": "penalty",
    "own goal": "own_goal",
    "missed penalty": "missed_penalty",
}
_RED_CARDS = frozenset({"red card", "second yellow card", "second yellow", "yellow red"})
_QUIET_CARDS = frozenset({"yellow card"})
_QUIET_VAR = ("penalty confirmed", "penalty cancelled", "goal confirmed", "card ", "red card")
_CANCEL_VAR = ("goal cancelled", "goal disallowed")
# A "Goal cancelled" VAR event without the same player names the goal it undoes only by team
# and time: the goal must be at most this many minutes before it.
VAR_WINDOW = 2


@dataclass(frozen=True)
class TeamRef:
    """How the fixture names one side, to tell which side an event belongs to."""

    side: Side
    id: str | None
    name: str | None


@dataclass(frozen=True)
class FeedEvent:
    """One validated, classified event of the raw ``events`` list."""

    index: int
    kind: EventKind
    side: Side
    elapsed: int
    extra: int | None
    team_id: str | None
    player_id: str | None
    player: str | None
    assist: str | None
    detail: str
    scored: bool = False  # shoot-out kicks only
    number: int | None = None  # shoot-out kicks: the feed's own kick number, where it gives one

    @property
    def when(self) -> tuple[int, int]:
        """Sortable match time: (elapsed, stoppage minutes)."""
        return (self.elapsed, self.extra or 0)

    @property
    def ref(self) -> str:
        """A stable identity built from the event itself (the provider gives events no id)."""
        who = self.player_id or self.player or "?"
        return f"{self.elapsed}+{self.extra or 0}:{self.team_id}:{who}:{self.detail}"


def read_events(
    raw: object, teams: tuple[TeamRef, TeamRef], status: str | None, goals: int | None
) -> list[FeedEvent]:
    """Validated, classified events; ``goals`` (both sides' total) helps find unmarked kicks."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise FeedParseError(f"'events' is {type(raw).__name__}, expected a list")
    events = [e for i, item in enumerate(raw) if (e := _read_event(i, item, teams)) is not None]
    return _mark_unmarked_kicks(events, status, goals)


def _read_event(index: int, item: object, teams: tuple[TeamRef, TeamRef]) -> FeedEvent | None:
    """One event, or None when it is of no interest, has no minute or names neither team."""
    if not isinstance(item, dict):
        raise FeedParseError(f"events[{index}] is {type(item).__name__}, expected an object")
    time, team = f.obj(item, "time"), f.obj(item, "team")
    player, assist = f.obj(item, "player"), f.obj(item, "assist")
    kind, detail = _classify(item)
    elapsed = f.count(time.get("elapsed"), f"events[{index}].time.elapsed")
    extra = f.count(time.get("extra"), f"events[{index}].time.extra")
    side = side_of(team, teams)
    if kind == "other":
        return None
    if elapsed is None or side is None:
        f.warn_unknown(log, PROVIDER, "event_without_minute_or_team", detail)
        return None
    return FeedEvent(
        index=index,
        kind=kind,
        side=side,
        elapsed=elapsed,
        extra=extra or None,
        team_id=f.text(team, "id"),
        player_id=f.text(player, "id"),
        player=f.text(player, "name"),
        assist=f.text(assist, "name"),
        detail=detail,
        scored=kind == "kick" and detail.strip().lower() != "missed penalty",
        number=kick_number(item) if kind == "kick" else None,
    )


def kick_number(item: dict[str, Any]) -> int | None:
    """A shoot-out kick's own number: a ``number``/``sequence``/``order`` field, or the digits
    of its comment ("Penalty Shootout 3"); None when the event has neither."""
    for key in ("number", "sequence", "order"):
        value = item.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
    digits = re.search(r"\d+", f.text(item, "comments") or "")
    return int(digits.group()) if digits else None


def side_of(team: dict[str, Any], teams: tuple[TeamRef, TeamRef]) -> Side | None:
    """Which side a ``team`` object is: by id, else by name."""
    team_id, name = f.text(team, "id"), f.text(team, "name")
    for ref in teams:
        if team_id is not None and ref.id is not None:
            if team_id == ref.id:
                return ref.side
        elif name is not None and ref.name is not None and name.casefold() == ref.name.casefold():
            return ref.side
    return None


def _classify(item: dict[str, Any]) -> tuple[EventKind, str]:
    """Kind of one event from its type, detail and comments; unknown values are logged once."""
    kind_of = {"goal": _goal_kind, "card": _card_kind, "var": _var_kind, "subst": _quiet}
    etype = (f.text(item, "type") or "").strip()
    detail = f.text(item, "detail") or ""
    reader = kind_of.get(etype.lower())
    if reader is None:
        f.warn_unknown(log, PROVIDER, "event_type", etype)
        return "other", detail
    kind = reader(detail.strip().lower())
    if kind is None:
        f.warn_unknown(log, PROVIDER, "event_detail", f"{etype}/{detail}")
        return "other", detail
    comments = (f.text(item, "comments") or "").strip().lower()
    if etype.lower() == "goal" and comments.startswith(SHOOTOUT_COMMENT):
        return "kick", detail
    return kind, detail


def _goal_kind(detail: str) -> EventKind | None:
    return _GOAL_DETAILS.get(detail)


def _card_kind(detail: str) -> EventKind | None:
    if detail in _RED_CARDS or "red" in detail.split():
        return "red_card"
    if detail in _QUIET_CARDS:
        return "yellow_card"
    return "other" if "yellow" in detail else None


def _var_kind(detail: str) -> EventKind | None:
    if detail.startswith(_CANCEL_VAR):
        return "var_cancel"
    return "other" if detail.startswith(_QUIET_VAR) else None


def _quiet(detail: str) -> EventKind | None:
    return "other"


def _mark_unmarked_kicks(
    events: list[FeedEvent], status: str | None, goals: int | None
) -> list[FeedEvent]:
    """Feeds that do not comment shoot-out kicks: the trailing 120' penalties of a P/PEN match.

    A trailing 120' penalty that the score needs (a goal in the last minute of extra time) is
    kept as a goal: kicks are taken from the end only while the goals still add up.
    """
    if status not in ("P", "PEN") or any(e.kind == "kick" for e in events):
        return events
    tail = 0
    while tail < len(events) and _kick_like(events[-1 - tail]):
        tail += 1
    counted = sum(e.kind in SCORING for e in events)
    first = len(events) - tail
    while (
        goals is not None and first < len(events) and counted - _tail_goals(events, first) < goals
    ):
        first += 1
    return events[:first] + [_as_kick(e) for e in events[first:]]


def _kick_like(event: FeedEvent) -> bool:
    return event.elapsed >= 120 and event.kind in ("penalty", "missed_penalty")


def _tail_goals(events: list[FeedEvent], first: int) -> int:
    return sum(e.kind in SCORING for e in events[first:])


def _as_kick(event: FeedEvent) -> FeedEvent:
    return replace(event, kind="kick", scored=event.kind == "penalty")


def pair_cancellations(
    events: list[FeedEvent], score: Score | None = None
) -> dict[int, int | None]:
    """For each "Goal cancelled" VAR event (by index): the index of the goal it undoes, if listed.

    A VAR event undoes at most one goal: the latest earlier goal of its team by the same
    player, else the latest one of its team within :data:`VAR_WINDOW` minutes before it. With
    the ``score``, only goals the score does not count can be undone: when the feed dropped
    the ruled-out goal (as it usually does), an earlier goal by the same player stays.
    """
    surplus = {side: _listed(events, side) - score.of(side) for side in SIDES} if score else None
    taken: set[int] = set()
    pairs: dict[int, int | None] = {}
    for var in (e for e in events if e.kind == "var_cancel"):
        goal = None
        if surplus is None or surplus[var.side] > 0:
            goal = _cancelled_goal(var, events, taken)
        pairs[var.index] = None if goal is None else goal.index
        if goal is not None:
            taken.add(goal.index)
            if surplus is not None:
                surplus[var.side] -= 1
    return pairs


def _listed(events: list[FeedEvent], side: Side) -> int:
    return sum(e.kind in SCORING and e.side == side for e in events)


def _cancelled_goal(var: FeedEvent, events: list[FeedEvent], taken: set[int]) -> FeedEvent | None:
    before = [
        e
        for e in events
        if e.kind in SCORING and e.side == var.side and e.when <= var.when and e.index not in taken
    ]
    same = [e for e in before if _same_player(e, var)]
    if same:
        return max(same, key=lambda e: (e.when, e.index))
    near = [e for e in before if minute_of(var) - minute_of(e) <= VAR_WINDOW]
    return max(near, key=lambda e: (e.when, e.index)) if near else None


def _same_player(a: FeedEvent, b: FeedEvent) -> bool:
    if a.player_id is not None and b.player_id is not None:
        return a.player_id == b.player_id
    return a.player is not None and b.player is not None and a.player == b.player


def minute_of(event: FeedEvent) -> int:
    """Match minute on one scale, stoppage included (45+2 is 47)."""
    return event.elapsed + (event.extra or 0)
