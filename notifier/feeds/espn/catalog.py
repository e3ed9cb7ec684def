"""ESPN site API: ``soccer/leagues`` (every competition: slug, name) and ``soccer/{slug}/teams``
(``sports[0].leagues[0].teams[].team``: id, displayName, shortDisplayName, abbreviation). There is
no search across leagues: a search reads the teams of the leagues in ``search_leagues``."""

from __future__ import annotations

from typing import Any

from notifier.feeds.catalog import LeagueInfo, TeamInfo, dicts, sub, text
from notifier.feeds.requests import Request

PROVIDER = "espn"
BASE = "/apis/site/v2/sports/soccer"


def leagues_request() -> Request:
    """Every soccer competition ESPN offers."""
    return Request(f"{BASE}/leagues")


def teams_request(league: str) -> Request:
    """The teams of one competition."""
    return Request(f"{BASE}/{league}/teams")


def parse_leagues(body: dict[str, Any]) -> list[LeagueInfo]:
    """``{"leagues": [{"slug", "name", ...}]}``."""
    out = []
    for item in dicts(body.get("leagues")):
        slug, name = text(item.get("slug")), text(item.get("name"))
        if slug and name:
            out.append(LeagueInfo(PROVIDER, slug, name))
    return out


def parse_teams(body: dict[str, Any], league: str) -> list[TeamInfo]:
    """``{"sports": [{"leagues": [{"slug", "name", "teams": [{"team": {...}}]}]}]}``."""
    out = []
    for sport in dicts(body.get("sports")):
        for block in dicts(sport.get("leagues")):
            slug = text(block.get("slug")) or league
            name = text(block.get("name"))
            for entry in dicts(block.get("teams")):
                team = sub(entry, "team") or entry
                info = _team(team, slug, name)
                if info is not None:
                    out.append(info)
    return out


def _team(team: dict[str, Any], league: str, league_name: str | None) -> TeamInfo | None:
    team_id, name = text(team.get("id")), text(team.get("displayName") or team.get("name"))
    if not team_id or not name:
        return None
    aliases = tuple(
        a for a in (text(team.get("shortDisplayName")), text(team.get("abbreviation"))) if a
    )
    return TeamInfo(PROVIDER, team_id, name, None, league, league_name, aliases)
