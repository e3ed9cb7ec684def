"""Retention of finished matches: after ``retention_hours`` their keys and index entries go.

Without it every match left its ``nf:watch`` and ``nf:ties`` entries and its snapshot, state,
done flag and tie definition forever (5 keys a match, none with a TTL), and the poller read the
whole ``nf:watch`` hash every few seconds. A match that ends is queued in ``nf:finished`` (a
sorted set by end time); the poller's sync calls :func:`sweep`, which takes the matches ended
longer ago than the retention (``SWEEP_BATCH`` at a time: bounded work per call) and deletes
their keys, their watch entry, and the tie definition once no followed match names the tie.
Deleting (rather than a TTL set at the end) cannot be undone by a late write: the aggregator
rewrites the state, without a TTL, as it folds a match's last events.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from pydantic import ValidationError

from notifier.bus import keys
from notifier.bus.codec import text
from notifier.bus.connect import translate_errors
from notifier.domain.watch import Watch

log = logging.getLogger(__name__)
SWEEP_BATCH = 200


async def mark_finished(r: aioredis.Redis, match: str, ended_ms: int) -> None:
    """Queue a finished match for the retention (its first end time is kept)."""
    with translate_errors("retention mark"):
        await r.zadd(keys.finished(), {match: ended_ms}, nx=True)


def match_keys(p: int, match: str) -> list[str]:
    """The per-match keys of partition ``p`` that have no TTL of their own."""
    return [
        keys.snapshot(p, match),
        keys.match_state(p, match),
        keys.match_done(p, match),
        keys.pending_drop(p, match),
    ]


async def sweep(r: aioredis.Redis, now_ms: int, retention_ms: int, partitions: int) -> int:
    """Forget the matches that ended ``retention_ms`` ago or more (a batch); how many went."""
    with translate_errors("retention sweep"):
        due = await r.zrangebyscore(
            keys.finished(), "-inf", now_ms - retention_ms, start=0, num=SWEEP_BATCH
        )
        if not due:
            return 0
        matches = [text(m) for m in due if isinstance(m, bytes | str)]
        raws = await r.hmget(keys.watch(), matches)
        ties: dict[str, int] = {}
        for match, raw in zip(matches, raws, strict=True):
            watch = _watch(raw)
            routing = (watch.tie or match) if watch is not None else match
            p = keys.partition_of(routing, partitions)
            for key in match_keys(p, match):  # one by one: they may be in other cluster slots
                await r.delete(key)
            if watch is not None and watch.tie:
                ties[watch.tie] = p
        await r.hdel(keys.watch(), *matches)
        await _forget_ties(r, ties)
        await r.zrem(keys.finished(), *matches)
    log.info("retention_swept", extra={"matches": len(matches), "ties_left": len(ties)})
    return len(matches)


async def _forget_ties(r: aioredis.Redis, ties: dict[str, int]) -> None:
    """Delete the tie definitions that no followed match names any more."""
    if not ties:
        return
    still = {w.tie for w in map(_watch, (await r.hgetall(keys.watch())).values()) if w}
    for tie_id, p in ties.items():
        if tie_id not in still:
            await r.delete(keys.tie(p, tie_id))
            await r.hdel(keys.ties_index(), tie_id)


def _watch(raw: bytes | str | None) -> Watch | None:
    if raw is None:
        return None
    try:
        return Watch.model_validate_json(raw)
    except ValidationError:
        return None
