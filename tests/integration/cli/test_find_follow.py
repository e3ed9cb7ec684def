"""Find and follow against the replay feed of each provider: team search, competitions, the
follows of a team (refused, with the candidates, when a name means several teams or none),
``/v1/follows`` with the API's auth, and a running poller that picks a new follow up at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from redis.asyncio import Redis

from notifier.bus.follows import Follow, add_follow, list_follows
from notifier.bus.watches import list_watches
from notifier.errors import EnvelopeError, NotFoundError
from notifier.feeds import registry
from notifier.feeds.requests import Request
from notifier.replay.espn import load_scoreboard
from notifier.replay.football_data import load_matches
from notifier.replay.server import ReplayServer, load_recording, start_replay_server
from notifier.settings import Settings
from tests.integration.api.test_api import A, serving
from tests.integration.deliver.test_delivery_support import settings_for
from tests.recordings import ESPN_MLS, FD_MAN_CITY, SPAIN_CROATIA, read
from workers.cli.finder import Finder
from workers.poll.poller import Poller


@pytest.fixture
async def feed() -> AsyncIterator[ReplayServer]:
    server = await start_replay_server(
        [load_recording(SPAIN_CROATIA)],
        espn=load_scoreboard(orjson.loads(read(ESPN_MLS))),
        football_data=load_matches(orjson.loads(read(FD_MAN_CITY))),
        speed=60.0,
        start_offset=-600.0,
    )
    async with server:
        yield server


def pointed(base: Settings, url: str) -> Settings:
    providers = base.providers
    for name, p in base.providers.items():
        providers = providers.replace(name, p.model_copy(update={"base_url": url}))
    return base.model_copy(update={"providers": providers})


async def test_espn_search_leagues_and_follows(feed: ReplayServer) -> None:
    settings = pointed(Settings.load(None), feed.url)
    async with aiohttp.ClientSession() as s:
        espn = Finder(s, settings, "espn")
        assert [(x.id, x.name) for x in await espn.leagues()] == [("usa.1", "Major League Soccer")]
        [orlando] = await espn.search("orlando")
        assert (orlando.id, orlando.name, orlando.league) == ("12011", "Orlando City SC", "usa.1")
        assert [t.id for t in await espn.search("MONTREAL")] == ["9720"], "accents, case"
        with pytest.raises(NotFoundError, match=r"17606 New York City FC.*190 New York Red Bulls"):
            await espn.team_follows("New York")
        with pytest.raises(NotFoundError, match="no team 'Arsenal' at espn"):
            await espn.team_follows("Arsenal")
        _, [follow] = await espn.team_follows("new york city fc")
        assert (follow.id, follow.teams, follow.team_names) == (
            "espn:usa.1",
            ["17606"],
            {"17606": "New York City FC"},
        )


async def test_football_data_and_api_football_follows(feed: ReplayServer) -> None:
    settings = pointed(Settings.load(None), feed.url)
    async with aiohttp.ClientSession() as s:
        fd = Finder(s, settings, "football-data")
        assert {x.id for x in await fd.leagues()} >= {"PL", "CL"}
        team, follows = await fd.team_follows("Man City")
        assert (team.id, sorted(f.league for f in follows)) == ("65", ["CL", "PL"])
        af = Finder(s, settings, "api-football")
        team, [follow] = await af.team_follows("Croatia")
        assert (follow.provider, follow.league, follow.season, follow.teams) == (
            "api-football",
            "4",
            2024,
            [team.id],
        )


async def test_a_running_poller_picks_up_a_new_follow(redis: Redis, feed: ReplayServer) -> None:
    settings = pointed(Settings.load(None, redis_url="redis://unused"), feed.url)
    async with aiohttp.ClientSession() as s:
        poller = Poller(redis, s, settings, instance="solo", now=lambda: datetime.now(UTC))
        await poller.sync()
        assert await list_watches(redis) == []
        await add_follow(redis, Follow(provider="espn", league="usa.1", teams=["17606"]))
        await poller.sync()
    [watch] = await list_watches(redis)
    assert (watch.key, watch.title) == ("espn:623597", "New York City FC v New York Red Bulls")


async def test_follows_under_the_api(redis: Redis, redis_url: str) -> None:
    body: dict[str, Any] = {"provider": "espn", "league": "eng.1", "teams": ["Arsenal"]}
    async with (
        serving(settings_for(redis_url), redis) as (base, _),
        aiohttp.ClientSession(base) as http,
    ):
        async with http.post("/v1/follows", json=body) as resp:
            assert resp.status == 401, "same auth as the rest of the API"
        async with http.post("/v1/follows", json=body, headers=A) as resp:
            assert resp.status == 201
            assert (await resp.json())["id"] == "espn:eng.1"
        async with http.post("/v1/follows", json={**body, "lague": "x"}, headers=A) as resp:
            assert resp.status == 422
        async with http.get("/v1/follows", headers=A) as resp:
            [shown] = (await resp.json())["follows"]
        assert (shown["teams"], shown["source"]) == (["Arsenal"], "stored")
        async with http.get("/openapi.json", headers=A) as resp:
            paths = (await resp.json())["paths"]
        assert {"get", "post"} <= set(paths["/v1/follows"]) and "delete" in paths[
            "/v1/follows/{id}"
        ]
        async with http.delete("/v1/follows/espn:eng.1", headers=A) as resp:
            assert resp.status == 204
        async with http.delete("/v1/follows/espn:eng.1", headers=A) as resp:
            assert resp.status == 404
    assert await list_follows(redis) == []


async def test_api_football_quota_envelope_is_the_same_error_for_finder_and_poller() -> None:
    # API-Football answers a spent quota with HTTP 200 and an error document: the finder and the
    # poller's split of the very same answer raise one EnvelopeError (status 429, an hour's wait).
    envelope = {"get": "leagues", "errors": {"requests": "You have reached the request limit"}}

    async def quota(request: web.Request) -> web.Response:
        return web.json_response({**envelope, "results": 0, "response": []})

    app = web.Application()
    app.router.add_get("/{tail:.*}", quota)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        settings = pointed(Settings.load(None), url)
        async with aiohttp.ClientSession() as s:
            finder = Finder(s, settings, "api-football")
            with pytest.raises(EnvelopeError) as by_finder:
                await finder.leagues()
            body = await finder.client.fetch(Request("/fixtures", (("ids", "1-2"),)))
        with pytest.raises(EnvelopeError) as by_poller:
            registry.get("api-football").split(body)
    finally:
        await runner.cleanup()
    a, b = by_finder.value, by_poller.value
    assert (str(a), a.status, a.retry_after) == (str(b), b.status, b.retry_after)
    assert (a.status, a.retry_after) == (429, 3600.0) and "request limit" in str(a)
