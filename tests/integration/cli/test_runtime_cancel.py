"""A pipeline whose task is cancelled from outside takes its workers with it."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.settings import Settings
from tests.integration.deliver.test_delivery_support import eventually
from workers.cli import runtime


@pytest.mark.timeout(30)
async def test_a_cancelled_pipeline_leaves_no_worker_running(redis: Redis, redis_url: str) -> None:
    settings = Settings.load(None, redis_url=redis_url).model_copy(update={"heartbeat_s": 0.05})
    before = set(asyncio.all_tasks())
    async with contextlib.AsyncExitStack() as stack:
        pipe = await runtime.open_pipeline(settings, stack, roles=("aggregate", "dispatch"))
        task = asyncio.create_task(runtime.serve(pipe))
        beat = keys.heartbeat("aggregator", pipe.instance)

        async def beating() -> bool:
            return bool(await redis.exists(beat))

        await eventually(beating, within=10)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        left = [t.get_name() for t in asyncio.all_tasks() - before if not t.done()]
        assert left == []
        await redis.delete(beat)
        await asyncio.sleep(0.3)  # six heartbeat intervals: a stray beat would write it again
        assert not await redis.exists(beat)
