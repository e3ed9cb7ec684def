"""Consumer-group helpers shared by the workers: create, read, claim, dead-letter, measure.

Every XADD here trims with ``MAXLEN ~ maxlen`` (approximate, cheap), so no stream grows without
bound. redis-py errors come out as :class:`~notifier.errors.StoreError` (Redis said no) or
:class:`~notifier.errors.StoreUnavailableError` (Redis could not be reached); a group that
vanished (FLUSHALL, a deleted stream) is re-created instead of failing the worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import redis.asyncio as aioredis
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT, KeyT, StreamIdT

from notifier.bus import keys
from notifier.bus.codec import raw, text
from notifier.bus.connect import translate_errors

Entry = tuple[str, str, dict[bytes, bytes]]
"""One stream entry: (stream, entry id, raw fields)."""
StreamId = tuple[int, int]
"""An entry id as (milliseconds, sequence): ids compare as these tuples do."""
FieldValue = str | bytes | int | float | datetime | None
Fields = Mapping[str, bytes | str] | Mapping[bytes, bytes | str]
"""Fields to XADD: as :func:`encode_entry` makes them, or raw as read from a stream."""
# When the server cannot tell a group's lag, count the waiting entries ourselves up to this.
LAG_SCAN_CAP = 1000


class Claimed(NamedTuple):
    """Entries taken over (:func:`claim_stale`, :func:`read_own`) and ids trimmed meanwhile."""

    entries: list[Entry]
    deleted: list[str]


def _is_nogroup(exc: ResponseError) -> bool:
    return str(exc).startswith("NOGROUP")


def _encode_value(value: FieldValue) -> bytes | str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a stream entry: every timestamp must be aware")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    return value if isinstance(value, bytes | str) else str(value)


def encode_entry(**fields: FieldValue) -> dict[str, bytes | str]:
    """Stream fields from Python values (None -> "", aware datetimes -> UTC ISO 8601)."""
    return {name: _encode_value(value) for name, value in fields.items()}


def decode_fields(fields: Mapping[bytes, bytes]) -> dict[str, str]:
    """Raw stream fields as text (invalid UTF-8 is replaced, never raised)."""
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in fields.items()}


def _split(stream: str, rows: Iterable[Any], into: Claimed) -> Claimed:
    """Rows into entries, and ids whose entry was trimmed while pending (empty or nil fields)."""
    for entry_id, fields in rows:
        if fields:  # a dict already as redis-py parses it (copied only if not)
            into.entries.append(
                (stream, text(entry_id), fields if type(fields) is dict else dict(fields))
            )
        else:
            into.deleted.append(text(entry_id))
    return into


def _per_stream(reply: Any) -> Claimed:
    """XREADGROUP's reply (RESP2 list, or RESP3 map), flattened over its streams."""
    pairs = reply.items() if isinstance(reply, dict) else (reply or [])
    out = Claimed([], [])
    for stream, rows in pairs:
        # RESP3 wraps each stream's rows in one more list.
        rows = rows[0] if rows and isinstance(rows[0], list) else rows
        _split(text(stream), rows, out)
    return out


async def ensure_group(r: aioredis.Redis, stream: str, group: str) -> bool:
    """Create the group (and the stream) at id 0 so nothing already published is missed."""
    with translate_errors(f"XGROUP CREATE {stream} {group}"):
        try:
            await r.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if str(exc).startswith("BUSYGROUP"):
                return False
            raise
    return True


async def publish(r: aioredis.Redis, stream: str, fields: Fields, *, maxlen: int) -> str:
    """XADD with ``MAXLEN ~ maxlen``; returns the new entry id."""
    with translate_errors(f"XADD {stream}"):
        payload: dict[FieldT, EncodableT] = {k: v for k, v in fields.items()}
        entry_id = await r.xadd(stream, payload, maxlen=maxlen, approximate=True)
    return text(entry_id)


