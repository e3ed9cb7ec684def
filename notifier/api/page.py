"""The live tie page: static HTML/CSS/JS from the package, and the JSON it starts from.

``/`` and ``/ties/{id}`` (``/matches/{key}`` for a match outside a tie) serve one page; it
fetches the tie's state and timeline so far from ``/v1/live/...``, then follows ``/v1/stream``.
The state comes from the aggregator's folded match state and the alert stream: nothing here
computes an aggregate the engine has not computed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis
from aiohttp import web
from pydantic import ValidationError

from notifier.api.health import deps
from notifier.api.stream import parse_lang
from notifier.bus import keys
from notifier.bus.codec import text
from notifier.bus.watches import Watch
from notifier.domain import render
from notifier.domain.alerts import ALERT
from notifier.domain.engine import MatchState, view
from notifier.domain.texts import localised, to_text
from notifier.domain.tie import TieSpec, align
from notifier.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"
TIMELINE_SCAN = 2000  # newest alert-stream entries searched for a tie's timeline
NO_CACHE = {"Cache-Control": "no-cache"}
# Sent with every answer: the page loads only its own files, in no frame (clickjacking), no
# answer is sniffed into another type, and a ``?token=`` URL never leaks in a Referer.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ASSETS = frozenset(p.name for p in STATIC.iterdir() if p.is_file())


def initial_state(spec: TieSpec, settings: Settings) -> MatchState:
    """The second leg before its first event: sides swapped from the first leg, 0-0."""
    first = spec.first_leg
    prior, prior_away = align(first, first.away, first.home)
    return MatchState(
        match=spec.second_leg or "",
        tie=spec.id,
        home=settings.display_name(first.away),
        away=settings.display_name(first.home),
        prior=prior,
        prior_away=prior_away,
        rules=spec.rules,
        next_round=spec.next_round,
    )


def first_leg(spec: TieSpec, settings: Settings) -> dict[str, Any]:
    """The first leg as the page shows it, in display names."""
    leg = spec.first_leg
    return {
        "home": settings.display_name(leg.home),
        "away": settings.display_name(leg.away),
        "score": leg.score.model_dump(),
    }


def board(
    state: MatchState,
    spec: TieSpec | None,
    timeline: list[dict[str, Any]],
    last_id: str | None,
    settings: Settings,
    lang: str = "en",
) -> dict[str, Any]:
    """What the page starts from: both legs, the score, the aggregate, who leads, the timeline
    (its texts in ``lang``)."""
    v = view(state)
    local = settings.names_by_lang().get(lang, {})
    teams = {"home": local.get(state.home, state.home), "away": local.get(state.away, state.away)}
    headline, needs = render.aggregate_parts(v), render.needs_parts(v)
    agg = v.standing.aggregate
    names = (state.home, state.away)
    return {
        "tie": state.tie,
        "match": state.match,
        "home": state.home,
        "away": state.away,
        "competition": state.competition,
        "next_round": state.next_round,
        "first_leg": first_leg(spec, settings) if spec else None,
        "now": {
            "score": state.score.model_dump(),
            "status": str(state.status),
            "minute": state.minute,
            "added": state.added,
            "shootout": state.shootout.model_dump() if state.shootout else None,
        },
        "aggregate": {state.home: agg.home, state.away: agg.away} if agg else None,
        "leader": v.name(v.standing.leader) if v.standing.leader else None,
        "headline": to_text(headline, lang, teams) if headline else None,
        "needs": to_text(needs, lang, teams) if needs else None,
        "lang": lang,
        "teams": {n: s.model_dump() for n in names if (s := settings.teams.get(n))},
        "timeline": timeline,
        "last_id": last_id,
    }


async def read_timeline(
    r: aioredis.Redis,
    p: int,
    field: bytes,
    value: str,
    lang: str = "en",
    names: dict[str, dict[str, str]] | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """The alerts of one tie (or match) among the newest of its partition, oldest first.

    Also the newest entry id of the stream, from which the SSE stream carries on.
    """
    rows: Any = await r.xrevrange(keys.alerts(p), count=TIMELINE_SCAN) or []
    last_id = text(rows[0][0]) if rows else "0-0"  # the SSE stream resumes after it
    wanted = value.encode()
    out: list[dict[str, Any]] = []
    for _, fields in reversed(rows):
        if fields.get(field) != wanted:
            continue
        try:
            alert = ALERT.validate_json(fields[b"body"])
            out.append(localised(alert, lang, names).public())
        except (KeyError, ValidationError):
            continue  # malformed: the dispatcher dead-letters it; the page skips it
    return out, last_id


async def load_state(r: aioredis.Redis, p: int, match: str | None) -> MatchState | None:
    """The aggregator's folded state of a match, if it has folded anything yet."""
    raw = await r.get(keys.match_state(p, match)) if match else None
    return MatchState.model_validate_json(raw) if raw else None


