"""What the notifier follows: matches (with their tie) and tie definitions, stored in Redis."""

from __future__ import annotations

import redis.asyncio as aioredis

from notifier.bus import keys
from notifier.bus.retention import forget_marks
from notifier.domain.tie import TieSpec
from notifier.domain.watch import Watch

__all__ = [
    "Watch",
    "add_watch",
    "list_watches",
    "load_tie",
    "remove_watch",
    "reset_match",
    "save_tie",
]


async def add_watch(r: aioredis.Redis, watch: Watch) -> None:
    """Follow a match (idempotent)."""
    await r.hset(keys.watch(), watch.key, watch.model_dump_json())


async def remove_watch(r: aioredis.Redis, match: str) -> None:
    """Stop following a match."""
    await r.hdel(keys.watch(), match)


async def list_watches(r: aioredis.Redis) -> list[Watch]:
    """Every followed match."""
    raw = await r.hgetall(keys.watch())
    return [Watch.model_validate_json(v) for v in raw.values()]


async def save_tie(r: aioredis.Redis, spec: TieSpec, p: int) -> None:
    """Store a tie definition where the aggregator of its partition reads it."""
    body = spec.model_dump_json()
    await r.set(keys.tie(p, spec.id), body)
    await r.hset(keys.ties_index(), spec.id, body)


async def load_tie(r: aioredis.Redis, tie_id: str, p: int) -> TieSpec | None:
    """A tie definition, or None."""
    raw = await r.get(keys.tie(p, tie_id))
    return TieSpec.model_validate_json(raw) if raw else None


async def reset_match(r: aioredis.Redis, p: int, match: str) -> None:
    """Forget a match (snapshot, state, done flag, idempotency marks): a replay starts afresh."""
    await r.delete(keys.snapshot(p, match), keys.match_state(p, match), keys.match_done(p, match))
    await forget_marks(r, p, match)
