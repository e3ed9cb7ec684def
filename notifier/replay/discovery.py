"""Discovery calls of the replay feed, answered from what the recordings hold: the teams and
competitions ``notifier teams search``, ``leagues`` and ``follow`` ask for, so the whole journey
(find, follow, run) works offline against ``notifier replay-server``.

ESPN ``soccer/leagues`` and ``soccer/{slug}/teams``; football-data ``/v4/competitions`` and
``/v4/competitions/{code}/teams``; API-Football ``/teams?search=`` and ``/leagues``. Each lists
the teams and competitions of the recorded matches, in the provider's own shapes.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from notifier.feeds.catalog import fold
from notifier.replay.state import STATE, ReplayState, record

ESPN = "/apis/site/v2/sports/soccer"


def add_routes(app: web.Application, prefix: str = "") -> None:
    """Register the discovery routes (under ``prefix``)."""
    app.router.add_get(prefix + ESPN + "/leagues", espn_leagues)
    app.router.add_get(prefix + ESPN + "/{league}/teams", espn_teams)
    app.router.add_get(prefix + "/v4/competitions", fd_competitions)
    app.router.add_get(prefix + "/v4/competitions/{code}/teams", fd_teams)
    app.router.add_get(prefix + "/teams", af_teams)
    app.router.add_get(prefix + "/leagues", af_leagues)


def _json(body: object) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def _espn_competitors(state: ReplayState, slug: str) -> list[dict[str, Any]]:
    teams: dict[str, dict[str, Any]] = {}
    for replay in state.espn.values():
        if replay.league_slug != slug:
            continue
        for comp in replay.template.get("competitions") or []:
            for side in comp.get("competitors") or []:
                team = side.get("team") or {}
                if team.get("id") is not None:
                    teams.setdefault(str(team["id"]), team)
    return list(teams.values())


async def espn_leagues(request: web.Request) -> web.Response:
    """``GET .../soccer/leagues``: the recorded events' leagues."""
    state = request.app[STATE]
    record(request, "espn/leagues", ())
    leagues = {m.league_slug: m.league for m in state.espn.values()}
    return _json({"leagues": [_espn_league(x) for x in leagues.values()]})


def _espn_league(league: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "uid", "name", "abbreviation", "slug", "midsizeName")
    return {k: league[k] for k in keep if k in league}


async def espn_teams(request: web.Request) -> web.Response:
    """``GET .../soccer/{league}/teams``: the teams of the recorded events of that league."""
    state = request.app[STATE]
    slug = request.match_info["league"]
    league = next((m.league for m in state.espn.values() if m.league_slug == slug), None)
    record(request, "espn/teams", ())
    if league is None:  # ESPN's answer to a slug it does not know
        return web.Response(
            status=400,
            body=orjson.dumps({"code": 400, "message": "Failed to get league teams"}),
            content_type="application/json",
        )
    teams = [{"team": t} for t in _espn_competitors(state, slug)]
    block = {**_espn_league(league), "teams": teams}
    return _json({"sports": [{"id": "600", "name": "Soccer", "leagues": [block]}]})


def _fd_competitions(state: ReplayState) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for replay in state.football_data.values():
        comp = replay.template.get("competition") or {}
        if comp.get("code"):
            area = replay.template.get("area") or {}
            out.setdefault(str(comp["code"]), {**comp, "area": area})
    return out


async def fd_competitions(request: web.Request) -> web.Response:
    """``GET /v4/competitions``."""
    comps = list(_fd_competitions(request.app[STATE]).values())
    record(request, "v4/competitions", ())
    return _json({"count": len(comps), "filters": {}, "competitions": comps})


async def fd_teams(request: web.Request) -> web.Response:
    """``GET /v4/competitions/{code}/teams``."""
    state = request.app[STATE]
    code = request.match_info["code"]
    comp = _fd_competitions(state).get(code)
    record(request, "v4/competitions/teams", ())
    if comp is None:
        body = {"message": "The resource you are looking for does not exist.", "errorCode": 404}
        return web.Response(status=404, body=orjson.dumps(body), content_type="application/json")
    teams: dict[str, dict[str, Any]] = {}
    for replay in state.football_data.values():
        if replay.competition == code:
            for side in ("homeTeam", "awayTeam"):
                team = replay.template.get(side) or {}
                if team.get("id") is not None:
                    teams.setdefault(str(team["id"]), team)
    return _json({"count": len(teams), "competition": comp, "teams": list(teams.values())})


def _af_fixtures(state: ReplayState) -> list[dict[str, Any]]:
    return [t.fixture_at(t.end) for t in state.timelines.values()]


def _envelope(path: str, request: web.Request, items: list[Any]) -> web.Response:
    head = {"get": path, "parameters": dict(request.query), "errors": [], "results": len(items)}
    return _json({**head, "paging": {"current": 1, "total": 1}, "response": items})


async def af_teams(request: web.Request) -> web.Response:
    """``GET /teams?search=`` (or ``?id=``): teams of the recorded fixtures."""
    state = request.app[STATE]
    query = fold(request.query.get("search", ""))
    wanted_id = request.query.get("id")
    teams: dict[str, dict[str, Any]] = {}
    for fixture in _af_fixtures(state):
        country = (fixture.get("league") or {}).get("country")
        for side in ("home", "away"):
            team = (fixture.get("teams") or {}).get(side) or {}
            name = str(team.get("name") or "")
            if (wanted_id and str(team.get("id")) == wanted_id) or (query and query in fold(name)):
                item = {"id": team.get("id"), "name": name, "code": None, "country": country}
                teams.setdefault(str(team.get("id")), {"team": item, "venue": {}})
    record(request, "teams", ())
    return _envelope("teams", request, list(teams.values()))


async def af_leagues(request: web.Request) -> web.Response:
    """``GET /leagues`` (``?team=``): the recorded fixtures' leagues, current season."""
    state = request.app[STATE]
    team = request.query.get("team")
    leagues: dict[str, dict[str, Any]] = {}
    for fixture in _af_fixtures(state):
        sides = [
            str(((fixture.get("teams") or {}).get(s) or {}).get("id")) for s in ("home", "away")
        ]
        if team is not None and team not in sides:
            continue
        league = fixture.get("league") or {}
        item = {
            "league": {"id": league.get("id"), "name": league.get("name"), "type": "Cup"},
            "country": {"name": league.get("country")},
            "seasons": [{"year": league.get("season"), "current": True}],
        }
        leagues.setdefault(str(league.get("id")), item)
    record(request, "leagues", ())
    return _envelope("leagues", request, list(leagues.values()))
