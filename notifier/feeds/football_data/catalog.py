"""football-data.org v4: ``/v4/competitions`` (``competitions[]``: code, name, ``area.name``) and
``/v4/competitions/{code}/teams`` (``teams[]``: id, name, shortName, tla, ``area.name``). There
is no search: a search reads the teams of the competitions in ``search_leagues``."""

from __future__ import annotations

from typing import Any

from notifier.feeds.catalog import LeagueInfo, TeamInfo, dicts, sub, text
from notifier.feeds.requests import Request

PROVIDER = "football-data"


def leagues_request() -> Request:
    """The competitions the plan covers."""
    return Request("/v4/competitions")


def teams_request(code: str) -> Request:
    """The teams of one competition."""
    return Request(f"/v4/competitions/{code}/teams")


def parse_leagues(body: dict[str, Any]) -> list[LeagueInfo]:
    """``/v4/competitions`` answer."""
    out = []
    for item in dicts(body.get("competitions")):
        code, name = text(item.get("code")), text(item.get("name"))
        area = sub(item, "area")
        if code and name:
            out.append(LeagueInfo(PROVIDER, code, name, text(area.get("name"))))
    return out


def parse_teams(body: dict[str, Any], code: str) -> list[TeamInfo]:
    """``/v4/competitions/{code}/teams`` answer."""
    competition = sub(body, "competition")
    league_name = text(competition.get("name"))
    out = []
    for team in dicts(body.get("teams")):
        team_id, name = text(team.get("id")), text(team.get("name"))
        area = sub(team, "area")
        if team_id and name:
            aliases = tuple(a for a in (text(team.get("shortName")), text(team.get("tla"))) if a)
            out.append(
                TeamInfo(
                    PROVIDER, team_id, name, text(area.get("name")), code, league_name, aliases
                )
            )
    return out
