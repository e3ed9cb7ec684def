"""Fixture discovery, pure: what to ask a provider for a followed competition, and what to
follow among what it answers (matches of the chosen teams still to play, with their ties).

The request itself is the provider's (:meth:`~notifier.feeds.base.Provider.fixtures_request`:
API-Football ``/fixtures?league=&season=&from=&to=``, football-data
``/v4/competitions/{code}/matches``, ESPN ``{league}/scoreboard?dates=FROM-TO``); the window
is chosen here.

The window reaches ``days_back`` into the past so that finished first legs are seen and linked
to their second legs (:mod:`notifier.domain.tielink`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from notifier.domain.models import OVER_STATUSES, MatchSnapshot, MatchStatus
from notifier.domain.tie import TieRules, TieSpec, same_team
from notifier.domain.tielink import link_legs, tie_spec
from notifier.domain.watch import Watch
from notifier.feeds import registry
from notifier.feeds.requests import Request
from notifier.settings import FollowSettings

GONE = frozenset({*OVER_STATUSES, MatchStatus.POSTPONED})


@dataclass
class Found:
    """What one discovery yields: matches to follow and ties to know."""

    watches: list[Watch] = field(default_factory=list)
    ties: list[TieSpec] = field(default_factory=list)


def discovery_request(spec: FollowSettings, now: datetime) -> Request:
    """The one request that lists a followed competition's fixtures around ``now``."""
    start = (now - timedelta(days=spec.days_back)).date()
    end = (now + timedelta(days=spec.days_ahead)).date()
    return registry.get(spec.provider).fixtures_request(spec, start, end, now)


def wanted(spec: FollowSettings, s: MatchSnapshot) -> bool:
    """Whether a match is one of the followed teams' (every match when no team is named)."""
    if not spec.teams:
        return True
    return any(_names(team, s) for team in spec.teams)


def _names(team: str, s: MatchSnapshot) -> bool:
    return any(team == t.id or same_team(team, t.name) for t in (s.home, s.away))


def plan_follow(spec: FollowSettings, snapshots: Sequence[MatchSnapshot]) -> Found:
    """Watches for the followed matches still to be played, and the ties whose first leg is in."""
    found = Found()
    rules = TieRules(away_goals=spec.away_goals)
    ties = {}
    for legs in link_legs(snapshots):
        spec_ = tie_spec(legs, rules, spec.next_round)
        if spec_ is not None and wanted(spec, legs.second):
            ties[legs.second.match_id] = spec_
    found.ties = list(ties.values())
    league = registry.get(spec.provider).watch_league(spec.league)
    for s in snapshots:
        if s.status in GONE or not wanted(spec, s):
            continue
        # A tie moves a match to its tie's partition: only before the match has begun.
        tie = ties.get(s.match_id) if s.status is MatchStatus.SCHEDULED else None
        watch = Watch(
            provider=s.provider,
            match_id=s.match_id,
            tie=tie.id if tie else None,
            league=league,
            kickoff=s.kickoff,
            title=f"{s.home.name} v {s.away.name}",
        )
        found.watches.append(watch)
    return found
