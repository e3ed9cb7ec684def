"""Issue 15 #9 and #10 replayed: a Redis that accepts but never answers at start, and SIGTERM
while Redis is down.

At start the notifier gives up within ``redis_connect_timeout_s`` with one log line naming the
server (it hung for 300 s, silent, opening 28 connections). A stop with Redis gone ends within
the grace period, with no task exception left unretrieved (it took 30 s against 10 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from notifier.bus.connect import open_redis
from notifier.bus.embedded import EmbeddedServer
from notifier.errors import StoreUnavailableError
from notifier.settings import Settings
from workers.cli import runtime


async def test_a_silent_redis_at_start_is_one_clear_error(caplog: pytest.LogCaptureFixture) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def never_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # read nothing, answer nothing

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = Settings(redis_url=f"redis://127.0.0.1:{port}/0", redis_connect_timeout_s=0.5)
    caplog.set_level(logging.ERROR, logger="notifier.store")
    started = time.monotonic()
    try:
        async with contextlib.AsyncExitStack() as stack:
            with pytest.raises(StoreUnavailableError, match="redis_connect_timeout_s"):
                await open_redis(settings, stack)
    finally:
        server.close()
        for writer in accepted:
            writer.close()
    assert time.monotonic() - started < 2.0
    lines = [r for r in caplog.records if r.message == "redis_unreachable"]
    assert len(lines) == 1 and f":{port}" in lines[0].__dict__["url"]
    assert len(accepted) <= 2  # no reconnect storm


@pytest.mark.timeout(60)
async def test_a_stop_with_redis_down_ends_within_the_grace(
    server_binary: Path, tmp_path: Path
) -> None:
    unretrieved: list[Any] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, ctx: unretrieved.append(ctx.get("message")))
    try:
        took = await _stop_with_redis_gone(server_binary, tmp_path)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert took < 2.0 + 0.5, took  # shutdown_grace_s, and a little for the process
    assert not [m for m in unretrieved if "never retrieved" in str(m)], unretrieved


async def _stop_with_redis_gone(server_binary: Path, tmp_path: Path) -> float:
    """Run the pipeline, kill its Redis, stop it: how long the stop took."""
    async with EmbeddedServer(tmp_path / "redis", binary=server_binary) as server:
        settings = Settings.load(None, redis_url=server.url).model_copy(
            update={"heartbeat_s": 0.05, "shutdown_grace_s": 2.0}
        )
        settings.api.port = 0
        async with contextlib.AsyncExitStack() as stack:
            roles = ("aggregate", "dispatch", "api")
            pipe = await runtime.open_pipeline(settings, stack, roles=roles)
            task = asyncio.create_task(runtime.serve(pipe))
            await asyncio.sleep(0.5)  # the workers read and beat
            await server.kill()
            await asyncio.sleep(0.2)
            started = time.monotonic()
            pipe.stop.set()
            with contextlib.suppress(Exception):
                await task
            return time.monotonic() - started
