"""Replay routes of football-data v4 and the ESPN site API (see :mod:`notifier.replay.server`).

football-data: ``/v4/matches/{id}``, ``/v4/matches?ids=&status=&competitions=`` and
``/v4/competitions/{code}/matches?status=``, behind ``X-Auth-Token`` when a key is set (a wrong
token gets v4's 400). ESPN: ``/apis/site/v2/sports/soccer/{league}/scoreboard`` (``all`` for
every league) and ``.../summary?event=``, no key. Dates in queries (``dateFrom``, ``dates``)
are accepted and ignored: a replay is one matchday whose kick-offs are now.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from notifier.replay.state import STATE, ReplayState, record

FD_KEY_HEADER = "X-Auth-Token"
_LIVE = ("IN_PLAY", "PAUSED")


def add_routes(app: web.Application, prefix: str = "") -> None:
    """Register the football-data and ESPN routes (under ``prefix``)."""
    app.router.add_get(prefix + "/v4/matches", fd_matches)
    app.router.add_get(prefix + "/v4/matches/{id}", fd_match)
    app.router.add_get(prefix + "/v4/competitions/{code}/matches", fd_competition)
    espn = prefix + "/apis/site/v2/sports/soccer/{league}"
    app.router.add_get(espn + "/scoreboard", espn_scoreboard)
    app.router.add_get(espn + "/summary", espn_summary)


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _fd_error(status: int, message: str) -> web.Response:
    return _json({"message": message, "errorCode": status}, status)


def _fd_refused(request: web.Request) -> web.Response | None:
    expected = request.app[STATE].api_key
    if expected is None or request.headers.get(FD_KEY_HEADER) == expected:
        return None
    return _fd_error(400, "Your API token is invalid.")


def _fd_item(state: ReplayState, match_id: str, now: float) -> dict[str, Any]:
    replay = state.football_data[match_id]
    return replay.match_at(
        now, kickoff=state.clock.wall_at(0.0), updated=state.clock.wall_at(min(now, replay.end))
    )


def _fd_list(
    request: web.Request, route: str, ids: list[str], extra: dict[str, Any] | None = None
) -> web.Response:
    state = request.app[STATE]
    now = state.clock.now()
    statuses = _statuses(request.query.get("status"))
    if statuses is not None:
        ids = [i for i in ids if state.football_data[i].status_at(now) in statuses]
    record(request, route, ids)
    matches = [_fd_item(state, i, now) for i in ids]
    head = {"filters": dict(request.query), "resultSet": {"count": len(matches)}, **(extra or {})}
    return _json({**head, "matches": matches})


def _statuses(raw: str | None) -> set[str] | None:
    if not raw:
        return None
    wanted = {s.strip().upper() for s in raw.split(",")}
    return wanted | set(_LIVE) if "LIVE" in wanted else wanted


async def fd_matches(request: web.Request) -> web.Response:
    """``GET /v4/matches`` filtered by ``ids``, ``status`` and ``competitions``."""
    refused = _fd_refused(request)
    if refused is not None:
        return refused
    state = request.app[STATE]
    ids = list(state.football_data)
    if raw := request.query.get("ids"):
        wanted = [i.strip() for i in raw.split(",")]
        if not all(i.isdigit() for i in wanted):
            return _fd_error(400, "The ids filter must contain integers.")
        ids = [i for i in wanted if i in state.football_data]
    if raw := request.query.get("competitions"):
        codes = set(raw.split(","))
        ids = [i for i in ids if state.football_data[i].competition in codes]
    return _fd_list(request, "v4/matches", ids)


async def fd_match(request: web.Request) -> web.Response:
    """``GET /v4/matches/{id}``: the match object itself."""
    refused = _fd_refused(request)
    if refused is not None:
        return refused
    state = request.app[STATE]
    match_id = request.match_info["id"]
    if match_id not in state.football_data:
        return _fd_error(404, "The resource you are looking for does not exist.")
    record(request, "v4/matches/{id}", [match_id])
    return _json(_fd_item(state, match_id, state.clock.now()))


async def fd_competition(request: web.Request) -> web.Response:
    """``GET /v4/competitions/{code}/matches``: the competition's matches."""
    refused = _fd_refused(request)
    if refused is not None:
        return refused
    state = request.app[STATE]
    code = request.match_info["code"]
    ids = [i for i, m in state.football_data.items() if m.competition == code]
    return _fd_list(request, "v4/competitions/matches", ids, {"competition": {"code": code}})


async def espn_scoreboard(request: web.Request) -> web.Response:
    """``GET .../soccer/{league}/scoreboard``: every event of the league, as it stands now."""
    state = request.app[STATE]
    league = request.match_info["league"]
    replays = [m for m in state.espn.values() if league in ("all", m.league_slug)]
    now = state.clock.now()
    kickoff = state.clock.wall_at(0.0)
    record(request, "espn/scoreboard", [m.match_id for m in replays])
    leagues = {m.league_slug: m.league for m in replays}
    events = [m.event_at(now, kickoff=kickoff) for m in replays]
    return _json({"leagues": list(leagues.values()), "events": events})


async def espn_summary(request: web.Request) -> web.Response:
    """``GET .../soccer/{league}/summary?event=ID``."""
    state = request.app[STATE]
    replay = state.espn.get(request.query.get("event", ""))
    if replay is None:
        return _json({"code": 404, "message": "Failed to get event summary"}, 404)
    record(request, "espn/summary", [replay.match_id])
    return _json(replay.summary_at(state.clock.now(), kickoff=state.clock.wall_at(0.0)))
