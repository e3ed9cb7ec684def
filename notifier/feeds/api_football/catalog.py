"""API-Football v3: ``/teams?search=`` (``response[].team``: id, name, code, country; at least
three letters), ``/leagues`` (``response[]``: ``league`` id and name, ``country.name``,
``seasons[]`` with ``current``) and ``/leagues?team=ID&current=true`` (a team's competitions)."""

from __future__ import annotations

from typing import Any

from notifier.feeds.catalog import LeagueInfo, TeamInfo, dicts, sub, text
from notifier.feeds.requests import Request

PROVIDER = "api-football"


def search_request(query: str) -> Request:
    """Teams whose name contains ``query``."""
    return Request("/teams", (("search", query),))


def leagues_request(team: str | None = None) -> Request:
    """The current competitions (of one team, when given)."""
    params = (("current", "true"),) if team is None else (("team", team), ("current", "true"))
    return Request("/leagues", params)


def parse_teams(body: dict[str, Any]) -> list[TeamInfo]:
    """``/teams`` answer."""
    out = []
    for item in dicts(body.get("response")):
        team = sub(item, "team")
        team_id, name = text(team.get("id")), text(team.get("name"))
        if team_id and name:
            code = text(team.get("code"))
            aliases = (code,) if code else ()
            out.append(
                TeamInfo(PROVIDER, team_id, name, text(team.get("country")), None, None, aliases)
            )
    return out


def parse_leagues(body: dict[str, Any]) -> list[LeagueInfo]:
    """``/leagues`` answer, with each competition's current season."""
    out = []
    for item in dicts(body.get("response")):
        league = sub(item, "league")
        country = sub(item, "country")
        league_id, name = text(league.get("id")), text(league.get("name"))
        if league_id and name:
            out.append(
                LeagueInfo(PROVIDER, league_id, name, text(country.get("name")), _season(item))
            )
    return out


def _season(item: dict[str, Any]) -> int | None:
    seasons = dicts(item.get("seasons"))
    current = [s for s in seasons if s.get("current")] or seasons[-1:]
    year = current[0].get("year") if current else None
    return year if isinstance(year, int) else None
