"""The poller against a real replay server and a real Redis: bulk requests, groups split between
replicas and taken over, the shared budget, 429 / 5xx politeness, bad input, the API key.

The server's clock is injected (the test moves virtual time); the poller's intervals are tiny,
so each ``poll_all`` polls every match that is still followed.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from pydantic import SecretStr
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.watches import Watch, add_watch
from notifier.replay.api_football import Timeline
from notifier.replay.espn import load_scoreboard
from notifier.replay.server import ReplayServer, start_replay_server
from notifier.settings import PollSettings, Settings, StreamSettings
from tests.recordings import REAL, SPAIN_CROATIA
from workers.poll.poller import Poller

ESPN = REAL / "espn/mls-scoreboard-2022-09-17-live-mixed.json"
KEY = "sekret-key-123"
MIN = 60.0
FAST = PollSettings(live_s=0.01, half_time_s=0.01, pre_match_s=0.01, lineup_s=0.01, jitter_s=0.0)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def clones(n: int, first: int = 8_000_000) -> list[Timeline]:
    data = orjson.loads(SPAIN_CROATIA.read_bytes())
    out = []
    for i in range(n):
        copied = copy.deepcopy(data)
        copied["response"][0]["fixture"]["id"] = first + i
        out.append(Timeline(copied))
    return out


def settings_for(
    redis_url: str,
    url: str,
    provider: str = "api-football",
    *,
    lease_ttl_ms: int = 300,
    **over: Any,
) -> Settings:
    """Fast polling; leases that lapse in ``lease_ttl_ms`` (short, for the take-over tests: a
    round of hundreds of matches needs more on a slow machine, or its commits are fenced off)."""
    base = Settings.load(None, redis_url=redis_url)
    limits = {"requests_per_minute": 10_000, "requests_per_day": 10**6}
    feed = base.provider(provider).model_copy(
        update={"base_url": url, "api_key": SecretStr(KEY), **limits, **over}
    )
    streams = StreamSettings(lease_ttl_ms=lease_ttl_ms)
    return base.model_copy(
        update={
            "providers": base.providers.replace(provider, feed),
            "poll": FAST,
            "streams": streams,
        }
    )


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def serve(
    timelines: Iterable[Timeline], at: float, **kw: Any
) -> tuple[ReplayServer, FakeTime]:
    clock = FakeTime()
    server = await start_replay_server(
        list(timelines), speed=60.0, start_offset=at, api_key=KEY, time_fn=clock, **kw
    )
    return server, clock


def at_virtual(clock: FakeTime, server: ReplayServer, t: float) -> None:
    clock.now += (t - server.clock.now()) / server.clock.speed


async def follow(r: Redis, provider: str, ids: Iterable[str], league: str | None = None) -> None:
    for match_id in ids:
        await add_watch(r, Watch(provider=provider, match_id=match_id, league=league))


async def poller(r: Redis, session: aiohttp.ClientSession, settings: Settings, name: str) -> Poller:
    p = Poller(r, session, settings, instance=name)
    await p.sync()
    return p


async def round_(*pollers: Poller) -> int:
    """One poll of every group each poller holds (after the tiny intervals have passed)."""
    await asyncio.sleep(0.03)
    return sum([await p.poll_all() for p in pollers])


async def events(r: Redis) -> list[dict[str, Any]]:
    rows = await r.xrange(keys.events(0))
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in rows]


async def test_twenty_five_matches_cost_two_requests_a_tick(
    redis: Redis, session: aiohttp.ClientSession
) -> None:
    timelines = clones(25)
    server, clock = await serve(timelines, 30 * MIN)
    async with server:
        settings = settings_for("", server.url, lease_ttl_ms=10_000)
        await follow(redis, "api-football", (str(t.fixture_id) for t in timelines))
        p = await poller(redis, session, settings, "solo")
        assert await round_(p) == 2
        assert server.log.by_route == {"fixtures?ids": 2}
        assert set(server.log.by_match.values()) == {1}, "each match asked for once"
        stored = [
            await redis.get(keys.snapshot(0, f"api-football:{t.fixture_id}")) for t in timelines
        ]
        assert all(stored)
        at_virtual(clock, server, 4 * 3600)  # full time for everyone
        assert await round_(p) == 2
        kinds = [e["type"] for e in await events(redis)]
        assert kinds.count("goal") == 25 * 3 and kinds.count("goal_cancelled") == 0
        done = [
            await redis.exists(keys.match_done(0, f"api-football:{t.fixture_id}"))
            for t in timelines
        ]
        assert all(done)
        # A finished match's lease is given up at once (the retention retires its counter).
        leases = [keys.match_lease(0, f"api-football:{t.fixture_id}") for t in timelines]
        assert await redis.exists(*leases) == 0 and not set(leases) & set(p.leases.tokens)
        assert await round_(p) == 0, "finished matches are not polled again"


async def test_two_replicas_split_the_groups_and_one_takes_over(
    redis: Redis, session: aiohttp.ClientSession
) -> None:
    timelines = clones(40)
    server, clock = await serve(timelines, 10 * MIN)
    async with server:
        settings = settings_for("", server.url, bulk_groups=4)
        await follow(redis, "api-football", (str(t.fixture_id) for t in timelines))
        a = await poller(redis, session, settings, "a")
        b = await poller(redis, session, settings, "b")
        await a.claim()  # sees b now: gives half of the groups back
        await b.claim()
        assert len(a.owned) == len(b.owned) == 2 and not a.owned & b.owned
        server.log.reset()
        await round_(a, b)
        assert set(server.log.by_match.values()) == {1}, "no match asked for by both"
        assert len(server.log.by_match) == 40
        at_virtual(clock, server, 30 * MIN)
        await round_(a, b)
        # a dies (no more renewals); after a lease TTL b holds every group and match.
        await asyncio.sleep(0.5)
        await b.claim()
        assert len(b.owned) == 4
        at_virtual(clock, server, 4 * 3600)
        await round_(b)
        await round_(b)
    found = await events(redis)
    ids = [e["id"] for e in found]
    assert len(ids) == len(set(ids)), "no event published twice"
    for t in timelines:
        mine = [e["type"] for e in found if e["match"] == f"api-football:{t.fixture_id}"]
        assert mine.count("goal") == 3 and mine[-1] == "phase", t.fixture_id


async def test_budget_is_shared_and_a_429_pauses_every_replica(
    redis: Redis, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    timelines = clones(25)
    server, _ = await serve(timelines, 30 * MIN)
    async with server:
        settings = settings_for("", server.url, requests_per_minute=3)
        await follow(redis, "api-football", (str(t.fixture_id) for t in timelines))
        a = await poller(redis, session, settings, "a")
        assert await round_(a) == 2
        caplog.set_level(logging.INFO, logger="notifier.poller")
        assert await round_(a) == 1, "one request left this minute"
        assert await round_(a) == 0
        assert [r.message for r in caplog.records].count("budget_exhausted") == 1
        assert server.log.total == 3

        await redis.flushall()
        await follow(redis, "api-football", (str(t.fixture_id) for t in timelines))
        fresh = settings_for("", server.url)
        a, b = await poller(redis, session, fresh, "a"), await poller(redis, session, fresh, "b")
        server.faults.status, server.faults.count, server.faults.retry_after = 429, 1, "30"
        server.log.reset()
        assert await round_(a) == 0
        assert 29_000 < await redis.pttl(keys.provider_pause("api-football")) <= 30_000
        await b.sync()
        b.owned, b.groups = a.owned, a.groups  # as if b held them: still, it must not ask
        assert await round_(b) == 0
        assert server.log.total == 1 and server.log.by_route == {"fault": 1}


async def test_server_errors_back_off_and_are_logged_once(
    redis: Redis, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notifier.poller")
    timelines = clones(3)
    server, _ = await serve(timelines, 30 * MIN)
    async with server:
        settings = settings_for("", server.url)
        await follow(redis, "api-football", (str(t.fixture_id) for t in timelines))
        p = await poller(redis, session, settings, "solo")
        server.faults.status, server.faults.count = 503, 3
        [group] = p.groups.values()
        for _ in range(3):
            assert await round_(p) == 0
            assert group.resume_at > 0 and group.failures >= 1
            group.resume_at = 0.0  # skip the backoff wait
        assert await round_(p) == 1
    messages = [r.message for r in caplog.records]
    assert messages.count("feed_failing") == 1 and messages.count("feed_recovered") == 1


async def test_the_api_key_is_never_logged(
    redis: Redis, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    timelines = clones(2)
    server, _ = await serve(timelines, 30 * MIN)
    async with server:
        await follow(redis, "api-football", (str(t.fixture_id) for t in timelines))
        p = await poller(redis, session, settings_for("", server.url), "solo")
        await round_(p)
        server.faults.status, server.faults.count = 500, 1
        await round_(p)
        [group] = p.groups.values()
        group.resume_at = 0.0
        wrong = settings_for("", server.url, api_key=SecretStr("not-the-" + KEY))
        await round_(await poller(redis, session, wrong, "wrong"))
        unreachable = settings_for("", "http://127.0.0.1:9")
        await round_(await poller(redis, session, unreachable, "gone"))
    dead = await redis.xrange(keys.dlq("feed"))
    texts = [str(r.__dict__) + r.getMessage() for r in caplog.records]
    texts += [str(fields) for _, fields in dead]
    assert texts, "something was logged"
    assert not [t for t in texts if KEY in t.replace("not-the-" + KEY, "")]


async def test_a_bad_item_is_parked_once_and_costs_no_other_match(
    redis: Redis, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notifier.poller")
    replays = load_scoreboard(orjson.loads(ESPN.read_bytes()))
    detail = replays[3].template["competitions"][0]["details"][0]
    detail["team"]["id"] = "999"  # Orlando's first goal, for neither team (served as recorded)
    server, _ = await serve([], 10 * 3600, espn=replays)
    async with server:
        settings = settings_for("", server.url, "espn")
        ids = [r.match_id for r in replays]
        await follow(redis, "espn", ids, league="usa.1")
        p = await poller(redis, session, settings, "solo")
        await round_(p)
        await round_(p)
        assert server.log.by_route["espn/scoreboard"] == 2
    dead = await redis.xrange(keys.dlq("feed"))
    assert len(dead) == 1, "parked once, not once a poll"
    fields = {k.decode(): v.decode() for k, v in dead[0][1].items()}
    assert fields["match"] == "espn:623600" and "neither" in fields["reason"]
    assert orjson.loads(fields["body"])["id"] == "623600", "the raw item, as received"
    assert [r.message for r in caplog.records].count("feed_payload_parked") == 1
    stored = [i for i in ids if await redis.get(keys.snapshot(0, f"espn:{i}"))]
    assert len(stored) == 10 and "623600" not in stored


def scripted_fixture(goals: int) -> bytes:
    """Spain v Croatia at 30' with ``goals`` of Spain's goals in (no VAR event at all)."""
    data = orjson.loads(SPAIN_CROATIA.read_bytes())
    item = data["response"][0]
    item["fixture"]["status"] = {"long": "First Half", "short": "1H", "elapsed": 30, "extra": None}
    item["goals"] = {"home": goals, "away": 0}
    item["score"]["fulltime"] = item["score"]["halftime"] = {"home": None, "away": None}
    item["events"] = [e for e in item["events"] if e["type"] == "Goal"][:goals]
    item["teams"]["home"]["winner"] = item["teams"]["away"]["winner"] = None
    return orjson.dumps(data)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ([1, 0, 1, 1], ["goal"]),  # 1-0, 0-0, 1-0: a glitch
        ([1, 0, 0, 1], ["goal", "goal_cancelled", "goal"]),  # 0-0 twice: taken back, then again
    ],
)
async def test_a_score_that_flaps_down_for_one_poll_is_no_news(
    redis: Redis, session: aiohttp.ClientSession, script: list[int], expected: list[str]
) -> None:
    bodies = [scripted_fixture(n) for n in script]

    async def fixtures(request: web.Request) -> web.Response:
        body = bodies.pop(0) if len(bodies) > 1 else bodies[0]
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/fixtures", fixtures)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        await follow(redis, "api-football", ["1145511"])
        p = await poller(redis, session, settings_for("", url), "solo")
        for _ in script:
            await round_(p)
    finally:
        await runner.cleanup()
    kinds = [e["type"] for e in await events(redis) if e["type"].startswith("goal")]
    assert kinds == expected
    dead = await redis.xrange(keys.dlq("feed"))
    assert len(dead) == 1 and b"without a VAR decision" in dead[0][1][b"reason"]


async def test_a_goal_without_a_team_is_parked_once_and_the_score_still_counts(
    redis: Redis, session: aiohttp.ClientSession
) -> None:
    data = orjson.loads(scripted_fixture(1))
    data["response"][0]["events"][0]["team"] = {"id": None, "name": None}
    body = orjson.dumps(data)

    async def fixtures(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/fixtures", fixtures)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await follow(redis, "api-football", ["1145511"])
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        p = await poller(redis, session, settings_for("", url), "solo")
        for _ in range(3):
            await round_(p)
    finally:
        await runner.cleanup()
    goals = [e for e in await events(redis) if e["type"] == "goal"]
    assert len(goals) == 1 and orjson.loads(goals[0]["body"])["goal"] is None, "no scorer made up"
    dead = await redis.xrange(keys.dlq("feed"))
    assert [f[b"reason"] for _, f in dead] == [b"goal without a team at 29'"]


@pytest.mark.parametrize(("live_all_min", "per_tick"), [(0, 10), (21, 1)])
async def test_requests_per_live_match(
    redis: Redis, session: aiohttp.ClientSession, live_all_min: int, per_tick: int
) -> None:
    """200 live matches: ten ``ids`` requests a tick (1 with ``live=all``), so at the default
    15 s pace 0.2 (0.005) requests per live match per minute, against 4 polling each alone."""
    timelines = clones(200)
    server, clock = await serve(timelines, 30 * MIN)
    async with server:
        settings = settings_for(
            "",
            server.url,
            live_all_min=live_all_min,
            lease_ttl_ms=60_000,  # 200 matches' first sight must not outlast the group's lease
            requests_per_minute=10**7,
        )  # a plan that lets every round poll (the live pace is chosen from it)
        await follow(redis, "api-football", (str(t.fixture_id) for t in timelines))
        p = await poller(redis, session, settings, "solo")
        await round_(p)  # first sight: status unknown, asked for by ids
        server.log.reset()
        for minute in (31, 32, 33):
            at_virtual(clock, server, minute * MIN)
            await round_(p)
        assert server.log.total == 3 * per_tick
        per_match_per_minute = per_tick / 200 * (60 / 15.0)
        assert per_match_per_minute <= 0.5
        stored = await redis.get(keys.snapshot(0, f"api-football:{timelines[-1].fixture_id}"))
        assert stored is not None and orjson.loads(stored)["minute"] == 34, "the 34th minute"
