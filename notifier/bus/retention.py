"""Retention of finished matches: ``retention_hours`` after a match ended it is forgotten (its
keys, index entries and idempotency marks), and the streams drop what is older than that.

Without it every match left its ``nf:watch`` and ``nf:ties`` entries and its snapshot, state,
done flag and tie definition forever (5 keys a match, none with a TTL), its idempotency marks
for a week (one key per event and per alert), and its stream entries until ``MAXLEN`` (100,000
entries) pushed them out. A match that ends is queued in ``nf:finished`` (a sorted set by end
time, on Redis's clock); the poller's sync calls :func:`sweep`, which takes the matches ended
longer ago than the retention (``SWEEP_BATCH`` at a time: bounded work per call) and deletes
their keys, their watch entry, their marks, and the tie definition once no followed match names
the tie. Deleting (rather than a TTL set at the end) cannot be undone by a late write: the
aggregator rewrites the state, without a TTL, as it folds a match's last events.

Why a finished match's idempotency marks may go with it, and not before. A mark guards against
an item coming again: an event re-published by a poller or redelivered from the event stream
(``keys.folded``: folded once), an alert redelivered from the alert stream or folded again
(``keys.delivered``: sent once per subscription or sink; ``keys.held_marks``: held once). Once
a match is over and swept, nothing can bring its items back:

* no poller publishes it (it is done, and the sweep removes its watch);
* the streams bring back only what a stage has not settled, and the sweep checks that: it
  leaves a match for a later sweep while the aggregator has an event entry unsettled from
  before the match's end, or the dispatcher an alert entry unsettled up to the match's last
  alert (whose stream id its marks keep) (:func:`notifier.bus.streams.unsettled_from`);
* the retry lines keep what they still have to send (their own alert JSON, with its TTL); a
  delivery mark of an alert that is a line's head now is kept (its TTL ends it), since the
  head may have been sent a moment ago and not yet moved on.

The streams are trimmed by time (:func:`trim`, ``XTRIM MINID``): entries older than the
retention go, but never one a stage has not settled (so a pending entry is claimed and handled
as before) — the marks of what is trimmed guard nothing any more. An SSE client resuming from an
id older than that gets what is left, as it did past ``MAXLEN``. With ``delivery.shards`` the
shard streams are trimmed alike; the shards' own marks (routes, deliveries) keep their TTL
(``streams.seen_ttl_s``): when a shard has settled a match's alerts is not known here.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from typing import Any

import orjson
import redis.asyncio as aioredis
from pydantic import ValidationError

from notifier.bus import keys
from notifier.bus.codec import text
from notifier.bus.connect import translate_errors
from notifier.bus.lease import Lease
from notifier.bus.shards import shard_partitions
from notifier.bus.streams import StreamId, stream_id, trim_before, unsettled_from
from notifier.domain.alerts import alert_id
from notifier.domain.watch import Watch
from notifier.settings import Settings

log = logging.getLogger(__name__)
SWEEP_BATCH = 200
TRIM_EVERY_MS = 60_000  # the streams are trimmed this often (or 4 times a retention, if shorter)
DELETE_CHUNK = 500  # keys per DEL (of one partition: one slot)
RETIRE_MARGIN_MS = 60_000  # a lease still held at the sweep: its counter lapses this long after it
LAST_ALERT = b"^"  # the field of keys.folded holding the stream id of the match's last alert


async def redis_ms(r: aioredis.Redis) -> int:
    """Redis's clock (ms): the one stream entry ids are made with, whichever host asks."""
    with translate_errors("TIME"):
        seconds, micros = await r.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def mark_finished(r: aioredis.Redis, match: str, ended_ms: int | None = None) -> None:
    """Queue a finished match for the retention (its first end time is kept). The end time is
    Redis's clock now unless given: every event of the match was added before it."""
    now = await redis_ms(r) if ended_ms is None else ended_ms
    with translate_errors("retention mark"):
        await r.zadd(keys.finished(), {match: now}, nx=True)


def match_keys(p: int, match: str) -> list[str]:
    """The per-match keys of partition ``p`` that have no TTL of their own."""
    return [
        keys.snapshot(p, match),
        keys.match_state(p, match),
        keys.match_done(p, match),
        keys.pending_drop(p, match),
    ]


class Progress:
    """Per partition, read once a sweep: where the aggregator and the dispatcher stand, and
    the alerts that are retry lines' heads now."""

    def __init__(self, r: aioredis.Redis) -> None:
        self.r = r
        self._seen: dict[int, tuple[StreamId | None, StreamId | None, set[str]]] = {}

    async def of(self, p: int) -> tuple[StreamId | None, StreamId | None, set[str]]:
        """(first unsettled event, first unsettled alert, alert ids at a retry line's head)."""
        if p not in self._seen:
            events = await unsettled_from(self.r, keys.events(p), keys.GROUP_AGGREGATOR)
            alerts = await unsettled_from(self.r, keys.alerts(p), keys.GROUP_DISPATCHER)
            with translate_errors("retention: retry heads"):
                jobs = await self.r.hvals(keys.retry_jobs(p))
            self._seen[p] = (events, alerts, set(_head_alerts(jobs)))
        return self._seen[p]

    async def settled(self, p: int, ended_ms: int, last_alert: StreamId | None) -> bool:
        """Whether the stages have settled every entry a match of ``p`` can have: its events
        (all added before it ended) and its alerts (up to its last)."""
        events, alerts, _ = await self.of(p)
        if events is not None and events[0] <= ended_ms:
            return False
        return last_alert is None or alerts is None or alerts > last_alert


