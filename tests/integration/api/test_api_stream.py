"""``/v1/stream`` on a real server: SSE framing, filters, heartbeats, resuming from Last-Event-ID
with no gap (one partition and several), the browser cookie, and a slow client dropped alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest
import uvloop
from redis.asyncio import Redis

from notifier.api.hub import StreamHub
from notifier.api.sse import Filter
from notifier.api.state import HUB
from notifier.bus.connect import connect
from notifier.settings import StreamSettings
from tests.integration.api.test_api import A, serving
from tests.integration.deliver.test_delivery_support import make_alert, publish, settings_for


async def _events(
    resp: aiohttp.ClientResponse, n: int, within: float = 3.0
) -> list[dict[str, str]]:
    """The next ``n`` events of a stream, as {id, event, data}; comments are skipped."""
    out: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async with asyncio.timeout(within):
        while len(out) < n:
            line = (await resp.content.readline()).decode().rstrip("\r\n")
            if not line:
                if "data" in current:
                    out.append(current)
                current = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                current[name] = value.removeprefix(" ")
    return out


async def _opened(resp: aiohttp.ClientResponse) -> None:
    """Wait for the ``: connected`` comment: from then on nothing published is missed."""
    async with asyncio.timeout(3):
        while b"connected" not in await resp.content.readline():
            pass


@pytest.fixture
async def base(redis: Redis, redis_url: str) -> AsyncIterator[str]:
    async with serving(settings_for(redis_url), redis) as (url, _):
        yield url


async def test_alerts_arrive_as_server_sent_events(redis: Redis, base: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(base + "/v1/stream?team=dortmund&kinds=goal", headers=A) as resp,
    ):
        assert resp.status == 200 and resp.content_type == "text/event-stream"
        await _opened(resp)
        first = await publish(redis, make_alert(1))
        await publish(redis, make_alert(2, kind="red_card"))  # not a kind asked for
        await publish(redis, make_alert(3, home="Inter", away="Milan"))  # not followed
        last = await publish(redis, make_alert(4))
        got = await _events(resp, 2)
    assert [e["id"] for e in got] == [first, last]
    assert {e["event"] for e in got} == {"alert"}
    data = orjson.loads(got[0]["data"])
    assert data == make_alert(1).model_validate_json(got[0]["data"]).public()
    assert data["id"] == "api-football:1:goal:1"


async def test_heartbeats_keep_an_idle_stream_open(base: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(base + "/v1/stream", headers=A) as resp,
    ):
        await _opened(resp)
        async with asyncio.timeout(2):  # sse_heartbeat_s is 0.2 in these settings
            line = b"\n"
            while line == b"\n":
                line = await resp.content.readline()
        assert line == b": keep-alive\n"


async def test_bad_filters_are_422(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for query in ("kinds=goal,own_goal", "last_event_id=yesterday"):
            async with http.get(base + "/v1/stream?" + query, headers=A) as resp:
                assert resp.status == 422, query
                assert resp.content_type == "application/problem+json"


@pytest.mark.parametrize("partitions", [1, 3])
async def test_a_client_that_reconnects_with_last_event_id_misses_nothing(
    redis: Redis, redis_url: str, partitions: int
) -> None:
    settings = settings_for(redis_url)
    settings.streams = StreamSettings(partitions=partitions, block_ms=20)
    async with serving(settings, redis) as (url, _), aiohttp.ClientSession() as http:
        async with http.get(url + "/v1/stream", headers=A) as resp:
            await _opened(resp)
            for n in range(1, 6):
                await publish(redis, make_alert(n), p=n % partitions)
            seen = await _events(resp, 2)
        last_id = seen[-1]["id"]
        for n in range(6, 9):  # published while the client is away
            await publish(redis, make_alert(n), p=n % partitions)
        headers = {**A, "Last-Event-ID": last_id}
        async with http.get(url + "/v1/stream", headers=headers) as resp:
            await _opened(resp)
            await publish(redis, make_alert(9), p=9 % partitions)
            rest = await _events(resp, 7)
            with pytest.raises(TimeoutError):
                await _events(resp, 1, within=0.3)  # and nothing twice
    minutes = [orjson.loads(e["data"])["minute"] - 20 for e in seen + rest]
    assert sorted(minutes) == list(range(1, 10))
    if partitions == 1:
        assert minutes == list(range(1, 10))  # in stream order


async def test_resume_by_query_parameter(redis: Redis, base: str) -> None:
    first = await publish(redis, make_alert(1))
    await publish(redis, make_alert(2))
    async with (
        aiohttp.ClientSession() as http,
        http.get(base + f"/v1/stream?last_event_id={first}", headers=A) as resp,
    ):
        await _opened(resp)
        (got,) = await _events(resp, 1)
    assert orjson.loads(got["data"])["minute"] == 22


async def test_the_page_cookie_authenticates_the_event_source(base: str) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with (
        aiohttp.ClientSession(cookie_jar=jar) as browser,
        browser.get(base + "/v1/stream?token=token-b&tie=t1") as resp,
    ):
        assert resp.status == 200 and resp.url.query_string == "tie=t1"  # after the 303
        await _opened(resp)


async def test_a_slow_client_is_dropped_and_nobody_else_waits(redis: Redis) -> None:
    hub = StreamHub(redis, partitions=1, block_ms=20, queue_size=3)
    slow, fast = hub.subscribe(Filter()), hub.subscribe(Filter())
    fields = {b"body": make_alert(1).model_dump_json().encode()}
    for n in range(5):
        hub.publish(0, f"{n + 1}-0", fields)
        fast.queue.get_nowait()  # this one keeps up
    assert slow.dropped and not fast.dropped and hub.dropped == 1
    assert slow not in hub.clients and fast in hub.clients
    items = [slow.queue.get_nowait() for _ in range(slow.queue.qsize())]
    assert items[-1] is None  # its stream ends; it resumes from its last id


def test_streams_are_written_to_directly_on_uvloop(redis_url: str) -> None:
    """uvloop's transports are no asyncio.Transport: the hub still writes to them itself."""
    uvloop.run(_stream_on_this_loop(redis_url))


