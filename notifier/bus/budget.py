"""A provider's request budget, shared by every match and every replica, in Redis.

Fixed windows: a counter per minute and one per UTC day (API-Football's quota resets at
midnight UTC), checked and counted in one Lua script together with the provider-wide pause a
429 sets (``Retry-After``, else ``pause_s``). A request is made only after :meth:`Budget.take`
says so; a refused one says how long to wait. The keys of one provider share a hash tag, so
the script runs on a cluster too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import redis.asyncio as aioredis

from notifier.bus import keys
from notifier.bus.codec import text
from notifier.bus.connect import translate_errors
from notifier.bus.scripts.budget import PAUSE, TAKE
from notifier.settings import ProviderSettings

MINUTE_MS = 60_000
DAY_MS = 86_400_000


class Budget:
    """The request budget of one provider (constructor injection of Redis and a ms clock)."""

    def __init__(
        self,
        r: aioredis.Redis,
        provider: str,
        settings: ProviderSettings,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.r = r
        self.provider = provider
        self.settings = settings
        self.now_ms = now_ms
        self._take = r.register_script(TAKE)
        self._pause = r.register_script(PAUSE)

    async def take(self) -> float:
        """Count one request if the budget allows it: 0.0; else the seconds to wait, uncounted."""
        now = self.now_ms()
        minute, day = now // MINUTE_MS, now // DAY_MS
        names = [
            keys.budget(self.provider, f"m{minute}"),
            keys.budget(self.provider, f"d{day}"),
            keys.provider_pause(self.provider),
        ]
        args = [
            self.settings.requests_per_minute,
            self.settings.requests_per_day,
            (minute + 1) * MINUTE_MS - now,
            (day + 1) * DAY_MS - now,
        ]
        with translate_errors(f"budget {self.provider}"):
            wait = await self._take(keys=names, args=args)
        return int(str(wait)) / 1000

    async def pause(self, seconds: float | None) -> float:
        """Pause the provider for every replica (``None``: the configured ``pause_s``)."""
        wait = self.settings.pause_s if seconds is None else max(seconds, 1.0)
        with translate_errors(f"budget {self.provider}"):
            await self._pause(keys=[keys.provider_pause(self.provider)], args=[int(wait * 1000)])
        return wait

    async def used(self) -> tuple[int, int]:
        """Requests counted this minute and today."""
        now = self.now_ms()
        names = [
            keys.budget(self.provider, f"m{now // MINUTE_MS}"),
            keys.budget(self.provider, f"d{now // DAY_MS}"),
        ]
        with translate_errors(f"budget {self.provider}"):
            minute, day = await self.r.mget(names)
        return int(minute or 0), int(day or 0)


async def save_cadence(r: aioredis.Redis, group: str, cadence: dict[str, object]) -> None:
    """Record a poll group's live interval and why (``interval_s``, ``reason`` …) for status."""
    with translate_errors("poll cadence"):
        await r.hset(keys.poll_cadence(), group, orjson.dumps(cadence))


async def read_cadences(r: aioredis.Redis) -> dict[str, dict[str, object]]:
    """Every poll group's last recorded cadence, by ``provider:group`` (``notifier status``)."""
    with translate_errors("poll cadence"):
        raw = await r.hgetall(keys.poll_cadence())
    out: dict[str, dict[str, object]] = {}
    for name, body in raw.items():
        value = orjson.loads(body)
        if isinstance(value, dict):
            out[text(name)] = value
    return out
