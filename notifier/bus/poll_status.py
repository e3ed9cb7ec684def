"""Each provider's last poll, kept in Redis for ``notifier status``: when, how it went, when the
next one is due; and the same for its last fixtures lookup. Times are UTC ISO strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from notifier.bus import keys
from notifier.bus.codec import text

FIELDS = ("last_poll", "outcome", "next_poll", "fixtures_at", "fixtures_outcome")


def stamp(at: datetime | None = None) -> str:
    """An ISO UTC time, to the second."""
    return (at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()


async def record(r: aioredis.Redis, provider: str, **fields: str) -> None:
    """Set some of :data:`FIELDS` of a provider's status."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown poll status fields: {sorted(unknown)}")
    mapping: dict[Any, Any] = dict(fields)
    await r.hset(keys.poll_status(provider), mapping=mapping)


async def record_poll(
    r: aioredis.Redis, provider: str, outcome: str, next_in_s: float | None
) -> None:
    """A poll just happened: its outcome, and the next one ``next_in_s`` from now."""
    now = datetime.now(UTC)
    nxt = stamp(now + timedelta(seconds=next_in_s)) if next_in_s is not None else ""
    await record(r, provider, last_poll=stamp(now), outcome=outcome, next_poll=nxt)


async def read(r: aioredis.Redis, provider: str) -> dict[str, str]:
    """A provider's status (empty: never polled)."""
    raw = await r.hgetall(keys.poll_status(provider))
    return {text(k): text(v) for k, v in raw.items()}