async def _stream_on_this_loop(redis_url: str) -> None:
    r = connect(redis_url)
    try:
        async with (
            asyncio.timeout(10),
            serving(settings_for(redis_url), r) as (url, app),
            aiohttp.ClientSession() as http,
            http.get(url + "/v1/stream", headers=A) as resp,
        ):
            await _opened(resp)
            first = await publish(r, make_alert(1))
            (got,) = await _events(resp, 1)
            (client,) = list(app[HUB].clients)
            assert client.transport is not None  # direct, not through a queue and a task
            line = b"\n"
            while line == b"\n":  # and the hub's heartbeats come through (every 0.2 s here)
                line = await resp.content.readline()
            assert line == b": keep-alive\n"
    finally:
        await r.aclose()
    assert got["id"] == first


GOAL_PARTS = [
    {
        "id": "GOAL {home} {hs}-{as} {away} ({player} {minute})",
        "args": {
            "home": "home",
            "away": "away",
            "hs": 1,
            "as": 0,
            "player": "Scamacca",
            "minute": "23'",
        },
    },
    {"id": "{team} lead {hi}-{lo} on aggregate", "args": {"team": "away", "hi": 2, "lo": 1}},
]


@pytest.mark.parametrize(
    ("query", "headers", "text"),
    [
        (
            "?lang=de",
            {},
            "TOR Atalanta 1:0 Dortmund (Scamacca 23'). Dortmund führt im Gesamtstand mit 2:1",
        ),
        (
            "",
            {"Accept-Language": "fr-CH, it;q=0.9, en;q=0.8"},
            "BUT Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund mène 2-1 au cumul",
        ),
        (
            "",
            {},
            "GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate",
        ),
    ],
)
async def test_a_stream_speaks_the_language_asked_for(
    redis: Redis, base: str, query: str, headers: dict[str, str], text: str
) -> None:
    """``?lang=``, else the browser's Accept-Language, else the server's language."""
    english = "GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate"
    alert = make_alert(1, text=english, parts=GOAL_PARTS)
    async with (
        aiohttp.ClientSession() as http,
        http.get(base + "/v1/stream" + query, headers=A | headers) as resp,
    ):
        await _opened(resp)
        await publish(redis, alert)
        [got] = await _events(resp, 1)
    data = orjson.loads(got["data"])
    assert data["text"] == text
    assert (data["kind"], data["score"], data["parts"]) == (
        "goal",
        {"home": 1, "away": 0},
        GOAL_PARTS,
    )


async def test_an_unknown_stream_language_is_422(base: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(base + "/v1/stream?lang=xx", headers=A) as resp,
    ):
        assert resp.status == 422
        assert "lang" in await resp.text()
