"""Lineup texts: the starting XI line by line, as the formation reads. Pure."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from operator import itemgetter

from notifier.domain import structs
from notifier.domain.models import Lineup, LineupPlayer, Side
from notifier.domain.texts import Parts, msg

__all__ = ["lineup"]


def lineup(side: Side, lu: Lineup | structs.Lineup) -> Parts:
    """``Lineups: Atalanta (3-4-2-1) Carnesecchi; Kossounou, Djimsiti, Ahanor; ...``."""
    lines = "; ".join(", ".join(p.name for p in row) for row in _rows(lu.start))
    if lu.formation:
        return (
            msg(
                "Lineups: {team} ({formation}) {players}",
                team=side,
                formation=lu.formation,
                players=lines,
            ),
        )
    return (msg("Lineups: {team} {players}", team=side, players=lines),)


Player = LineupPlayer | structs.LineupPlayer


def _rows(players: Iterable[Player]) -> list[list[Player]]:
    """Group the XI by formation line: by grid row (right to left), else by position."""
    rows: dict[int, list[tuple[int, Player]]] = {}
    for i, p in enumerate(players):
        row, col = _grid(p.grid) or (_LINES.get((p.position or "M")[:1].upper(), 2), -i)
        rows.setdefault(row, []).append((col, p))
    # Right to left; reverse=True keeps equal columns in their order, as a -col key would.
    return [[p for _, p in sorted(rows[r], key=_column, reverse=True)] for r in sorted(rows)]


_LINES = {"G": 0, "D": 1, "M": 2, "F": 3}
_column = itemgetter(0)


@functools.lru_cache(maxsize=256)
def _grid(grid: str | None) -> tuple[int, int] | None:
    """A player's grid cell (``"2:4"``: row 2, column 4), parsed once per value: the cells of a
    formation are few, and every lineup has eleven."""
    if not grid:
        return None
    try:
        row, col = grid.split(":")
        return int(row), int(col)
    except ValueError:
        return None
