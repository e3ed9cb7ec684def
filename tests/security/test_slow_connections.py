"""Issue 15 #5 replayed: half-sent requests neither stay open nor lock legitimate clients out.

Hundreds of connections that never finish their request head: at the connection cap the
longest-waiting one is closed to let a new client in (logged), and each is closed by the server
once ``api.header_timeout_s`` has passed. A body that trickles in after auth gets a 408.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp
import pytest
from redis.asyncio import Redis

from tests.counts import tried
from tests.integration.api.test_api import A, serving
from tests.integration.deliver.test_delivery_support import settings_for

SLOW = 300
HALF_SENT = b"GET /v1/subscriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


async def _open_half_sent(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HALF_SENT)
    await writer.drain()
    return reader, writer


async def test_half_sent_requests_are_evicted_and_timed_out(
    redis: Redis, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(redis_url)
    settings.api.max_connections = 100
    settings.api.header_timeout_s = 1.0
    caplog.set_level(logging.WARNING, logger="notifier.api")
    async with serving(settings, redis) as (base, _), aiohttp.ClientSession(base) as http:
        port = int(base.rsplit(":", 1)[1])
        slow = [await _open_half_sent(port) for _ in range(SLOW)]
        try:
            for _ in range(20):
                tried("security: requests beside half-sent connections")
                async with http.get("/healthz") as resp:
                    assert resp.status == 200
                async with http.get("/v1/subscriptions", headers=A) as resp:
                    assert resp.status == 200
            assert any(r.message == "api_connections_full" for r in caplog.records)
            started = time.monotonic()
            async with asyncio.timeout(3.0):  # every half-sent connection is closed by then
                ends = await asyncio.gather(*(reader.read() for reader, _ in slow))
            assert all(end == b"" or b" 40" in end for end in ends)
            assert time.monotonic() - started < 3.0
        finally:
            for _, writer in slow:
                writer.close()


async def test_a_trickling_body_gets_a_408(redis: Redis, redis_url: str) -> None:
    settings = settings_for(redis_url)
    settings.api.body_timeout_s = 0.5
    async with serving(settings, redis) as (base, _):
        port = int(base.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (
            "POST /v1/subscriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Authorization: Bearer token-a\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n{"
        )
        writer.write(head.encode())
        try:
            async with asyncio.timeout(3.0):
                answer = await reader.read(200)
            assert answer.startswith(b"HTTP/1.1 408"), answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
