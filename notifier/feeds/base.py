"""The Provider interface: what the rest of the notifier may ask of a feed, and nothing more.

Every provider is one package under ``notifier/feeds/`` with the same file names (``provider.py``
implementing :class:`Provider`, ``parse.py``, ``catalog.py``, and whatever its payloads need),
listed once in :mod:`notifier.feeds.registry`. Code outside ``notifier/feeds`` asks the registry
for a provider by name and calls it: it never branches on a provider's name, so a provider's
quirks (its paths, its bulk requests, its error envelope) live in its package and nowhere else.

A provider's error document becomes :class:`notifier.errors.EnvelopeError`, built in its own
package. Also here: :func:`snapshot_json`, the public JSON form of a snapshot (``notifier feed
parse``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from notifier.domain.models import Incident, Lineup, MatchSnapshot, Score
from notifier.domain.watch import Watch
from notifier.feeds.bulk import Due, Item, Planned
from notifier.feeds.catalog import LeagueInfo, TeamInfo
from notifier.feeds.requests import Request

if TYPE_CHECKING:
    from notifier.settings import FollowSettings, ProviderSettings

JsonObj = dict[str, Any]


class Provider(Protocol):
    """One match feed. Pure: requests to make and answers to read; the I/O is the caller's.

    The poller plans bulk requests (:meth:`plan`), splits each answer into matches
    (:meth:`split`) and completes an item with one per-match request where the bulk view lacks
    events or lineups (:meth:`detail_request`, :meth:`merge_detail`). The fixtures job asks
    :meth:`fixtures_request`; the finder asks the catalog methods. :meth:`check` is the only
    reader of the provider's error envelope.
    """

    name: str  # as in the config, the CLI and every key: "api-football"
    needs_key: bool  # answers nothing without an API key (ESPN's public API needs none)

    def auth_headers(self, key: str) -> dict[str, str]:
        """The header(s) that carry a configured API key."""
        ...

    def check(self, data: JsonObj, payload: bytes | None = None) -> JsonObj:
        """``data`` when it is an answer, else the :class:`EnvelopeError` its error document
        means (raised, carrying ``payload``): the one place the provider's errors are read."""
        ...

    # Polling --------------------------------------------------------------------------------

    def group_of(self, watch: Watch, groups: int) -> str:
        """The lease group a followed match is polled in, of ``groups`` (``bulk_groups``)."""
        ...

    def plan(self, due: Sequence[Due], settings: ProviderSettings) -> list[Planned]:
        """The few requests that cover the due matches of one group."""
        ...

    def split(self, body: bytes) -> list[Item]:
        """Each match of a bulk answer, parsed on its own (one malformed item costs only
        itself); FeedError (an :class:`EnvelopeError` or a FeedParseError) if the answer as a
        whole is not usable."""
        ...

    def detail_request(
        self, item: Item, watch: Watch, lineups_wanted: bool, settings: ProviderSettings
    ) -> Request | None:
        """The one per-match request a bulk item needs, if any (events it lacks, lineups)."""
        ...

    def merge_detail(self, item: Item, body: bytes) -> MatchSnapshot:
        """The item's snapshot completed by its detail answer (FeedError if that is bad)."""
        ...

    def match_request(self, match_id: str, league: str | None = None) -> Request:
        """The request that returns one match in full (events, lineups where it has them)."""
        ...

    def parse(self, body: bytes | JsonObj) -> list[MatchSnapshot]:
        """Every match of an answer (list or single match) as snapshots."""
        ...

    # Discovery (the fixtures job) -----------------------------------------------------------

    def fixtures_request(
        self, spec: FollowSettings, start: date, end: date, now: datetime
    ) -> Request:
        """The one request listing a followed competition's fixtures from ``start`` to ``end``."""
        ...

    def watch_league(self, league: str) -> str | None:
        """The league a watch of this provider keeps (its match requests need it), or None."""
        ...

    # Catalog (the finder: ``teams search``, ``leagues``, ``follow team``) -------------------

    def leagues_request(self) -> Request:
        """Every competition the provider offers."""
        ...

    def parse_leagues(self, body: JsonObj) -> list[LeagueInfo]:
        """The competitions of a leagues answer."""
        ...

    def search_request(self, query: str) -> Request | None:
        """The one request that searches teams by name; None when the provider has no search
        (the finder then reads the teams of ``search_leagues``, :meth:`teams_request`)."""
        ...

    def teams_request(self, league: str) -> Request | None:
        """The teams of one competition; None when the provider's search covers them all."""
        ...

    def parse_teams(self, body: JsonObj, league: str | None) -> list[TeamInfo]:
        """The teams of a search (``league`` None) or competition answer."""
        ...

    def team_leagues_request(self, team_id: str) -> Request | None:
        """The competitions a team plays in now; None when the teams were found by competition
        (those are its competitions)."""
        ...


def snapshot_json(s: MatchSnapshot) -> dict[str, Any]:
    """The public JSON form of a snapshot (``notifier feed parse``): plain types, UTC ISO times."""
    return {
        "provider": s.provider,
        "match_id": s.match_id,
        "competition": s.competition,
        "stage": s.stage,
        "leg": s.leg,
        "kickoff": s.kickoff.isoformat() if s.kickoff else None,
        "status": s.status.value,
        "minute": s.minute,
        "added": s.added,
        "home": s.home.name,
        "away": s.away.name,
        "home_id": s.home.id,
        "away_id": s.away.id,
        "score": _score(s.score),
        "shootout": _score(s.shootout) if s.shootout else None,
        "winner": s.winner,
        "goals": [g.model_dump(mode="json", exclude={"ref"}) for g in s.goals],
        "red_cards": [_incident(i) for i in s.red_cards],
        "missed_penalties": [_incident(i) for i in s.missed_penalties],
        "cancelled_goals": [_incident(i) for i in s.cancelled_goals],
        "shootout_kicks": [k.model_dump(mode="json") for k in s.shootout_kicks],
        "lineups": (
            {"home": _lineup(s.lineups.home), "away": _lineup(s.lineups.away)}
            if s.lineups
            else None
        ),
        "updated_at": s.updated_at.isoformat() if s.updated_at else None,
    }


def _score(score: Score) -> dict[str, int]:
    return {"home": score.home, "away": score.away}


def _incident(i: Incident) -> dict[str, Any]:
    return i.model_dump(mode="json")


def _lineup(lineup: Lineup) -> dict[str, Any]:
    return lineup.model_dump(mode="json")
