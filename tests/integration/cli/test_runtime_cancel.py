"""A pipeline whose task is cancelled from outside takes its workers with it.

Cancelled once, or again and again until it ends (as ``bus.connect.cancel`` does, every 0.1 s):
the second kind used to cut the wind-down short at its first await and leave the API, its SSE
hub and its heartbeat running in the loop (a later test's ``notifier check`` saw that beat).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.connect import cancel
from notifier.settings import Settings
from tests.integration.deliver.test_delivery_support import eventually
from workers.cli import runtime


async def _cancel_once(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.mark.timeout(30)
@pytest.mark.parametrize("stop", [_cancel_once, cancel], ids=["once", "until-it-ends"])
async def test_a_cancelled_pipeline_leaves_no_worker_running(
    redis: Redis, redis_url: str, stop: Callable[[asyncio.Task[None]], Awaitable[None]]
) -> None:
    settings = Settings.load(None, redis_url=redis_url).model_copy(update={"heartbeat_s": 0.05})
    settings.api.port = 0
    before = set(asyncio.all_tasks())
    async with contextlib.AsyncExitStack() as stack:
        roles = ("aggregate", "dispatch", "api")
        pipe = await runtime.open_pipeline(settings, stack, roles=roles)
        task = asyncio.create_task(runtime.serve(pipe))

        async def beating() -> bool:
            names = [keys.heartbeat(w, pipe.instance) for w in ("aggregator", "dispatcher")]
            api = [k async for k in redis.scan_iter(match=keys.heartbeat("api", "*"))]
            return await redis.exists(*names) == 2 and bool(api)

        await eventually(beating, within=10)
        await stop(task)
        left = [t.get_name() for t in asyncio.all_tasks() - before if not t.done()]
        assert left == []
        # The API's beat ended with its task (``left``); its key names this host and process,
        # as any other in-process API's would, so only the workers' own keys are read here.
        names = [keys.heartbeat(w, pipe.instance) for w in ("aggregator", "dispatcher")]
        await redis.delete(*names)
        await asyncio.sleep(0.3)  # six heartbeat intervals: a stray beat would write it again
        assert await redis.exists(*names) == 0
