"""Issue 15's attacks on the API, replayed: each gets its safe answer.

Open redirect and cookie swap, DNS rebinding without tokens, decompression before auth, the
three 500s, unbounded SSE filters and streams, the subscription cap race, the unpaginated list,
and the minor ones (HTTP/0.9, headers of the page, /readyz's cause, strict booleans, port 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from pydantic import ValidationError
from redis.asyncio import Redis

from notifier.api.app import init_app
from notifier.api.auth import owner_of
from notifier.api.page import SECURITY_HEADERS
from notifier.api.server import GuardedRunner
from notifier.bus.connect import connect
from notifier.settings import ApiSettings, Settings
from tests.counts import tried
from tests.integration.api.test_api import HOOK, A, B, serving
from tests.integration.deliver.test_delivery_support import settings_for

COOKIE_A = {"Cookie": "nf_token=token-a"}


@contextlib.asynccontextmanager
async def api(settings: Settings, r: Redis) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    async with serving(settings, r) as (base, _), aiohttp.ClientSession(base) as http:
        yield base, http


async def _raw(base: str, data: bytes, read: int = 4096) -> bytes:
    """Send raw bytes on a fresh connection; what comes back before it closes (2 s at most)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    try:
        async with asyncio.timeout(2):
            return await reader.read(read)
    finally:
        writer.close()


async def test_token_links_redirect_on_this_host_and_never_swap_a_session(
    redis: Redis, redis_url: str
) -> None:
    async with api(settings_for(redis_url), redis) as (base, http):
        for path in ("//evil.example/", "///evil.example/x", "/\\evil.example/", "/%2F%2Fevil"):
            tried("security: token-link redirects")
            request = f"GET {path}?token=token-a&x=1 HTTP/1.1\r\nHost: x\r\n\r\n"
            head = (await _raw(base, request.encode())).decode("latin-1").split("\r\n\r\n")[0]
            assert head.startswith("HTTP/1.1 303"), head
            location = head.partition("\r\nLocation: ")[2].partition("\r\n")[0]
            assert location.startswith("/") and location[1:2] not in ("/", "\\"), location
            assert location.endswith("?x=1") and "token" not in location
        # A victim with a session: an attacker's link (their own valid token) changes nothing.
        swap = "/v1/subscriptions?token=token-b"
        async with http.get(swap, headers=COOKIE_A, allow_redirects=False) as resp:
            assert resp.status == 303 and "Set-Cookie" not in resp.headers
        # A link followed from another site sets no cookie either; typed in, it does.
        for site, sets in (("cross-site", False), ("same-site", False), ("none", True)):
            headers = {"Sec-Fetch-Site": site}
            async with http.get(swap, headers=headers, allow_redirects=False) as resp:
                assert resp.status == 303 and ("Set-Cookie" in resp.headers) is sets, site
                if sets:
                    cookie = resp.headers["Set-Cookie"]
                    assert "Domain" not in cookie and "HttpOnly" in cookie


async def test_without_tokens_only_a_loopback_host_is_served(redis: Redis, redis_url: str) -> None:
    settings = settings_for(redis_url)
    settings.api = ApiSettings(tokens=[])
    async with api(settings, redis) as (_, http):
        for host in ("evil.example", "evil.example:8080", "127.0.0.1.nip.io", "10.0.0.1", ""):
            tried("security: rebinding Host headers without tokens")
            async with http.post("/v1/subscriptions", json=HOOK, headers={"Host": host}) as resp:
                assert resp.status == 403, host
        assert await redis.keys("nf:sub:*") == []
        for host in ("127.0.0.1:1", "localhost:8080", "[::1]:80", "localhost"):
            async with http.get("/v1/subscriptions", headers={"Host": host}) as resp:
                assert resp.status == 200, host
        async with http.get("/healthz", headers={"Host": "evil.example"}) as resp:
            assert resp.status == 200  # nothing to steal there


async def test_compressed_bodies_are_refused_before_any_inflating(
    redis: Redis, redis_url: str
) -> None:
    bomb = gzip.compress(b"{" + b" " * 50_000_000 + b"}", compresslevel=9)  # 50 MB inflated
    async with api(settings_for(redis_url), redis) as (_, http):
        for headers in ({}, A):
            for body in (bomb, b'{"not": "gzip"}'):
                tried("security: compressed request bodies")
                h = {**headers, "Content-Encoding": "gzip", "Content-Type": "application/json"}
                started = time.monotonic()
                async with http.post("/v1/subscriptions", data=body, headers=h) as resp:
                    assert resp.status == 415, (headers, resp.status)
                    assert resp.content_type == "application/problem+json"
                assert time.monotonic() - started < 1.0  # nothing inflated