async def _xreadgroup(
    r: aioredis.Redis, streams: list[str], group: str, consumer: str, start: str, **opts: Any
) -> Claimed:
    request: dict[KeyT, StreamIdT] = {stream: start for stream in streams}
    with translate_errors(f"XREADGROUP {group}"):
        try:
            reply = await r.xreadgroup(group, consumer, request, **opts)
        except ResponseError as exc:
            if not _is_nogroup(exc):
                raise
            for stream in streams:
                await ensure_group(r, stream, group)
            return Claimed([], [])
    return _per_stream(reply)


async def read_group(
    r: aioredis.Redis,
    streams: list[str],
    group: str,
    consumer: str,
    *,
    count: int,
    block_ms: int,
) -> list[Entry]:
    """New entries for this consumer (XREADGROUP ``>``); ``block_ms <= 0`` does not block."""
    block = block_ms if block_ms > 0 else None
    return (await _xreadgroup(r, streams, group, consumer, ">", count=count, block=block)).entries


async def read_own(
    r: aioredis.Redis, streams: list[str], group: str, consumer: str, *, count: int
) -> Claimed:
    """This consumer's own pending entries (XREADGROUP from 0: a restart under the same name).

    Ids whose entry was trimmed while pending come back in ``deleted``: ack them.
    """
    return await _xreadgroup(r, streams, group, consumer, "0", count=count)


async def claim_stale(
    r: aioredis.Redis,
    stream: str,
    group: str,
    consumer: str,
    *,
    min_idle_ms: int,
    count: int,
    max_rounds: int = 10,
) -> Claimed:
    """Take over up to ``count`` entries idle for ``min_idle_ms`` (XAUTOCLAIM, bounded rounds)."""
    claimed = Claimed([], [])
    start = "0-0"
    with translate_errors(f"XAUTOCLAIM {stream} {group}"):
        for _ in range(max_rounds):
            want = count - len(claimed.entries)
            try:
                reply = await r.xautoclaim(stream, group, consumer, min_idle_ms, start, count=want)
            except ResponseError as exc:
                if not _is_nogroup(exc):
                    raise
                await ensure_group(r, stream, group)
                break
            start = text(reply[0])
            _split(stream, reply[1], claimed)
            claimed.deleted.extend(text(i) for i in (reply[2] if len(reply) > 2 else []))
            if start == "0-0" or len(claimed.entries) >= count:
                break
    return claimed


async def pending_elsewhere(
    r: aioredis.Redis, stream: str, group: str, consumer: str, *, count: int = 10_000
) -> list[str]:
    """Ids of up to ``count`` entries pending under consumers of ``group`` other than
    ``consumer`` (XPENDING: the summary, then the ids of each other consumer)."""
    out: list[str] = []
    with translate_errors(f"XPENDING {stream} {group}"):
        try:
            summary = await r.xpending(stream, group)
        except ResponseError as exc:
            if _is_nogroup(exc):
                return out
            raise
        for row in summary.get("consumers") or []:
            name = text(row["name"])
            if name == consumer or not int(row["pending"]) or len(out) >= count:
                continue
            rows = await r.xpending_range(
                stream, group, min="-", max="+", count=count - len(out), consumername=name
            )
            out += [text(x["message_id"]) for x in rows]  # type: ignore[arg-type]
    return out


async def adopt(
    r: aioredis.Redis, stream: str, group: str, consumer: str, entry_ids: Sequence[str]
) -> None:
    """Make pending entries ``consumer``'s (XCLAIM JUSTID: their delivery count is left as it
    is, since nobody handled them)."""
    with translate_errors(f"XCLAIM {stream} {group}"):
        for start in range(0, len(entry_ids), 1000):
            ids: list[StreamIdT] = list(entry_ids[start : start + 1000])
            await r.xclaim(stream, group, consumer, 0, ids, justid=True)


