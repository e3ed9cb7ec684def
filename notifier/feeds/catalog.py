"""Finding what to follow: teams and competitions a provider offers. Pure.

Each provider module (:mod:`.espn`, :mod:`.api_football`, :mod:`.football_data`) says which
requests list teams and competitions, and reads the answers into the neutral :class:`TeamInfo`
and :class:`LeagueInfo`; :func:`matching` picks the teams a name (or id) means.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class LeagueInfo:
    """A competition, by the id ``[[follow]]`` takes (ESPN slug, API-Football id,
    football-data code)."""

    provider: str
    id: str
    name: str
    country: str | None = None
    season: int | None = None  # API-Football: the current season (the follow needs it)

    def json(self) -> dict[str, Any]:
        """The JSON-lines form (``notifier leagues --json``)."""
        return asdict(self)


@dataclass(frozen=True)
class TeamInfo:
    """A team as one provider knows it, with the competition it was found in."""

    provider: str
    id: str
    name: str
    country: str | None = None
    league: str | None = None  # id of the competition it was listed in
    league_name: str | None = None
    aliases: tuple[str, ...] = field(default=(), compare=False)  # short name, code
    season: int | None = None

    def json(self) -> dict[str, Any]:
        """The JSON-lines form (``notifier teams search --json``): provider, id, name, ..."""
        out = asdict(self)
        out.pop("aliases")
        return out


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a name (``Montréal`` -> ``montreal``)."""
    plain = unicodedata.normalize("NFKD", text)
    return "".join(c for c in plain if not unicodedata.combining(c)).casefold().strip()


def _names(team: TeamInfo) -> list[str]:
    return [fold(n) for n in (team.name, *team.aliases) if n]


def matching(query: str, teams: Iterable[TeamInfo]) -> list[TeamInfo]:
    """The teams ``query`` means: by id, else by exact name (or short name, code), else every
    team whose name contains it. One entry per team id (the first competition it was seen in
    first); the caller refuses more than one id as ambiguous."""
    listed = list(teams)
    q = fold(query)
    for test in (
        lambda t: t.id == query.strip(),
        lambda t: q in _names(t),
        lambda t: any(q in n for n in _names(t)),
    ):
        found = [t for t in listed if test(t)]
        if found:
            return found
    return []


def distinct(teams: Sequence[TeamInfo]) -> list[TeamInfo]:
    """One entry per team id, in order."""
    seen: dict[str, TeamInfo] = {}
    for t in teams:
        seen.setdefault(t.id, t)
    return list(seen.values())


def text(value: Any) -> str | None:
    """A non-empty string of a JSON value, else None."""
    if value is None:
        return None
    out = str(value).strip()
    return out or None


def dicts(value: Any) -> list[dict[str, Any]]:
    """The dict items of a JSON list (anything else: none)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def sub(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """``obj[key]`` when it is an object, else an empty one."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}