async def load_spec(r: aioredis.Redis, tie_id: str) -> TieSpec | None:
    """A tie definition from the tie index."""
    raw = await r.hget(keys.ties_index(), tie_id)
    return TieSpec.model_validate_json(raw) if raw else None


async def tie_board(request: web.Request) -> web.Response:
    """``GET /v1/live/ties/{id}``: the page's starting state of one tie."""
    r, settings = deps(request.app)
    tie_id = request.match_info["id"]
    spec = await load_spec(r, tie_id)
    if spec is None:
        raise web.HTTPNotFound(text=f"no tie {tie_id!r}")
    p = keys.partition_of(tie_id, settings.streams.partitions)
    state = await load_state(r, p, spec.second_leg) or initial_state(spec, settings)
    lang = _lang(request, settings)
    names = settings.names_by_lang()
    timeline, last_id = await read_timeline(r, p, b"tie", tie_id, lang, names)
    return _json(board(state, spec, timeline, last_id, settings, lang))


async def match_board(request: web.Request) -> web.Response:
    """``GET /v1/live/matches/{key}``: the same for one followed match (its tie, if any)."""
    r, settings = deps(request.app)
    key = request.match_info["key"]
    raw = await r.hget(keys.watch(), key)
    watch = Watch.model_validate_json(raw) if raw else None
    if watch is not None and watch.tie:
        raise web.HTTPFound(f"/v1/live/ties/{watch.tie}")
    p = keys.partition_of(key, settings.streams.partitions)
    state = await load_state(r, p, key)
    if state is None:
        raise web.HTTPNotFound(text=f"nothing known yet of match {key!r}")
    lang = _lang(request, settings)
    names = settings.names_by_lang()
    timeline, last_id = await read_timeline(r, p, b"match", key, lang, names)
    return _json(board(state, None, timeline, last_id, settings, lang))


def _lang(request: web.Request, settings: Settings) -> str:
    """``?lang=``, else the browser's ``Accept-Language``, else the settings' language."""
    return parse_lang(request.query, request.headers.get("Accept-Language"), settings.lang)


async def ties(request: web.Request) -> web.Response:
    """``GET /v1/live/ties``: every known tie, with a title for a list."""
    r, settings = deps(request.app)
    found = await r.hgetall(keys.ties_index())
    out = []
    for tie_id, body in sorted(found.items()):
        spec = TieSpec.model_validate_json(body)
        leg = spec.first_leg
        title = f"{settings.display_name(leg.away)} v {settings.display_name(leg.home)}"
        out.append({"tie": text(tie_id), "title": title, "second_leg": spec.second_leg})
    return _json(out)


def _json(body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json", headers=NO_CACHE)


async def page(request: web.Request) -> web.FileResponse:
    """The page itself (the same HTML for every path; its script reads the path)."""
    return web.FileResponse(STATIC / "index.html", headers=NO_CACHE)


async def asset(request: web.Request) -> web.FileResponse:
    """A file of the page (``live.js``, ...); any other name is a 404 problem like every error
    (aiohttp's static route answered a missing file with an empty octet-stream 404)."""
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def setup_page(app: web.Application) -> None:
    """Add the page, its static files and its JSON routes to the API."""
    app.on_response_prepare.append(_security_headers)
    app.router.add_get("/", page, name="page")
    app.router.add_get("/ties/{id}", page)
    app.router.add_get("/matches/{key}", page)
    app.router.add_get("/static/{name}", asset, name="static")
    app.router.add_get("/v1/live/ties", ties)
    app.router.add_get("/v1/live/ties/{id}", tie_board)
    app.router.add_get("/v1/live/matches/{key}", match_board)
