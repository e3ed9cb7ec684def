"""Budget-aware live polling against a local provider that enforces its plan and counts.

The provider (an aiohttp app on 127.0.0.1 speaking API-Football's ``/fixtures?ids=``) answers 429
once more than ``per_minute`` requests arrive in any 60 s, and 304 to an ``If-None-Match`` that
matches its ETag. The poller's live pace is chosen from the same plan: a few live matches on a
big plan are polled at the floor, many go back to what the plan allows; neither ever meets a
429, nor even a refusal of our own shared budget (the pace keeps under it by itself).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from pydantic import SecretStr
from redis.asyncio import Redis

from notifier.bus.budget import read_cadences
from notifier.bus.watches import Watch, add_watch
from notifier.replay.api_football import Timeline
from notifier.settings import PollSettings, Settings
from tests.recordings import SPAIN_CROATIA
from workers.poll.poller import Poller

KEY = "plan-key"
IN_PLAY = 1800.0  # virtual seconds into the recording: the first half


@dataclass
class PlanServer:
    """What the provider saw: request times, 304s and 429s."""

    per_minute: int
    url: str = ""
    times: list[float] = field(default_factory=list)
    not_modified: int = 0
    refused: int = 0


def fixture(match_id: int) -> bytes:
    data = orjson.loads(SPAIN_CROATIA.read_bytes())
    data["response"][0]["fixture"]["id"] = match_id
    return Timeline(copy.deepcopy(data)).fixture_json(IN_PLAY)


def plan_app(seen: PlanServer, fixtures: dict[str, bytes]) -> web.Application:
    async def fixtures_(request: web.Request) -> web.Response:
        now = time.monotonic()
        recent = [t for t in seen.times if t > now - 60.0]
        seen.times.append(now)
        if request.headers.get("x-apisports-key") != KEY or len(recent) >= seen.per_minute:
            seen.refused += 1
            return web.Response(status=429, headers={"Retry-After": "60"})
        ids = request.query.get("ids", "").split("-")
        items = b",".join(fixtures[i] for i in ids if i in fixtures)
        body = b'{"get":"fixtures","errors":[],"results":%d,"response":[%s]}' % (len(ids), items)
        etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        if request.headers.get("If-None-Match") == etag:
            seen.not_modified += 1
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type="application/json", headers={"ETag": etag})

    app = web.Application()
    app.router.add_get("/fixtures", fixtures_)
    return app


@pytest_asyncio.fixture
async def provider() -> AsyncIterator[tuple[PlanServer, dict[str, bytes]]]:
    fixtures: dict[str, bytes] = {}
    seen = PlanServer(per_minute=0)
    runner = web.AppRunner(plan_app(seen, fixtures), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    seen.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield seen, fixtures
    finally:
        await runner.cleanup()


def settings_for(redis_url: str, url: str, per_minute: int) -> Settings:
    base = Settings.load(None, redis_url=redis_url)
    feed = base.provider("api-football").model_copy(
        update={
            "base_url": url,
            "api_key": SecretStr(KEY),
            "requests_per_minute": per_minute,
            "requests_per_day": 100_000,
            "max_ids": 20,
            "lineups": False,
        }
    )
    poll = PollSettings(live_s=30.0, live_floor_s=0.25, jitter_s=0.0)
    return base.model_copy(
        update={"providers": base.providers.replace("api-football", feed), "poll": poll}
    )


async def run_poller(r: Redis, settings: Settings, seconds: float) -> Poller:
    """Tick the poller's groups as its scheduler would (every 50 ms here) for ``seconds``."""
    async with aiohttp.ClientSession() as session:
        poller = Poller(r, session, settings, instance="cadence")
        await poller.sync()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for key in sorted(poller.owned):
                await poller.run_group(key)
            await asyncio.sleep(0.05)
    return poller


async def follow(r: Redis, fixtures: dict[str, bytes], n: int) -> None:
    for i in range(n):
        match_id = str(9_100_000 + i)
        fixtures[match_id] = fixture(int(match_id))
        await add_watch(r, Watch(provider="api-football", match_id=match_id))


@pytest.mark.asyncio(loop_scope="session")
async def test_few_live_matches_on_a_big_plan_poll_at_the_floor(
    redis: Redis, redis_url: str, provider: tuple[PlanServer, dict[str, bytes]]
) -> None:
    seen, fixtures = provider
    seen.per_minute = 600
    await follow(redis, fixtures, 3)
    poller = await run_poller(redis, settings_for(redis_url, seen.url, 600), 2.0)
    group = next(iter(poller.groups.values()))
    assert (group.cadence.interval_s, group.cadence.reason) == (0.25, "floor")
    assert 5 <= len(seen.times) <= 2.0 / (0.9 * 0.25) + 1  # a request a cycle, none faster
    assert seen.not_modified >= len(seen.times) - 2  # unchanged: 304s after the first answer
    assert len(group._parsed) == 1  # the answer split once, reused on every 304
    assert seen.refused == 0 and not group.starved
    status = await read_cadences(redis)
    assert status["api-football:0"]["reason"] == "floor"
    assert status["api-football:0"]["interval_s"] == 0.25
    assert status["api-football:0"]["live"] == 3


@pytest.mark.asyncio(loop_scope="session")
async def test_many_live_matches_go_back_to_the_budget(
    redis: Redis, redis_url: str, provider: tuple[PlanServer, dict[str, bytes]]
) -> None:
    """60 live matches, 20 to a request, 30 requests a minute: 3 requests every 7.5 s (at the
    floor they would be 3 every 0.25 s, 720 a minute, and the provider would refuse most)."""
    seen, fixtures = provider
    seen.per_minute = 30
    await follow(redis, fixtures, 60)
    poller = await run_poller(redis, settings_for(redis_url, seen.url, 30), 2.0)
    group = next(iter(poller.groups.values()))
    assert group.cadence == await group.replan()  # the last tick's, with every match seen
    assert group.cadence.reason == "minute_budget"
    assert group.cadence.interval_s == pytest.approx(3 * 60 / 24)
    assert len(seen.times) == 3  # one cycle in two seconds
    assert seen.refused == 0 and not group.starved
    status = await read_cadences(redis)
    assert status["api-football:0"]["reason"] == "minute_budget"
    assert status["api-football:0"]["requests_per_cycle"] == 3
