"""A fixtures lookup that fails is tried again within minutes, backing off, and is logged once
when it starts failing and once when it recovers (not left for the next daily run)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis

from notifier.replay.football_data import load_matches
from notifier.replay.server import start_replay_server
from notifier.settings import FollowSettings
from tests.integration.poll.test_fixtures_job import recording_with_first_leg_played, settings_for
from workers.poll.poller import Poller


def _next_in(scheduler: AsyncIOScheduler) -> float:
    job = scheduler.get_job("fixtures")
    assert job is not None and job.next_run_time is not None
    return float((job.next_run_time - datetime.now(UTC)).total_seconds())


async def test_a_failed_lookup_is_retried_with_backoff_and_logged_once(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notifier.fixtures")
    replays = load_matches(recording_with_first_leg_played())
    server = await start_replay_server(
        [], football_data=replays, speed=60.0, start_offset=0.0, api_key="fd-key"
    )
    scheduler = AsyncIOScheduler()
    scheduler.start(paused=True)
    async with server, aiohttp.ClientSession() as session:
        settings = settings_for(server.url, FollowSettings(provider="football-data", league="CL"))
        settings.provider("football-data").timeout_s = 2.0
        poller = Poller(redis, session, settings, instance="solo")
        poller.start(scheduler, sync_every=3600.0)
        server.faults.status, server.faults.count = 503, 10_000
        waits = []
        for _ in range(3):
            await poller.discover()
            waits.append(_next_in(scheduler))
        assert [round(w, -1) for w in waits] == [60.0, 120.0, 240.0], "minutes, doubling"
        server.faults.count = 0
        await poller.discover()
        assert _next_in(scheduler) > timedelta(hours=23).total_seconds(), "daily again"
    scheduler.shutdown(wait=False)
    events = [r.getMessage() for r in caplog.records if r.name == "notifier.fixtures"]
    assert events.count("fixtures_failing") == 1
    assert events.count("fixtures_recovered") == 1
