"""What a chat can follow by name: teams, competitions and ties the pipeline knows of.

:class:`Directory` is the interface the bots search through; :class:`KnownTeams` answers from
what the pipeline tracks (the watched matches' teams and competitions, the ties, the configured
aliases and team styles). Team discovery per provider can stand behind the same interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol

import redis.asyncio as aioredis

from notifier.bus import keys
from notifier.bus.connect import translate_errors
from notifier.bus.watches import list_watches
from notifier.channels.subscriptions import fold
from notifier.domain.engine import MatchState
from notifier.domain.tie import TieSpec

MAX_CHOICES = 8
ORDER = {"team": 0, "competition": 1, "tie": 2, "match": 3}


class Candidate(NamedTuple):
    """Something to follow: its kind, the value a subscription stores, what a chat sees."""

    kind: str
    value: str
    label: str
    names: tuple[str, ...] = ()  # other names it is found by (provider names of a team)


class Directory(Protocol):
    """Finds what a name may mean."""

    async def search(self, query: str) -> list[Candidate]:
        """The candidates for ``query``: one if it is unambiguous, several to pick from, none."""
        ...


def rank(query: str, entries: Iterable[Candidate]) -> list[Candidate]:
    """Exact names first (a team before a competition before a tie), else every partial match."""
    q = fold(query)
    if not q:
        return []
    pool = sorted(set(entries), key=lambda c: (ORDER[c.kind], fold(c.label)))
    for c in pool:
        if q in {fold(c.value), fold(c.label), *map(fold, c.names)}:
            return [c]
    hits = [c for c in pool if any(q in fold(n) for n in (c.label, c.value, *c.names))]
    return hits[:MAX_CHOICES]


def team_entries(display: Iterable[str], aliases: Mapping[str, str]) -> list[Candidate]:
    """A candidate per display name, found also by each provider name that maps to it."""
    out = []
    for name in sorted(set(display)):
        others = tuple(p for p, shown in aliases.items() if fold(shown) == fold(name))
        out.append(Candidate("team", name, name, others))
    return out


def tie_entry(spec: TieSpec, aliases: Mapping[str, str]) -> Candidate:
    """A tie, labelled as its second leg is played (the first leg's away side at home)."""
    home = aliases.get(spec.first_leg.away, spec.first_leg.away)
    away = aliases.get(spec.first_leg.home, spec.first_leg.home)
    return Candidate("tie", spec.id, f"{home} v {away}")


class KnownTeams:
    """A directory of what the pipeline tracks now (read from Redis at each search)."""

    def __init__(
        self,
        r: aioredis.Redis,
        *,
        aliases: Mapping[str, str],
        teams: Sequence[str] = (),
        partitions: int = 1,
    ) -> None:
        self.r = r
        self.aliases = dict(aliases)
        self.teams = list(teams)
        self.partitions = partitions

    async def search(self, query: str) -> list[Candidate]:
        """Rank everything known against ``query``."""
        return rank(query, await self.entries())

    async def entries(self) -> list[Candidate]:
        """Every team, competition and tie known."""
        names = set(self.teams) | set(self.aliases.values())
        competitions: set[str] = set()
        out: list[Candidate] = []
        with translate_errors("bot directory"):
            specs = await self.r.hgetall(keys.ties_index())
            for state in await self.states():
                names |= {state.home, state.away}
                if state.competition:
                    competitions.add(state.competition)
        for body in specs.values():
            spec = TieSpec.model_validate_json(body)
            names |= {self.aliases.get(n, n) for n in (spec.first_leg.home, spec.first_leg.away)}
            out.append(tie_entry(spec, self.aliases))
        out += [Candidate("competition", c, c) for c in sorted(competitions)]
        return team_entries(names, self.aliases) + out

    async def states(self) -> list[MatchState]:
        """The folded state of every watched match that has one."""
        watches = await list_watches(self.r)
        if not watches:
            return []
        states = []
        for w in watches:  # one GET each: the states live in different slots of a cluster
            p = keys.partition_of(w.tie or w.key, self.partitions)
            raw = await self.r.get(keys.match_state(p, w.key))
            if raw:
                states.append(MatchState.model_validate_json(raw))
        return states
