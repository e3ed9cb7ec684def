"""A provider's request budget in Redis: per minute and per day, shared, paused by a 429."""

from __future__ import annotations

from redis.asyncio import Redis

from notifier.bus.budget import DAY_MS, MINUTE_MS, Budget
from notifier.settings import ProviderSettings

T0 = 1_780_000_000_000 // DAY_MS * DAY_MS + 10 * MINUTE_MS  # 00:10 UTC, some day


class Clock:
    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


async def test_per_minute_budget_is_shared_by_every_replica(redis: Redis) -> None:
    clock = Clock()
    settings = ProviderSettings(requests_per_minute=3, requests_per_day=100)
    a, b = Budget(redis, "p", settings, clock), Budget(redis, "p", settings, clock)
    assert [await a.take(), await b.take(), await a.take()] == [0.0, 0.0, 0.0]
    assert await b.take() == 60.0, "the fourth request waits for the next minute"
    clock.ms += 45_000
    assert await a.take() == 15.0
    clock.ms += 15_000
    assert await a.take() == 0.0
    assert await a.used() == (1, 4)


async def test_per_day_budget(redis: Redis) -> None:
    clock = Clock()
    budget = Budget(redis, "p", ProviderSettings(requests_per_minute=10, requests_per_day=2), clock)
    assert [await budget.take(), await budget.take()] == [0.0, 0.0]
    clock.ms += MINUTE_MS
    wait = await budget.take()
    assert wait == (DAY_MS - 11 * MINUTE_MS) / 1000, "until midnight UTC"
    clock.ms = T0 + DAY_MS
    assert await budget.take() == 0.0


async def test_a_pause_stops_every_replica_and_keeps_the_longer(redis: Redis) -> None:
    settings = ProviderSettings(pause_s=60.0)
    a, b = Budget(redis, "p", settings), Budget(redis, "p", settings)
    assert await a.pause(30.0) == 30.0
    wait = await b.take()
    assert 29.0 < wait <= 30.0
    await b.pause(5.0)  # a shorter pause does not shorten the longer one
    assert 29.0 < await a.take() <= 30.0
    assert await a.pause(None) == 60.0
    assert 59.0 < await b.take() <= 60.0
    assert await a.used() == (0, 0), "paused requests are not counted"


async def test_providers_do_not_share_budgets(redis: Redis) -> None:
    settings = ProviderSettings(requests_per_minute=1)
    assert await Budget(redis, "espn", settings).take() == 0.0
    assert await Budget(redis, "football-data", settings).take() == 0.0
