"""Ties from ``config/ties/*.toml``: a first leg people know, and the second leg to follow.

id = "ucl-2026-po-atalanta-dortmund"
first_leg = "Borussia Dortmund 2-0 Atalanta"
next_round = "the round of 16"
away_goals = false
follow = true
[second_leg]
provider = "api-football"
match_id = "900001"
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from notifier.bus.watches import Watch
from notifier.domain.models import Frozen
from notifier.domain.tie import TieRules, TieSpec, parse_first_leg
from notifier.errors import ConfigError


class _SecondLeg(Frozen):
    provider: str
    match_id: str
    league: str | None = None


class _TieFile(Frozen):
    id: str
    first_leg: str
    next_round: str | None = None
    away_goals: bool = False
    extra_time: bool = True
    penalties: bool = True
    follow: bool = True  # false: known to the notifier, but its second leg is not polled
    second_leg: _SecondLeg | None = None


def load_tie_file(path: Path) -> tuple[TieSpec, Watch | None]:
    """One tie file: the tie, and the watch of its second leg when it names one."""
    try:
        raw = _TieFile.model_validate(tomllib.loads(path.read_text()))
        first = parse_first_leg(raw.first_leg)
    except (OSError, tomllib.TOMLDecodeError, ValidationError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    rules = TieRules(away_goals=raw.away_goals, extra_time=raw.extra_time, penalties=raw.penalties)
    leg = raw.second_leg
    watch = None
    if leg is not None:
        watch = Watch(provider=leg.provider, match_id=leg.match_id, tie=raw.id, league=leg.league)
    spec = TieSpec(
        id=raw.id,
        first_leg=first,
        rules=rules,
        next_round=raw.next_round,
        second_leg=watch.key if watch else None,
    )
    return spec, watch if raw.follow else None


def load_tie_dir(folder: Path) -> list[tuple[TieSpec, Watch | None]]:
    """Every ``*.toml`` tie in a folder (none if the folder does not exist)."""
    if not folder.is_dir():
        return []
    return [load_tie_file(p) for p in sorted(folder.glob("*.toml"))]
