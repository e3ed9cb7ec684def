"""Consumer-group reads one stream at a time, for a cluster (a command may not span slots).

On one server a consumer reads all its partitions in one XREADGROUP. On a cluster each
partition's stream lives in its own slot, so :func:`read_each` first asks every stream at once
without blocking (concurrently, one command per stream), and only when all are empty blocks on
all of them, taking whatever answers first. The blocking reads that lose the race are
cancelled; one of them may already have been served, so its stream is returned as *unsure*:
the caller re-reads its own pending entries there (XREADGROUP from 0) before new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from notifier.bus.connect import cancel, translate_errors
from notifier.bus.streams import Entry, _per_stream, ensure_group

Read = tuple[list[Entry], set[str]]
"""Entries read, and the streams that may hold entries delivered to us but not returned."""


async def _one(
    r: aioredis.Redis, stream: str, group: str, consumer: str, start: str, **opts: Any
) -> list[Entry]:
    try:
        reply = await r.xreadgroup(group, consumer, {stream: start}, **opts)
    except ResponseError as exc:
        if not str(exc).startswith("NOGROUP"):
            raise
        await ensure_group(r, stream, group)
        return []
    return _per_stream(reply).entries


async def xreadgroup_each(
    r: aioredis.Redis, request: dict[str, str], group: str, consumer: str, *, count: int
) -> list[Any]:
    """XREADGROUP's RESP2 reply (``[[stream, rows], ...]``) for streams in different slots."""
    replies = await asyncio.gather(
        *(r.xreadgroup(group, consumer, {s: start}, count=count) for s, start in request.items())
    )
    return [row for reply in replies for row in (reply or [])]


async def read_each(
    r: aioredis.Redis,
    streams: list[str],
    group: str,
    consumer: str,
    *,
    count: int,
    block_ms: int,
) -> Read:
    """New entries of any of ``streams``: a non-blocking pass, then the first blocking answer."""
    with translate_errors(f"XREADGROUP {group}"):
        replies = await asyncio.gather(
            *(_one(r, s, group, consumer, ">", count=count) for s in streams)
        )
        found = [entry for entries in replies for entry in entries]
        if found or block_ms <= 0 or not streams:
            return found, set()
        return await _first_answer(r, streams, group, consumer, count=count, block_ms=block_ms)


async def _first_answer(
    r: aioredis.Redis, streams: list[str], group: str, consumer: str, *, count: int, block_ms: int
) -> Read:
    tasks = {
        asyncio.create_task(_one(r, s, group, consumer, ">", count=count, block=block_ms)): s
        for s in streams
    }
    found: list[Entry] = []
    unsure: set[str] = set()
    errors: list[BaseException] = []
    pending = set(tasks)
    try:
        # Until one answers with entries; reads that time out empty end together (same block).
        while pending and not found:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is not None:
                    errors.append(task.exception())  # type: ignore[arg-type]
                    unsure.add(tasks[task])
                else:
                    found += task.result()
    finally:
        with contextlib.suppress(Exception):  # a read that failed meanwhile is unsure all the same
            await cancel(*pending)
    unsure |= {tasks[task] for task in pending}
    if errors and not found:
        raise errors[0]
    return found, unsure
