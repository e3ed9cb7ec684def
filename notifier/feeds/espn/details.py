"""ESPN ``details[]`` / ``keyEvents[]`` and ``rosters`` -> goals, cards, kicks, lineups. Pure.

The quirks are documented in :mod:`notifier.feeds.espn.parse`.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field

from notifier.domain.models import (
    Goal,
    GoalKind,
    Incident,
    Lineup,
    LineupPlayer,
    Lineups,
    ShootoutKick,
    Side,
    Team,
)
from notifier.errors import FeedParseError
from notifier.feeds.fields import JsonObj, need_text, number, obj, objs, text, warn_unknown

PROVIDER = "espn"
log = logging.getLogger("notifier.feeds.espn")

_CLOCK = re.compile(r"^\s*(\d{1,3})\s*'?\s*(?:\+\s*(\d{1,2})\s*'?)?\s*$")
_MISSED_PENALTY = frozenset({"penalty - missed", "penalty - saved"})
_WORTH_A_LOOK = ("goal", "penalty", "card")  # unflagged details with these words get logged


@dataclass
class Incidents:
    """What the details of one match say: goals, red cards, missed penalties, kicks."""

    goals: list[Goal] = field(default_factory=list)
    red_cards: list[Incident] = field(default_factory=list)
    yellow_cards: list[Incident] = field(default_factory=list)
    missed: list[Incident] = field(default_factory=list)
    kicks: list[ShootoutKick] = field(default_factory=list)


def parse_clock(value: str | None) -> tuple[int | None, int | None]:
    """ESPN's clock text as (minute, added): "90'+7'" -> (90, 7), "67'" -> (67, None)."""
    found = _CLOCK.match(value or "")
    if found is None:
        return None, None
    added = found.group(2)
    return int(found.group(1)), int(added) if added is not None else None


def read_details(details: list[JsonObj], home: Team, away: Team) -> Incidents:
    """Sort ``details[]`` into goals, red cards, missed penalties and shoot-out kicks."""
    found = Incidents()
    for d in details:
        label = text(obj(d, "type"), "text") or ""
        if d.get("shootout") is True:
            scored = d.get("scoringPlay") is True or "scored" in label.lower()
            side, player = _side(d, home, away), _player_name(d, 0)
            kick = ShootoutKick(order=len(found.kicks) + 1, side=side, player=player, scored=scored)
            found.kicks.append(kick)
        elif d.get("scoringPlay") is True:
            found.goals.append(_goal(d, home, away))
        elif d.get("redCard") is True:
            found.red_cards.append(_incident(d, home, away, label))
        elif label.lower() in _MISSED_PENALTY:
            found.missed.append(_incident(d, home, away, label))
        elif d.get("yellowCard") is True:
            found.yellow_cards.append(_incident(d, home, away, label))
        elif any(w in label.lower() for w in _WORTH_A_LOOK):
            warn_unknown(log, PROVIDER, "detail", label)
    return found


def _goal(d: JsonObj, home: Team, away: Team) -> Goal:
    kind: GoalKind = "normal"
    if d.get("ownGoal") is True:
        kind = "own_goal"
    elif d.get("penaltyKick") is True:
        kind = "penalty"
    minute, added = _minute(d)
    return Goal(
        minute=minute,
        added=added,
        side=_side(d, home, away),
        player=_player_name(d, 0),
        assist=_player_name(d, 1) if kind == "normal" else None,
        kind=kind,
        ref=text(d, "id"),
    )


def _incident(d: JsonObj, home: Team, away: Team, label: str) -> Incident:
    minute, added = _minute(d)
    side, player = _side(d, home, away), _player_name(d, 0)
    return Incident(minute=minute, added=added, side=side, player=player, detail=label or None)


def _minute(d: JsonObj) -> tuple[int, int | None]:
    clock = obj(d, "clock")
    minute, added = parse_clock(text(clock, "displayValue"))
    if minute is not None:
        return minute, added
    seconds = clock.get("value")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and 0 <= seconds < 1e5:
        return math.ceil(seconds / 60), None
    raise FeedParseError("detail without a readable clock")


def _side(d: JsonObj, home: Team, away: Team) -> Side:
    team_id = text(obj(d, "team"), "id")
    if team_id is not None and team_id == home.id:
        return "home"
    if team_id is not None and team_id == away.id:
        return "away"
    raise FeedParseError(f"detail has team {team_id!r}, neither {home.id!r} nor {away.id!r}")


def _player_name(d: JsonObj, index: int) -> str | None:
    athletes = objs(d, "athletesInvolved")
    if len(athletes) <= index:
        return None
    a = athletes[index]
    return text(a, "displayName") or text(a, "fullName") or text(a, "shortName")


def key_event_as_detail(k: JsonObj) -> JsonObj:
    """A summary ``keyEvents`` item in the scoreboard ``details`` shape (flags from the label)."""
    label = text(obj(k, "type"), "text") or ""
    low = label.lower()
    goalish = low == "goal" or low.startswith("goal - ") or low in ("own goal", "penalty - scored")
    return {
        "id": k.get("id"),
        "type": {"text": label},
        "clock": k.get("clock"),
        "team": k.get("team"),
        "scoringPlay": k.get("scoringPlay") is True or goalish,
        "shootout": k.get("shootout") is True,
        "ownGoal": low == "own goal",
        "penaltyKick": low.startswith("penalty"),
        "redCard": "red card" in low,
        "yellowCard": "yellow card" in low,
        "athletesInvolved": [obj(p, "athlete") for p in objs(k, "participants")],
    }


def read_lineups(data: JsonObj) -> Lineups | None:
    """Lineups from a summary's ``rosters`` (``starter`` flag, ``formation``), else None."""
    rosters = {text(r, "homeAway"): r for r in objs(data, "rosters")}
    if not any(objs(r, "roster") for r in rosters.values()):
        return None
    return Lineups(home=_lineup(rosters.get("home", {})), away=_lineup(rosters.get("away", {})))


def _lineup(roster: JsonObj) -> Lineup:
    players = objs(roster, "roster")
    formation = roster.get("formation")
    holder = formation if isinstance(formation, dict) else {"name": formation}
    return Lineup(
        formation=text(holder, "name") or text(holder, "displayName"),
        start=tuple(_roster_player(p) for p in players if p.get("starter") is True),
        bench=tuple(_roster_player(p) for p in players if p.get("starter") is not True),
    )


def _roster_player(p: JsonObj) -> LineupPlayer:
    athlete = obj(p, "athlete")
    name = text(athlete, "displayName") or need_text(athlete, "fullName")
    position = text(obj(p, "position"), "abbreviation")
    return LineupPlayer(name=name, number=number(p, "jersey"), position=position)
