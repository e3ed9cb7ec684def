"""Teams and competitions, asked of a provider: the I/O behind ``teams search``, ``leagues``
and ``follow team`` (the pure half is :mod:`notifier.feeds.catalog` and each provider's catalog
hooks, :class:`notifier.feeds.base.Provider`).

A provider with a team search (API-Football's ``/teams?search=``) is asked once; one without
(ESPN, football-data) has the teams of ``search_leagues`` (or the leagues named) read, a few
requests at a time. Answers go through the provider's own error check, as in the poller.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from typing import Any

import aiohttp
import orjson

from notifier.bus.follows import Follow
from notifier.errors import FeedError, NotFoundError, UnknownProviderError
from notifier.feeds import registry
from notifier.feeds.catalog import LeagueInfo, TeamInfo, distinct, matching
from notifier.feeds.client import FeedClient, Request
from notifier.settings import Settings

log = logging.getLogger("notifier.finder")
PARALLEL = 4  # requests in flight at once while reading many leagues' teams
USER_AGENT = "match-notifier/0.1 (+https://github.com/match-notifier)"


class Finder:
    """Discovery calls of one provider, over one HTTP session."""

    def __init__(self, session: aiohttp.ClientSession, settings: Settings, provider: str) -> None:
        try:
            self.source = registry.get(provider)
        except UnknownProviderError as exc:
            raise NotFoundError(str(exc)) from exc
        self.provider = provider
        self.settings = settings.provider(provider)
        self.client = FeedClient(session, provider, self.settings)

    async def _get(self, request: Request) -> dict[str, Any]:
        body = orjson.loads(await self.client.fetch(request))
        if not isinstance(body, dict):
            raise FeedError(f"{self.provider} {request.path}: not a JSON object")
        return self.source.check(body)

    async def leagues(self) -> list[LeagueInfo]:
        """Every competition the provider offers (to this key)."""
        return self.source.parse_leagues(await self._get(self.source.leagues_request()))

    async def teams(self, query: str, leagues: list[str] | None = None) -> list[TeamInfo]:
        """Teams the provider lists for ``query`` (every competition each was seen in)."""
        search = self.source.search_request(query)
        if search is not None:
            return self.source.parse_teams(await self._get(search), None)
        return await self._league_teams(leagues or self.settings.search_leagues)

    async def _league_teams(self, leagues: list[str]) -> list[TeamInfo]:
        gate = asyncio.Semaphore(PARALLEL)
        failed: list[str] = []

        async def one(league: str) -> list[TeamInfo]:
            request = self.source.teams_request(league)
            if request is None:
                return []
            async with gate:
                try:
                    return self.source.parse_teams(await self._get(request), league)
                except FeedError as exc:
                    failed.append(league)
                    log.info("league_teams_failed", extra={"league": league, "error": str(exc)})
                    return []

        found = [t for chunk in await asyncio.gather(*(one(x) for x in leagues)) for t in chunk]
        if leagues and len(failed) == len(leagues):
            raise FeedError(
                f"{self.provider}: no league's teams could be read ({', '.join(failed)})"
            )
        return found

    async def search(self, query: str, leagues: list[str] | None = None) -> list[TeamInfo]:
        """Teams ``query`` means (by id, exact name, or part of a name)."""
        return matching(query, await self.teams(query, leagues))

    async def team_follows(
        self, query: str, leagues: list[str] | None = None
    ) -> tuple[TeamInfo, list[Follow]]:
        """The one team ``query`` means, and a follow of it per competition it plays in;
        NotFoundError listing the candidates when it means none or several."""
        listed = await self.teams(query, leagues)
        found = matching(query, listed)
        teams = distinct(found)
        if len(teams) != 1:
            raise NotFoundError(self._refusal(query, teams, listed, leagues))
        team = teams[0]
        request = self.source.team_leagues_request(team.id)
        if request is not None:
            comps = self.source.parse_leagues(await self._get(request))
            return team, [_follow(team, c.id, c.name, c.season) for c in comps]
        seen = [t for t in found if t.id == team.id and t.league]
        return team, [_follow(team, t.league or "", t.league_name, None) for t in seen]

    def _refusal(
        self, query: str, teams: list[TeamInfo], listed: list[TeamInfo], leagues: list[str] | None
    ) -> str:
        if teams:
            names = "; ".join(
                f"{t.id} {t.name}" + (f" ({t.league})" if t.league else "") for t in teams[:10]
            )
            return (
                f"{query!r} could be {len(teams)} teams at {self.provider}: {names}."
                " Name one (its id works too)."
            )
        where = ", ".join(leagues or self.settings.search_leagues) or "its search"
        close = difflib.get_close_matches(query, sorted({t.name for t in listed}), n=5, cutoff=0.4)
        hint = f" Close: {', '.join(close)}." if close else ""
        return (
            f"no team {query!r} at {self.provider} (looked in {where}).{hint}"
            " Try `notifier teams search`, or --league for another competition."
        )


def _follow(team: TeamInfo, league: str, league_name: str | None, season: int | None) -> Follow:
    return Follow(
        provider=team.provider,
        league=league,
        season=season,
        teams=[team.id],
        league_name=league_name,
        team_names={team.id: team.name},
    )


def session() -> aiohttp.ClientSession:
    """An HTTP session for discovery calls."""
    return aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
