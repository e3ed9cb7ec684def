"""Publishing one match's poll: screened, diffed against the stored snapshot, and committed with
its events in one script fenced by the match's lease; or parked in ``nf:dlq:feed`` with the raw
body and the reason (one log line and one dead letter per distinct reason, not one per poll).

The snapshot this replica last committed is kept in memory with the lease value it committed
under: while that lease is still ours nobody else can have written, so it is the stored one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis

from notifier import metrics
from notifier.bus import keys, streams
from notifier.bus.entries import event_fields
from notifier.bus.holder import Holder
from notifier.bus.lease import Lease
from notifier.bus.retention import mark_finished
from notifier.bus.scripts import commit_poll, digest
from notifier.domain.diff import carry, diff
from notifier.domain.events import Event
from notifier.domain.feedcheck import PendingDrop, dropped, screen
from notifier.domain.models import OVER_STATUSES, MatchSnapshot, MatchStatus
from notifier.domain.watch import Watch
from notifier.errors import LeaseLostError, StaleSnapshotError
from notifier.settings import Settings

log = logging.getLogger("notifier.poller")
DLQ_BODY_MAX = 256 * 1024
PENDING_TTL_S = 3600


def utcnow() -> datetime:
    """Timezone-aware now."""
    return datetime.now(UTC)


@dataclass
class Tracked:
    """A followed match as one replica polls it: pace, last status, what it last committed."""

    watch: Watch
    partition: int
    due: float = 0.0  # monotonic time of the next poll
    status: MatchStatus | None = None
    kickoff: datetime | None = None
    has_lineups: bool = False
    stored: tuple[str, MatchSnapshot | None] | None = None  # (lease value, stored snapshot)
    digest: str = ""  # of the stored snapshot's JSON (commit_poll checks it is still stored)
    pending: bool = False  # a held score drop is stored for this match
    parked: str | None = None  # the last reason its poll was parked for
    done: bool = False

    @property
    def lease(self) -> str:
        """The match's poll lease key."""
        return keys.match_lease(self.partition, self.watch.key)


class Publisher:
    """Commits what changed in a match, once, in order, under its lease."""

    def __init__(
        self,
        r: aioredis.Redis,
        settings: Settings,
        leases: Holder,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.r = r
        self.settings = settings
        self.leases = leases
        self.now = now

    async def publish(
        self, t: Tracked, cur: MatchSnapshot, raw: bytes, *, note: str | None = None
    ) -> MatchSnapshot | None:
        """Publish a fresh snapshot of ``t``; the one stored now (None: not ours to publish).

        ``note``: what the adapter had to leave out of ``cur``, parked (once) with the raw body.
        """
        lease = self.leases.value(t.lease) or await self.leases.hold(t.lease)
        if lease is None:
            return None
        prev = await self._previous(t, lease)
        pending = await self._pending(t, prev, cur)
        verdict = screen(prev, cur, pending, now=self.now(), polls=self.settings.poll.glitch_polls)
        reason = verdict.reason or note
        if reason is not None:
            await self.park(t, reason, raw)
        else:
            t.parked = None
        await self._keep_pending(t, verdict.pending)
        if verdict.snapshot is None:
            metrics.polled(t.watch.provider, "anomaly", 0.0)
            return prev
        return await self._commit(t, lease, prev, verdict.snapshot)

    async def let_go(self, t: Tracked) -> None:
        """Give up the match's lease (if held) and forget what was stored under it."""
        token = self.leases.tokens.get(t.lease)
        self.leases.forget(t.lease)
        t.stored = None
        if token is not None:
            await Lease.release(self.r, t.lease, self.leases.owner, token)

    async def _previous(self, t: Tracked, lease: str) -> MatchSnapshot | None:
        if t.stored is not None and t.stored[0] == lease:
            return t.stored[1]
        raw = await self.r.get(keys.snapshot(t.partition, t.watch.key))
        prev = MatchSnapshot.model_validate_json(raw) if raw else None
        t.stored, t.digest = (lease, prev), digest(raw)
        return prev

    async def _pending(
        self, t: Tracked, prev: MatchSnapshot | None, cur: MatchSnapshot
    ) -> PendingDrop | None:
        if not dropped(prev, cur):
            return None
        raw = await self.r.get(keys.pending_drop(t.partition, t.watch.key))
        return PendingDrop.model_validate_json(raw) if raw else None

    async def _keep_pending(self, t: Tracked, pending: PendingDrop | None) -> None:
        key = keys.pending_drop(t.partition, t.watch.key)
        if pending is not None:
            await self.r.set(key, pending.model_dump_json(), ex=PENDING_TTL_S)
            t.pending = True
        elif t.pending:
            await self.r.delete(key)
            t.pending = False

    async def _commit(
        self, t: Tracked, lease: str, prev: MatchSnapshot | None, cur: MatchSnapshot
    ) -> MatchSnapshot | None:
        seen = self.now()
        events = [e.model_copy(update={"tie": t.watch.tie}) for e in diff(prev, cur, seen=seen)]
        cur = carry(prev, cur, events)
        if cur == prev and not events:
            return cur
        stored = cur.model_dump_json()
        try:
            await commit_poll(
                self.r,
                lease=t.lease,
                lease_value=lease,
                snapshot_key=keys.snapshot(t.partition, t.watch.key),
                snapshot=stored,
                stream=keys.events(t.partition),
                maxlen=self.settings.streams.maxlen,
                entries=[event_fields(e) for e in events],
                expected=t.digest,
            )
        except (LeaseLostError, StaleSnapshotError) as exc:
            self._not_committed(t, exc)
            return None
        t.stored, t.digest = (lease, cur), digest(stored)
        self._published(events, seen)
        if cur.status in OVER_STATUSES:
            await self.r.set(keys.match_done(t.partition, t.watch.key), cur.status.value)
            await mark_finished(self.r, t.watch.key)  # Redis's clock: after every event id
        return cur

    def _not_committed(self, t: Tracked, exc: LeaseLostError | StaleSnapshotError) -> None:
        """Nothing was written: forget what we believed stored (the next poll reads it again)."""
        stale = isinstance(exc, StaleSnapshotError)
        log.warning(
            "snapshot_stale" if stale else "lease_lost",
            extra={"match": t.watch.key, "error": str(exc)},
        )
        if not stale:
            self.leases.forget(t.lease)
        t.stored = None
        metrics.polled(t.watch.provider, "stale" if stale else "lease_lost", 0.0)

    def _published(self, events: list[Event], seen: datetime) -> None:
        metrics.published([e.type for e in events], [e.at for e in events], seen)
        for e in events:
            log.info("event", extra={"match": e.match, "event_id": e.id, "type": e.type})

    async def park(self, t: Tracked | None, reason: str, body: bytes, *, source: str = "") -> None:
        """Dead-letter a payload with the reason; a reason repeated poll after poll, once."""
        if t is not None:
            if t.parked == reason:
                return
            t.parked = reason
        match = t.watch.key if t is not None else ""
        provider = t.watch.provider if t is not None else source
        log.warning("feed_payload_parked", extra={"match": match, "reason": reason})
        metrics.dead_lettered("feed")
        await streams.dead_letter(
            self.r,
            "feed",
            source_stream=provider,
            entry_id=match or provider,
            fields={"match": match, "body": body[:DLQ_BODY_MAX].decode("utf-8", "replace")},
            reason=reason,
            maxlen=self.settings.streams.maxlen,
        )