def _head_alerts(jobs: Iterable[bytes | str]) -> Iterable[str]:
    for raw in jobs:
        try:
            yield str(orjson.loads(raw)["alert"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue


async def sweep(r: aioredis.Redis, now_ms: int, retention_ms: int, partitions: int) -> int:
    """Forget the matches that ended ``retention_ms`` ago or more and are settled (a batch, the
    oldest first); how many went."""
    with translate_errors("retention sweep"):
        due: Any = await r.zrangebyscore(
            keys.finished(),
            "-inf",
            now_ms - retention_ms,
            start=0,
            num=SWEEP_BATCH,
            withscores=True,
        )
        if not due:
            return 0
        matches = [text(m) for m, _ in due]
        watches = [_watch(raw) for raw in await r.hmget(keys.watch(), matches)]
        progress = Progress(r)
        ties: dict[str, int] = {}
        swept: list[str] = []
        for match, (_, ended), watch in zip(matches, due, watches, strict=True):
            p = keys.partition_of(watch.tie or match if watch else match, partitions)
            if not await _forget(r, progress, p, match, int(ended)):
                continue  # a stage is behind: the marks may still be needed; a later sweep
            swept.append(match)
            if watch is not None and watch.tie:
                ties[watch.tie] = p
        if not swept:
            return 0
        await r.hdel(keys.watch(), *swept)
        await _forget_ties(r, ties)
        await r.zrem(keys.finished(), *swept)
    log.info("retention_swept", extra={"matches": len(swept), "ties_left": len(ties)})
    return len(swept)


async def _forget(r: aioredis.Redis, progress: Progress, p: int, match: str, ended: int) -> bool:
    """Delete one match's keys and marks if every stage has settled it; whether it went."""
    _, _, heads = await progress.of(p)  # first: once its events are settled, its last alert
    last = await r.hget(keys.folded(p, match), LAST_ALERT)  # read after that is its last
    if not await progress.settled(p, ended, stream_id(last) if last else None):
        return False
    for key in match_keys(p, match):  # one by one: they may be in other cluster slots
        await r.delete(key)
    await forget_marks(r, p, match, keep=heads)
    await _forget_lease(r, p, match)
    return True


async def forget_marks(r: aioredis.Redis, p: int, match: str, *, keep: Collection[str] = ()) -> int:
    """Delete a match's idempotency marks: its folded events, and its alerts' delivery and
    hold marks (but the delivery marks of the alerts in ``keep``); how many keys went."""
    with translate_errors("retention: marks"):
        folded = await r.hgetall(keys.folded(p, match))
        alerts = [
            alert_id(text(event), i)
            for event, made in folded.items()
            if event != LAST_ALERT
            for i in range(_count(made))
        ]
        doomed = [keys.folded(p, match)]
        doomed += [keys.delivered(p, a) for a in alerts if a not in keep]
        doomed += [keys.held_marks(p, a) for a in alerts]
        gone = 0
        for start in range(0, len(doomed), DELETE_CHUNK):  # one slot: the partition's
            gone += int(await r.unlink(*doomed[start : start + DELETE_CHUNK]))
    return gone


def _count(raw: bytes | str) -> int:
    try:
        return max(0, int(raw))
    except ValueError:
        return 0


async def _forget_lease(r: aioredis.Redis, p: int, match: str) -> None:
    """The match lease's token counter: it only has to grow while someone may hold a token,
    and nobody polls a finished match (a poller gives its lease up as it ends)."""
    await Lease.retire(r, keys.match_lease(p, match), RETIRE_MARGIN_MS)


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


def consumed(partitions: int, shards: int) -> list[tuple[str, str]]:
    """Every stream a stage consumes, with its group: the event and alert streams of each
    partition, and the shard streams."""
    out = []
    for p in range(partitions):
        out += [(keys.events(p), keys.GROUP_AGGREGATOR), (keys.alerts(p), keys.GROUP_DISPATCHER)]
    out += [(keys.deliver(q), keys.GROUP_DELIVERER) for q in shard_partitions(shards)]
    return out


async def trim(
    r: aioredis.Redis, now_ms: int, retention_ms: int, streams: Iterable[tuple[str, str]]
) -> int:
    """Drop the stream entries older than the retention that their group has settled; how many
    went."""
    gone = 0
    for stream, group in streams:
        before: StreamId = (now_ms - retention_ms, 0)
        first = await unsettled_from(r, stream, group)
        gone += await trim_before(r, stream, before if first is None else min(before, first))
    return gone


class Retention:
    """What the poller's sync runs: the sweep every time, the trim every ``TRIM_EVERY_MS`` (or
    four times a retention, when that is shorter)."""

    def __init__(self, r: aioredis.Redis, settings: Settings) -> None:
        self.r = r
        self.settings = settings
        self.retention_ms = max(1, int(settings.retention_hours * 3_600_000))
        self.trim_every_ms = min(TRIM_EVERY_MS, max(1, self.retention_ms // 4))
        self._trim_at = 0

    async def run(self) -> int:
        """Sweep (and trim when due); Redis's clock now (ms)."""
        now = await redis_ms(self.r)
        partitions = self.settings.streams.partitions
        await sweep(self.r, now, self.retention_ms, partitions)
        if now >= self._trim_at:
            self._trim_at = now + self.trim_every_ms
            streams = consumed(partitions, self.settings.delivery.shards)
            gone = await trim(self.r, now, self.retention_ms, streams)
            if gone:
                log.info("retention_trimmed", extra={"entries": gone})
        return now
