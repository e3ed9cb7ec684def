"""The poller: APScheduler owns time; each followed match is polled at the pace of its phase.

One poll: hold the match's lease, fetch, parse, check, diff against the stored snapshot, and
publish events + the new snapshot in one fenced, atomic commit. Feed trouble is logged once
when it starts and once when it ends, backed off (``Retry-After`` obeyed), and the raw payload
of anything unreadable or contradictory is parked in ``nf:dlq:feed``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import redis.asyncio as aioredis
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from notifier import keys, streams
from notifier.diff import anomalies, diff
from notifier.errors import FeedError, FeedParseError
from notifier.events import Event
from notifier.feeds import parse
from notifier.feeds.client import FeedClient, match_request
from notifier.models import OVER_STATUSES, MatchSnapshot, MatchStatus
from notifier.scripts import LeaseLostError, commit_poll
from notifier.settings import Settings
from notifier.watch import Watch, list_watches
from workers.leasing import Holder

log = logging.getLogger("notifier.poller")
DLQ_BODY_MAX = 256 * 1024


def utcnow() -> datetime:
    """Timezone-aware now."""
    return datetime.now(UTC)


def event_fields(event: Event) -> dict[str, str]:
    """A stream entry for an event: the contract fields and the pydantic-JSON body."""
    return {
        "id": event.id,
        "type": event.type,
        "match": event.match,
        "tie": event.tie or "",
        "at": event.at.isoformat(),
        "seen": event.seen.isoformat(),
        "body": event.model_dump_json(),
    }


class Poller:
    """Polls followed matches and publishes what changed."""

    def __init__(
        self,
        r: aioredis.Redis,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        instance: str,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.r = r
        self.settings = settings
        self.instance = instance
        self.now = now
        self.clients = {n: FeedClient(session, n, p) for n, p in settings.providers.items()}
        self.failures: dict[str, int] = {}
        self.leases = Holder(r, instance, settings.streams.lease_ttl_ms)
        self.scheduler: AsyncIOScheduler | None = None

    def partition(self, watch: Watch) -> int:
        """Partition of a match: by its tie, so both legs stay in order on one stream."""
        return keys.partition_of(watch.tie or watch.key, self.settings.streams.partitions)

    async def poll(self, watch: Watch) -> MatchSnapshot | None:
        """Poll one match once; the snapshot now stored (None if not ours or it failed)."""
        p = self.partition(watch)
        lease_value = await self.leases.hold(keys.match_lease(p, watch.key))
        if lease_value is None:
            return None
        try:
            cur = await self._fetch(watch)
        except FeedError as exc:
            await self._failed(watch, exc)
            return None
        prev = await self._load(p, watch.key)
        if problems := anomalies(prev, cur):
            await self._park(watch, "; ".join(problems), cur.model_dump_json().encode())
            return prev
        events = [e.model_copy(update={"tie": watch.tie}) for e in diff(prev, cur, seen=self.now())]
        try:
            await self._commit(p, watch, lease_value, cur, events)
        except LeaseLostError as exc:
            log.warning("lease_lost", extra={"match": watch.key, "error": str(exc)})
            self.leases.forget(keys.match_lease(p, watch.key))
            return None
        self._recovered(watch)
        return cur

    async def _fetch(self, watch: Watch) -> MatchSnapshot:
        client = self.clients.get(watch.provider)
        if client is None:
            raise FeedParseError(f"no provider {watch.provider!r} configured")
        body = await client.fetch(match_request(watch.provider, watch.match_id, watch.league))
        try:
            found = parse(watch.provider, body, match=watch.match_id)
        except FeedParseError as exc:
            exc.payload = exc.payload or body
            raise
        if not found:
            raise FeedParseError(f"match {watch.key} not in the payload", payload=body)
        return found[0]

    async def _load(self, p: int, match: str) -> MatchSnapshot | None:
        raw = await self.r.get(keys.snapshot(p, match))
        return MatchSnapshot.model_validate_json(raw) if raw else None

    async def _commit(
        self, p: int, watch: Watch, lease_value: str, cur: MatchSnapshot, events: list[Event]
    ) -> None:
        await commit_poll(
            self.r,
            lease=keys.match_lease(p, watch.key),
            lease_value=lease_value,
            snapshot_key=keys.snapshot(p, watch.key),
            snapshot=cur.model_dump_json(),
            stream=keys.events(p),
            maxlen=self.settings.streams.maxlen,
            entries=[event_fields(e) for e in events],
        )
        for e in events:
            log.info("event", extra={"match": e.match, "event_id": e.id, "type": e.type})
        if cur.status in OVER_STATUSES:
            await self.r.set(keys.match_done(p, watch.key), cur.status.value)

    async def _failed(self, watch: Watch, exc: FeedError) -> None:
        n = self.failures.get(watch.key, 0) + 1
        self.failures[watch.key] = n
        if n == 1:
            log.warning(
                "feed_failing",
                extra={"match": watch.key, "error": str(exc), "status": exc.status},
            )
        if isinstance(exc, FeedParseError) or (exc.payload is not None and exc.status == 200):
            await self._park(watch, str(exc), exc.payload or b"")
        self._back_off(watch, n, exc.retry_after)

    def _recovered(self, watch: Watch) -> None:
        n = self.failures.pop(watch.key, 0)
        if n:
            log.info("feed_recovered", extra={"match": watch.key, "failed_polls": n})

    async def _park(self, watch: Watch, reason: str, body: bytes) -> None:
        log.warning("feed_payload_parked", extra={"match": watch.key, "reason": reason})
        await streams.dead_letter(
            self.r,
            "feed",
            source_stream=watch.provider,
            entry_id=watch.key,
            fields={"match": watch.key, "body": body[:DLQ_BODY_MAX].decode("utf-8", "replace")},
            reason=reason,
            maxlen=self.settings.streams.maxlen,
        )

    def _back_off(self, watch: Watch, failures: int, retry_after: float | None) -> None:
        if self.scheduler is None:
            return
        base = self.interval(MatchStatus.FIRST_HALF)
        delay = min(base * 2 ** min(failures, 10), self.settings.poll.max_backoff_s)
        delay = max(delay * random.uniform(0.5, 1.0), retry_after or 0.0)
        job = self.scheduler.get_job(watch.key)
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC) + timedelta(seconds=delay))

    def interval(self, status: MatchStatus | None) -> float:
        """Seconds between polls in a phase."""
        poll = self.settings.poll
        if status == MatchStatus.HALF_TIME:
            return poll.half_time_s
        if status in (None, MatchStatus.SCHEDULED, MatchStatus.POSTPONED):
            return poll.pre_match_s
        return poll.live_s

    async def tick(self, watch: Watch) -> None:
        """The scheduled job of one match: poll, then fit the pace to the phase (or stop)."""
        snap = await self.poll(watch)
        if snap is None or self.scheduler is None:
            return
        if snap.status in OVER_STATUSES:
            log.info("match_over", extra={"match": watch.key, "status": str(snap.status)})
            self._unschedule(watch.key)
            self.leases.forget(keys.match_lease(self.partition(watch), watch.key))
            return
        self._pace(watch, self.interval(snap.status))

    def _pace(self, watch: Watch, seconds: float) -> None:
        assert self.scheduler is not None
        job = self.scheduler.get_job(watch.key)
        if job is not None and job.trigger.interval.total_seconds() != seconds:
            trigger = self._trigger(seconds)
            self.scheduler.reschedule_job(watch.key, trigger=trigger)

    def _trigger(self, seconds: float) -> IntervalTrigger:
        jitter = min(self.settings.poll.jitter_s, seconds / 4)
        return IntervalTrigger(seconds=seconds, jitter=jitter or None)

    def _unschedule(self, job_id: str) -> None:
        if self.scheduler is not None and self.scheduler.get_job(job_id) is not None:
            self.scheduler.remove_job(job_id)

    async def sync(self) -> None:
        """Schedule every followed match that is not over; drop jobs of unfollowed ones."""
        assert self.scheduler is not None
        watches = {w.key: w for w in await list_watches(self.r)}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("sync") is False and job.id not in watches:
                job.remove()
        for key, watch in watches.items():
            if self.scheduler.get_job(key) is not None:
                continue
            if await self.r.exists(keys.match_done(self.partition(watch), key)):
                continue
            self.scheduler.add_job(
                self.tick,
                self._trigger(self.interval(None)),
                args=[watch],
                id=key,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(self.settings.poll.pre_match_s) + 1,
                next_run_time=datetime.now(UTC),
            )

    def start(self, scheduler: AsyncIOScheduler, sync_every: float) -> None:
        """Attach to a running scheduler: a sync job now and every ``sync_every`` seconds."""
        self.scheduler = scheduler
        scheduler.add_job(
            self.sync,
            IntervalTrigger(seconds=sync_every),
            id="sync",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