async def ack(r: aioredis.Redis, stream: str, group: str, *entry_ids: str) -> int:
    """XACK; returns how many entries were still pending."""
    with translate_errors(f"XACK {stream} {group}"):
        return int(await r.xack(stream, group, *entry_ids))


async def delivery_count(r: aioredis.Redis, stream: str, group: str, entry_id: str) -> int:
    """How many times the entry was delivered (0 if it is not pending)."""
    with translate_errors(f"XPENDING {stream} {group}"):
        rows = await r.xpending_range(stream, group, min=entry_id, max=entry_id, count=1)
    return int(rows[0]["times_delivered"]) if rows else 0


async def dead_letter(
    r: aioredis.Redis,
    stage: str,
    *,
    source_stream: str,
    entry_id: str,
    fields: Fields,
    reason: str,
    maxlen: int,
    now: datetime | None = None,
) -> str:
    """Park an entry in ``keys.dlq(stage)``: its fields plus reason, source, source_id, failed_at.

    The caller acks the source entry afterwards (the two keys may live on different nodes).
    """
    failed_at = (now or datetime.now(UTC)).astimezone(UTC).isoformat()
    parked: dict[bytes, bytes | str] = {raw(k): v for k, v in fields.items()}
    parked.update(
        {
            b"reason": reason,
            b"source": source_stream,
            b"source_id": entry_id,
            b"failed_at": failed_at,
        }
    )
    return await publish(r, keys.dlq(stage), parked, maxlen=maxlen)


async def lag(r: aioredis.Redis, stream: str, group: str) -> tuple[int, int]:
    """(lag, pending) of a group: entries not yet delivered, and delivered but not acked."""
    with translate_errors(f"XINFO GROUPS {stream}"):
        try:
            groups = await r.xinfo_groups(stream)
        except ResponseError as exc:
            if "no such key" in str(exc).lower():
                return 0, 0
            raise
        info = next((g for g in groups if text(g["name"]) == group), None)
        if info is None:
            return int(await r.xlen(stream)), 0
        waiting = info.get("lag")
        if waiting is None:
            # Unknown after entries were deleted or trimmed: count them (bounded).
            after = "(" + text(info["last-delivered-id"])
            waiting = len(await r.xrange(stream, min=after, count=LAG_SCAN_CAP) or [])
        return int(waiting), int(info["pending"])


def stream_id(entry_id: bytes | str) -> StreamId:
    """``"1700000000000-3"`` as ``(1700000000000, 3)``."""
    ms, _, seq = text(entry_id).partition("-")
    return int(ms), int(seq or 0)


async def unsettled_from(r: aioredis.Redis, stream: str, group: str) -> StreamId | None:
    """The first entry of ``stream`` that ``group`` has not settled: its oldest pending entry,
    or the first it has not read yet; None when it has settled every entry there is (or there
    is no such stream or group: then no stage reads it). Everything before it was acked: a
    stage never reads it again, so it may be trimmed, and its idempotency marks guard nothing
    the stream can bring back."""
    with translate_errors(f"XINFO GROUPS {stream}"):
        try:
            groups = await r.xinfo_groups(stream)
        except ResponseError as exc:
            if "no such key" in str(exc).lower():
                return None
            raise
        info = next((g for g in groups if text(g["name"]) == group), None)
        if info is None:
            return None
        first: StreamId | None = None
        if info.get("lag") != 0:  # unread entries after its position (or unknown: assume so)
            last = stream_id(info["last-delivered-id"])
            first = (last[0], last[1] + 1)
        if int(info["pending"]):
            summary = await r.xpending(stream, group)
            if summary.get("min"):
                oldest = stream_id(summary["min"])
                first = oldest if first is None else min(first, oldest)
    return first


async def trim_before(r: aioredis.Redis, stream: str, before: StreamId) -> int:
    """XTRIM MINID: drop the entries older than ``before`` (exact); how many went."""
    with translate_errors(f"XTRIM {stream}"):
        return int(await r.xtrim(stream, minid=f"{before[0]}-{before[1]}", approximate=False))
