"""Two legs of a tie, linked from what the provider says. Pure.

Legs are linked only where the provider marks them: football-data's ``matchday`` 1/2 in a
knockout ``stage``, API-Football's round "... - 1st leg" / "... - 2nd leg", ESPN's
``competitions[0].leg`` (the adapters put it in ``MatchSnapshot.leg``). The two legs share the
competition and the stage (the leg mark aside) and have their teams reversed. Once the first
leg is finished it becomes the tie's first leg; ``config/ties/*.toml`` covers the rest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from notifier.domain.models import MatchSnapshot, MatchStatus, Team
from notifier.domain.tie import FirstLeg, TieRules, TieSpec, same_team

_LEG_MARK = re.compile(r"[\s\-–:,]*\b[12](?:st|nd)?\s+leg\b", re.IGNORECASE)


@dataclass(frozen=True)
class Legs:
    """The two legs of one tie, first leg first."""

    first: MatchSnapshot
    second: MatchSnapshot

    @property
    def tie_id(self) -> str:
        """A stable tie id from the provider and both legs' ids."""
        return f"{self.first.provider}:{self.first.match_id}-{self.second.match_id}"


def stage_key(s: MatchSnapshot) -> str:
    """The stage without its leg mark ("Round of 16 - 2nd leg" -> "round of 16")."""
    return _LEG_MARK.sub("", s.stage or "").strip().casefold()


def same_side(a: Team, b: Team) -> bool:
    """Whether two team references name the same team (by id where both have one)."""
    if a.id is not None and b.id is not None:
        return a.id == b.id
    return same_team(a.name, b.name)


def reversed_teams(a: MatchSnapshot, b: MatchSnapshot) -> bool:
    """``b`` is ``a`` with home and away swapped."""
    return same_side(a.home, b.away) and same_side(a.away, b.home)


def link_legs(snapshots: Sequence[MatchSnapshot]) -> list[Legs]:
    """Every first leg / second leg pair among ``snapshots`` (any order, any provider)."""
    firsts = [s for s in snapshots if s.leg == 1]
    out = []
    for second in (s for s in snapshots if s.leg == 2):
        for first in firsts:
            if _pair(first, second):
                out.append(Legs(first, second))
                break
    return out


def _pair(first: MatchSnapshot, second: MatchSnapshot) -> bool:
    return (
        first.provider == second.provider
        and first.competition == second.competition
        and stage_key(first) == stage_key(second)
        and reversed_teams(first, second)
    )


def tie_spec(
    legs: Legs, rules: TieRules | None = None, next_round: str | None = None
) -> TieSpec | None:
    """The tie of two linked legs, once the first is finished (None before)."""
    first = legs.first
    if first.status is not MatchStatus.FINISHED:
        return None
    return TieSpec(
        id=legs.tie_id,
        first_leg=FirstLeg(home=first.home.name, away=first.away.name, score=first.score),
        rules=rules or TieRules(),
        next_round=next_round,
        second_leg=legs.second.key,
    )
