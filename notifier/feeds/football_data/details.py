"""football-data.org v4 goals, bookings, shoot-out kicks and lineups (paid tiers). Pure.

The quirks are documented in :mod:`notifier.feeds.football_data.parse`.
"""

from __future__ import annotations

import logging

from notifier.domain.models import (
    Goal,
    GoalKind,
    Incident,
    Lineup,
    LineupPlayer,
    Lineups,
    Score,
    ShootoutKick,
    Side,
    Team,
)
from notifier.domain.shootout import in_order
from notifier.errors import FeedParseError
from notifier.feeds.fields import (
    JsonObj,
    count,
    need_text,
    number,
    obj,
    objs,
    score_pair,
    text,
    warn_unknown,
)

PROVIDER = "football-data"
log = logging.getLogger("notifier.feeds.football_data")

_GOAL_KINDS: dict[str, GoalKind] = {"REGULAR": "normal", "PENALTY": "penalty", "OWN": "own_goal"}
_RED_CARDS = frozenset({"RED", "YELLOW_RED"})


def _side(item: JsonObj, home: Team, away: Team, what: str) -> Side:
    team_id = text(obj(item, "team"), "id")
    if team_id is not None and team_id == home.id:
        return "home"
    if team_id is not None and team_id == away.id:
        return "away"
    raise FeedParseError(f"{what} has team {team_id!r}, neither {home.id!r} nor {away.id!r}")


def read_goals(m: JsonObj, home: Team, away: Team) -> tuple[Goal, ...]:
    """The goals of a match (paid tiers), each on its side; own goals by the running score."""
    goals: list[Goal] = []
    before = Score()
    for item in objs(m, "goals"):
        after = score_pair(item, "score")
        side = _side(item, home, away, "goal") if text(item, "type") != "OWN" else None
        side = side or _side_by_score(before, after) or _side(item, home, away, "own goal")
        before = after or before.plus(side)
        goals.append(_goal(item, side))
    return tuple(goals)


def _side_by_score(before: Score, after: Score | None) -> Side | None:
    if after == before.plus("home"):
        return "home"
    if after == before.plus("away"):
        return "away"
    return None


def _goal(item: JsonObj, side: Side) -> Goal:
    raw_kind = text(item, "type") or "REGULAR"
    kind = _GOAL_KINDS.get(raw_kind)
    if kind is None:
        warn_unknown(log, PROVIDER, "goal_type", raw_kind)
    return Goal(
        minute=_minute(item, "goal"),
        added=count(item.get("injuryTime"), "goal injuryTime"),
        side=side,
        player=text(obj(item, "scorer"), "name"),
        assist=text(obj(item, "assist"), "name"),
        kind=kind or "normal",
    )


def _minute(item: JsonObj, what: str) -> int:
    minute = count(item.get("minute"), f"{what} minute")
    if minute is None:
        raise FeedParseError(f"{what} without a minute")
    return minute


def read_red_cards(
    m: JsonObj, home: Team, away: Team, cards: frozenset[str] = _RED_CARDS
) -> tuple[Incident, ...]:
    """Bookings with a RED or YELLOW_RED card (or the ``cards`` asked for: YELLOW)."""
    return tuple(
        Incident(
            minute=_minute(b, "booking"),
            added=count(b.get("injuryTime"), "booking injuryTime"),
            side=_side(b, home, away, "booking"),
            player=text(obj(b, "player"), "name"),
            detail=text(b, "card"),
        )
        for b in objs(m, "bookings")
        if text(b, "card") in cards
    )


def read_kicks(m: JsonObj, home: Team, away: Team) -> tuple[ShootoutKick, ...]:
    """Shoot-out kicks in the order taken, where the match detail lists them."""
    # v4 match detail lists shoot-out kicks in a top-level "penalties" array (paid tiers).
    if not isinstance(m.get("penalties"), list):
        return ()
    kicks = []
    for order, kick in enumerate(objs(m, "penalties"), start=1):
        scored = kick.get("scored")
        if not isinstance(scored, bool):
            raise FeedParseError(f"shoot-out kick {order} has no 'scored' flag")
        side = _side(kick, home, away, "shoot-out kick")
        player = text(obj(kick, "player"), "name")
        number = kick.get("order") if isinstance(kick.get("order"), int) else None
        kicks.append(
            ShootoutKick(order=order, side=side, player=player, scored=scored, number=number)
        )
    return in_order(kicks)


def read_lineups(m: JsonObj) -> Lineups | None:
    """Lineups from ``homeTeam``/``awayTeam`` ``lineup``, ``bench``, ``formation``, ``coach``."""
    home, away = obj(m, "homeTeam"), obj(m, "awayTeam")
    if not (objs(home, "lineup") or objs(away, "lineup")):
        return None
    return Lineups(home=_lineup(home), away=_lineup(away))


def _lineup(team: JsonObj) -> Lineup:
    return Lineup(
        formation=text(team, "formation"),
        start=tuple(_player(p) for p in objs(team, "lineup")),
        bench=tuple(_player(p) for p in objs(team, "bench")),
        coach=text(obj(team, "coach"), "name"),
    )


def _player(p: JsonObj) -> LineupPlayer:
    return LineupPlayer(
        name=need_text(p, "name"),
        number=number(p, "shirtNumber"),
        position=text(p, "position"),
    )
