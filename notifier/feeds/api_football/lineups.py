"""API-Football v3 ``lineups`` (embedded in ``/fixtures?id=`` or from ``/fixtures/lineups``). Pure.

The provider lists the home side first, but each entry names its team, which is what counts;
a side's lineup is usable once it has a starting XI. Grid is "row:col", goalkeeper "1:1".
"""

from __future__ import annotations

from typing import Any

from notifier.domain.models import Lineup, LineupPlayer, Lineups, Side
from notifier.feeds import fields as f
from notifier.feeds.api_football.events import TeamRef, side_of


def read_lineups(item: dict[str, Any], refs: tuple[TeamRef, TeamRef]) -> Lineups | None:
    """Both sides' lineups, or None until both are out with a starting XI."""
    found: dict[Side, Lineup] = {}
    for position, entry in enumerate(f.objs(item, "lineups")):
        team = f.obj(entry, "team")
        side = side_of(team, refs) if team else None
        if side is None and not (f.text(team, "id") or f.text(team, "name")) and position < 2:
            side = refs[position].side  # a lineup that names no team: the provider's order
        lineup = _lineup(entry)
        if side is not None and lineup.start:
            found.setdefault(side, lineup)
    if "home" in found and "away" in found:
        return Lineups(home=found["home"], away=found["away"])
    return None


def _lineup(entry: dict[str, Any]) -> Lineup:
    return Lineup(
        formation=f.text(entry, "formation"),
        start=_players(entry, "startXI"),
        bench=_players(entry, "substitutes"),
        coach=f.text(f.obj(entry, "coach"), "name"),
    )


def _players(entry: dict[str, Any], key: str) -> tuple[LineupPlayer, ...]:
    players = []
    for slot in f.objs(entry, key):
        player = f.obj(slot, "player")
        name = f.text(player, "name")
        if name:
            players.append(
                LineupPlayer(
                    name=name,
                    number=f.count(player.get("number"), f"{key}.number"),
                    position=f.text(player, "pos"),
                    grid=f.text(player, "grid"),
                )
            )
    return tuple(players)
