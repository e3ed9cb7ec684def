"""Heartbeats: written with a TTL, found by SCAN, survive a failing server, cancel cleanly."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.connect import connect
from notifier.bus.embedded import free_port
from notifier.bus.heartbeat import beat, clear, fresh_heartbeats, run_heartbeat

pytestmark = pytest.mark.integration


async def test_beats_are_found_with_their_time(redis: Redis) -> None:
    clock = itertools.count(1000.0, 5.0)
    await run_heartbeat(
        redis, "poller", "host-1", interval_s=0.2, ttl_s=30, clock=lambda: next(clock), beats=2
    )
    await beat(redis, "dispatcher", "host-2", ttl_s=30, now=42.5)
    await redis.set(keys.snapshot(0, "m1"), "{}")
    ours = {"poller:host-1", "dispatcher:host-2"}  # not an API another test left beating
    found = await fresh_heartbeats(redis)
    assert {k: v for k, v in found.items() if k in ours} == {
        "poller:host-1": 1005.0,
        "dispatcher:host-2": 42.5,
    }
    assert 0 < await redis.pttl(keys.heartbeat("poller", "host-1")) <= 30_000
    await clear(redis, "poller", "host-1")
    assert (await fresh_heartbeats(redis)).keys() & ours == {"dispatcher:host-2"}


async def test_heartbeat_task_stops_when_cancelled(redis: Redis) -> None:
    key = keys.heartbeat("aggregator", "host-3")
    task = asyncio.create_task(run_heartbeat(redis, "aggregator", "host-3", interval_s=0.01))
    async with asyncio.timeout(5):
        for _ in range(1000):
            if await redis.exists(key):
                break
            await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_unreachable_server_is_logged_once_and_never_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = connect(f"redis://127.0.0.1:{free_port()}/0", retries=0)
    caplog.set_level(logging.INFO, logger="notifier.heartbeat")
    await run_heartbeat(dead, "poller", "host-4", interval_s=0.01, beats=3)
    assert [r.getMessage() for r in caplog.records] == ["heartbeat_failing"]
    await dead.aclose()


async def test_heartbeat_ttl_defaults_to_three_intervals(redis: Redis) -> None:
    await run_heartbeat(redis, "poller", "host-9", interval_s=2.0, beats=1)
    assert 5_000 < await redis.pttl(keys.heartbeat("poller", "host-9")) <= 6_000