async def test_an_event_id_beyond_64_bits_is_refused_before_the_stream(
    redis: Redis, redis_url: str
) -> None:
    async with api(settings_for(redis_url), redis) as (_, http):
        for last in ("0-99999999999999999999", "99999999999999999999-0", "0:18446744073709551616"):
            tried("security: out-of-range event ids")
            async with http.get(f"/v1/stream?last_event_id={last}", headers=A) as resp:
                assert resp.status == 422 and resp.content_type == "application/problem+json"
        async with http.get("/v1/stream?last_event_id=18446744073709551615-0", headers=A) as resp:
            assert resp.status == 200 and resp.content_type == "text/event-stream"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def api_on(settings: Settings, r: Redis) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    """The API on a free port with client ``r`` (which may lead nowhere); no heartbeat wait."""
    app = init_app(settings, r)
    runner = GuardedRunner(app, settings.api, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession(base) as http:
            yield base, http
    finally:
        await runner.cleanup()


async def test_with_redis_down_the_api_answers_503_quickly() -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"  # nothing listens there
    settings = settings_for(url)
    settings.api.redis_timeout_s = 1.0
    dead = connect(url)
    try:
        async with api_on(settings, dead) as (_, http):
            for method, body in (("GET", None), ("POST", HOOK)):
                tried("security: requests with redis down")
                started = time.monotonic()
                async with http.request(method, "/v1/subscriptions", json=body, headers=A) as resp:
                    assert resp.status == 503, await resp.text()
                    assert resp.headers["Retry-After"] and resp.content_type.endswith("json")
                assert time.monotonic() - started < 2.5
            async with http.get("/readyz", headers=A) as resp:
                reason = (await resp.json())["reason"]
            assert resp.status == 503 and reason.startswith("redis unreachable: ")
            assert len(reason) > len("redis unreachable: ") + 3, reason
    finally:
        await dead.aclose()


async def test_sse_filters_and_streams_per_token_are_bounded(redis: Redis, redis_url: str) -> None:
    settings = settings_for(redis_url)
    settings.api.sse_streams_per_token = 3
    async with api(settings, redis) as (_, http):
        many = "&".join(f"match=m{i}" for i in range(101))
        for query in (many, "team=" + "x" * 201, "match=" + ",".join(["a"] * 101)):
            tried("security: oversized SSE filters")
            async with http.get(f"/v1/stream?{query}", headers=A) as resp:
                assert resp.status == 422, query[:40]
        async with contextlib.AsyncExitStack() as streams:
            for _ in range(3):
                resp = await streams.enter_async_context(http.get("/v1/stream", headers=A))
                assert resp.status == 200
            async with http.get("/v1/stream", headers=A) as resp:
                assert resp.status == 429 and resp.headers["Retry-After"]
            async with http.get("/v1/stream", headers=B) as resp:
                assert resp.status == 200  # another token has its own streams
            async with http.get("/metrics", headers=A) as resp:
                text = await resp.text()
            assert "notifier_sse_clients 4.0" in text and "notifier_sse_dropped" in text
        await _eventually_free(http)


async def _eventually_free(http: aiohttp.ClientSession) -> None:
    """The streams closed by the client are released by the server (bounded wait)."""
    for _ in range(100):
        async with http.get("/v1/stream", headers=A) as resp:
            if resp.status == 200:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("closed streams were never released")


async def test_the_subscription_cap_holds_under_concurrent_creates(
    redis: Redis, redis_url: str
) -> None:
    settings = settings_for(redis_url)
    settings.api.max_subscriptions_per_token = 20
    async with api(settings, redis) as (_, http):

        async def create() -> int:
            tried("security: concurrent creates at the cap")
            async with http.post("/v1/subscriptions", json=HOOK, headers=A) as resp:
                return resp.status

        statuses = await asyncio.gather(*(create() for _ in range(60)))
        assert sorted(set(statuses)) == [201, 403] and statuses.count(201) == 20
        assert await redis.scard(f"nf:sub:{{sub}}:owner:{owner_of('token-a')}") == 20


async def test_lists_come_in_pages_with_a_cursor(redis: Redis, redis_url: str) -> None:
    settings = settings_for(redis_url)
    settings.api.list_page_size = 4
    async with api(settings, redis) as (_, http):
        made = set()
        for _ in range(10):
            async with http.post("/v1/subscriptions", json=HOOK, headers=A) as resp:
                made.add((await resp.json())["id"])
        seen: list[str] = []
        cursor = ""
        for _ in range(10):
            async with http.get(f"/v1/subscriptions?cursor={cursor}", headers=A) as resp:
                page = await resp.json()
            assert len(page["subscriptions"]) <= 4
            seen += [s["id"] for s in page["subscriptions"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == sorted(made)
        async with http.get("/v1/subscriptions?limit=200", headers=A) as resp:
            assert len((await resp.json())["subscriptions"]) == 10
        for query in ("limit=0", "limit=201", "limit=x", "cursor=../x"):
            async with http.get(f"/v1/subscriptions?{query}", headers=A) as resp:
                assert resp.status == 422, query


async def test_minor_findings(redis: Redis, redis_url: str) -> None:
    async with api(settings_for(redis_url), redis) as (base, http):
        for line in (b"GET /healthz\r\n\r\n", b"GET /healthz HTTP/0.9\r\n\r\n"):
            tried("security: HTTP/0.9 requests")
            answer = await _raw(base, line)
            assert b" 505 " in answer.split(b"\r\n")[0], answer[:80]
        async with http.get("/", headers=A) as resp:
            for name, value in SECURITY_HEADERS.items():
                assert resp.headers[name] == value, name
        body = HOOK | {"enabled": "yes"}
        async with http.post("/v1/subscriptions", json=body, headers=A) as resp:
            assert resp.status == 422 and "enabled" in await resp.text()
        body = HOOK | {"teams": [" " * 5 + "x" * 199]}  # 204 characters sent, 199 once stripped
        async with http.post("/v1/subscriptions", json=body, headers=A) as resp:
            assert resp.status == 422
    with pytest.raises(ValidationError):
        ApiSettings(port=0)
