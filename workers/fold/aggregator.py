"""The aggregator: folds each event into its match (and tie) state and emits the alerts.

State update, alert XADD, the event's mark (in its match's marks, ``keys.folded``) and its XACK
happen in one fenced Lua commit, keyed by the event id, so a redelivered or re-published event
changes nothing twice. A batch
read from one partition is folded in memory (:mod:`workers.fold.batch`) and committed by one Lua
call; a redelivered entry, or one whose fold raised, is handled on its own so it can be retried and
dead-lettered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
import redis.asyncio as aioredis
from pydantic import ValidationError

from notifier import metrics
from notifier.bus import keys, streams
from notifier.bus.connect import translate_errors
from notifier.bus.consumer import Batch, Change, PartitionConsumer
from notifier.bus.scripts import commit_fold_batch
from notifier.domain.engine import event_struct
from notifier.domain.events import EVENT
from notifier.domain.models import OVER_STATUSES
from notifier.domain.structs import EVENTS, Event
from notifier.errors import LeaseLostError, StoreError
from notifier.settings import Settings
from workers.fold.batch import COMMIT_CHUNK, BatchFolder, Folded, StateCache

log = logging.getLogger("notifier.aggregator")
__all__ = ["Aggregator", "pending_work"]


class Aggregator(PartitionConsumer):
    """Consumer group ``aggregator`` on ``nf:events:{p}``."""

    worker = "aggregator"
    group = keys.GROUP_AGGREGATOR
    overlap_partitions = True
    read_ahead = True  # its throughput is its own CPU: Redis reads the next batch meanwhile

    def __init__(
        self,
        r: aioredis.Redis,
        settings: Settings,
        *,
        instance: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(r, settings, instance=instance)
        self.now = now
        self.cache = StateCache()
        self.folder = BatchFolder(r, settings, self.cache)

    def stream(self, p: int) -> str:
        """Event stream of partition p."""
        return keys.events(p)

    async def partition_event(self, p: int, change: Change) -> None:
        """Given up, lost or taken again: the cached states of p may be stale from now on."""
        if change == "gone":
            self.cache.drop_partition(p)

    async def _fold_one(
        self, p: int, entry_id: str, fields: dict[bytes, bytes], lease: str
    ) -> None:
        """Fold one event entry; malformed entries go to the dead-letter stream."""
        await self.fold(p, [(entry_id, fields)], lease, strict=True)

    async def handle(self, p: int, batch: Batch, lease: str, redelivered: bool) -> None:
        """Fold fresh entries in one commit; redelivered ones (and a failing one) one by one."""
        rest = batch
        if not redelivered:
            try:
                rest = await self.fold(p, batch, lease, strict=False)
            except StoreError:
                self.reread(p)  # nothing committed: read back from our pending list
                raise
            except Exception:
                log.exception("batch_failed", extra={"partition": p, "entries": len(batch)})
                self.reread(p)  # read back one by one: retried, then dead-lettered
                return
        if rest:
            await self.each(p, rest, lease, redelivered, self._fold_one)

    async def fold(self, p: int, batch: Batch, lease: str, *, strict: bool) -> Batch:
        """Fold and commit a batch; what is left to handle one by one (from a failing event)."""
        decoded = await self._decode(p, batch)
        if not decoded:
            return []
        events = [e for _, e in decoded]
        seen, states = await self.folder.prepare(p, events)
        folded = self.folder.fold(p, decoded, seen, states, self.now, strict=strict)
        for start in range(0, len(folded.commits), COMMIT_CHUNK):
            chunk = slice(start, start + COMMIT_CHUNK)
            if not await self._commit(p, lease, folded, chunk):
                return []
        for match, raw in folded.written.items():
            state = folded.states[match]
            if state.status in OVER_STATUSES:  # a finished match's state is read again if ever
                self.cache.drop(p, match)  # needed: kept, 20,000 of them held ~100 KB each
            else:
                self.cache.put(p, match, raw, state)
        if folded.failed_at is None:
            return []
        # From the failing event on, one by one (the malformed ones are dead-lettered already).
        left = {entry_id for entry_id, _ in decoded[folded.failed_at :]}
        return [(entry_id, fields) for entry_id, fields in batch if entry_id in left]

    async def _decode(self, p: int, batch: Batch) -> list[tuple[str, Event]]:
        """Each entry's body as the fold's struct; a malformed one is dead-lettered."""
        out = []
        for entry_id, fields in batch:
            try:
                out.append((entry_id, _event(fields[b"body"])))
            except (KeyError, ValidationError) as exc:
                reason = f"malformed event: {exc}"[:500]
                await self.dead_letter(p, entry_id, fields, reason)
        return out

    async def _commit(self, p: int, lease: str, folded: Folded, chunk: slice) -> bool:
        """Commit one chunk of folds; False if the partition was lost (nothing written)."""
        try:
            with translate_errors(f"fold commit {keys.events(p)}"):
                results = await commit_fold_batch(
                    self.r,
                    lease=keys.partition_lease(p, self.worker),
                    lease_value=lease,
                    events_stream=keys.events(p),
                    alerts_stream=keys.alerts(p),
                    group=self.group,
                    marks_ttl=self.settings.streams.seen_ttl_s,
                    maxlen=self.settings.streams.maxlen,
                    folds=folded.commits[chunk],
                )
        except LeaseLostError:
            await self.lost(p)
            return False
        logged = log.isEnabledFor(logging.INFO)  # once a chunk, not once an alert
        emitted = []
        for result, alerts in zip(results, folded.alerts[chunk], strict=True):
            if result < 0:
                continue  # folded before: Redis kept its state, the next batch reads that
            for a in alerts:
                if logged:
                    extra = {"match": a["match"], "alert_id": a["id"], "kind": a["kind"]}
                    log.info("alert", extra=extra)
                emitted.append((a["kind"], a["detected_at"], a["emitted_at"]))
        metrics.emitted(emitted)  # once a chunk: two locks a kind, not two an alert
        return True


def _event(body: bytes) -> Event:
    """An entry's body as the fold's struct (msgspec, strict). What the strict decoding refuses
    goes through the events' contract, the pydantic models (lax: a number as a string passes,
    as it always did), so an entry folds or is refused exactly as the models decide, for the
    reason they give."""
    try:
        return EVENTS.decode(body)
    except msgspec.DecodeError:
        return event_struct(EVENT.validate_json(body))


async def pending_work(r: aioredis.Redis, settings: Settings) -> int:
    """Events not yet folded (lag + pending over all partitions)."""
    total = 0
    for p in range(settings.streams.partitions):
        waiting, pending = await streams.lag(r, keys.events(p), keys.GROUP_AGGREGATOR)
        total += waiting + pending
    return total
