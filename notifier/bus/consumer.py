"""A consumer-group worker over partitioned streams, one replica per partition at a time.

Each partition (``nf:events:{p}``, ``nf:alerts:{p}``) is consumed by the replica that holds its
lease, so the entries of one match are handled in order. When a replica takes a partition over
it first claims what its predecessor left pending (XAUTOCLAIM), then reads its own pending
entries, then new ones. An entry delivered too often is dead-lettered, never retried forever.

Leases are claimed (and renewed) at most every ``CLAIM_EVERY_S``, not on every batch, and each
replica holds only its fair share of the partitions (:mod:`notifier.bus.balance`). On a cluster each
partition is read on its own (:mod:`notifier.bus.slot_reads`): one XREADGROUP may not span slots.

A stage supplies one hook, ``handle`` (a batch of one partition, in order), and one lifecycle
callback, ``partition_event``. Leases, take-over, stray adoption, dead letters and the fence live
here alone; how the streams are read (own pending entries first, from a cursor; reads bounded
by the leases; the next batch read ahead) in its base, :mod:`notifier.bus.partition_reads`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from typing import Literal

import redis.asyncio as aioredis

from notifier import metrics
from notifier.bus import keys, streams
from notifier.bus.balance import Membership, fair_share
from notifier.bus.connect import cancel
from notifier.bus.holder import Holder
from notifier.bus.lease import Lease
from notifier.bus.partition_reads import PartitionReads
from notifier.bus.under_way import UnderWay, outcomes
from notifier.errors import LeaseLostError, StoreError
from notifier.settings import Settings

log = logging.getLogger("notifier.consumer")
CLAIM_EVERY_S = 1.0
Batch = list[tuple[str, dict[bytes, bytes]]]
Change = Literal["taken", "leaving", "gone"]
"""A partition ``taken`` (new to us, or with a new token: its pending entries are ours now),
``leaving`` (about to be given back, the lease still held: finish what is under way), ``gone``
(given back, lost, or no longer surely ours: drop what was cached about it)."""
OneEntry = Callable[[int, str, dict[bytes, bytes], str], Awaitable[None]]


class PartitionConsumer(PartitionReads):
    """Reads its partitions' streams in a group and hands each batch to ``handle``."""

    worker: str  # "aggregator", "dispatcher"
    group: str
    overlap_partitions = False  # handle the batches of one read concurrently (see step)

    def __init__(self, r: aioredis.Redis, settings: Settings, *, instance: str) -> None:
        super().__init__()
        self.r = r
        self.settings = settings
        self.instance = instance
        self.leases = Holder(r, instance, settings.streams.lease_ttl_ms)
        self.owned: set[int] = set()
        self.members = Membership(r, self.worker, instance, settings.streams.lease_ttl_ms)
        self.claim_every_s = min(CLAIM_EVERY_S, settings.streams.lease_ttl_ms / 3000)
        self._next_claim = 0.0
        self.under_way = UnderWay()  # batches being handled, by partition

    def partition_ids(self) -> range:
        """The partitions this worker's replicas share."""
        return range(self.settings.streams.partitions)

    @abstractmethod
    def stream(self, p: int) -> str:
        """The stream of partition p."""

    @abstractmethod
    async def handle(self, p: int, batch: Batch, lease: str, redelivered: bool) -> None:
        """The stage's one hook: process entries of partition p in order and ack each with its
        effect (fenced by ``lease``). ``redelivered``: read again from our pending list (use
        :meth:`each` to handle them one by one, counted and dead-lettered when too many)."""

    async def partition_event(self, p: int, change: Change) -> None:
        """The stage's lifecycle callback (see :data:`Change`); nothing by default."""
        return None

    async def each(
        self, p: int, batch: Batch, lease: str, redelivered: bool, one: OneEntry
    ) -> None:
        """``one(p, entry_id, fields, lease)`` per entry, in order: an entry delivered too often
        is dead-lettered instead; one that fails is read again, then dead-lettered."""
        stream = self.stream(p)
        for entry_id, fields in batch:
            await self._guarded(p, stream, entry_id, fields, lease, redelivered, one)

    async def lost(self, p: int) -> None:
        """Redis says another replica holds p (a fenced write was refused): let it go now."""
        self.owned.discard(p)
        self.leases.forget(keys.partition_lease(p, self.worker))
        await self._gone(p)
        log.warning("partition_lost", extra={"partition": p, "worker": self.worker})

    def fence(self, p: int) -> tuple[str, str]:
        """The lease of p (key, value) a write must still hold: LeaseLostError unless it is
        surely ours now (before its local deadline, :mod:`notifier.bus.holder`). Writes check it
        again in Redis; a send cannot be fenced there, so it is made only while this holds."""
        key = keys.partition_lease(p, self.worker)
        value = self.leases.current(key)
        if value is None:
            raise LeaseLostError(f"partition {p} of the {self.worker} is not surely held")
        return key, value

    async def _gone(self, p: int) -> None:
        """p is no longer ours (or not surely): forget how far its pending entries were read."""
        self._forget_reads(p)
        await self.partition_event(p, "gone")

    async def claim_partitions(self, *, force: bool = False) -> None:
        """Hold our fair share of partition leases; on a new one, take over what was pending."""
        if not force and not self._claim_due():
            return
        self._next_claim = time.monotonic() + self.claim_every_s
        ids = self.partition_ids()
        share = fair_share(len(ids), await self.members.live(int(time.time() * 1000)))
        for p in ids:
            had = p in self.owned
            if not had and len(self.owned) >= share:
                continue
            key = keys.partition_lease(p, self.worker)
            token = self.leases.tokens.get(key)
            if await self.leases.hold(key) is None:
                self.owned.discard(p)
                if had:
                    await self._gone(p)
                continue
            self.owned.add(p)
            if had and self.leases.tokens.get(key) == token:
                await self._adopt_strays(p)
                continue
            # New to us, or taken again with a new token after it lapsed (a Redis restart, a
            # long pause): another replica may have held it meanwhile, so whatever we knew of
            # it (cached states, retry heads, how far we read) is stale: a full take-over.
            await self._gone(p)
            await self._take_over(p)
        await self._give_back(len(self.owned) - share)

    async def _give_back(self, extra: int) -> None:
        """Release the highest partitions beyond our share, for a newly arrived replica."""
        for p in sorted(self.owned, reverse=True)[: max(0, extra)]:
            key = keys.partition_lease(p, self.worker)
            self.owned.discard(p)
            await self.partition_event(p, "leaving")  # still holding (and renewing) the lease
            token = self.leases.tokens.get(key)
            self.leases.forget(key)
            await self._gone(p)
            if token is not None:
                await Lease.release(self.r, key, self.instance, token)
            log.info("partition_released", extra={"partition": p, "worker": self.worker})

    async def _take_over(self, p: int) -> None:
        stream = self.stream(p)
        await streams.ensure_group(self.r, stream, self.group)
        # The lease makes us the only consumer of p: whatever is pending is ours now.
        claimed = await streams.claim_stale(
            self.r, stream, self.group, self.instance, min_idle_ms=0, count=10_000
        )
        if claimed.entries:
            log.info("claimed_pending", extra={"stream": stream, "count": len(claimed.entries)})
        self.reread(p)
        await self.partition_event(p, "taken")

    async def _adopt_strays(self, p: int) -> None:
        """Take entries of p pending under another consumer since our take-over: a replica
        whose read the server answered after its lease had lapsed (it was paused) holds them
        and will never handle them. Rare (reads end before the lease can lapse); without this
        they would wait for the next take-over. Called only right after renewing p's lease."""
        stream = self.stream(p)
        strays = await streams.pending_elsewhere(self.r, stream, self.group, self.instance)
        if not strays:
            return
        await streams.adopt(self.r, stream, self.group, self.instance, strays)
        log.warning("adopted_strays", extra={"stream": stream, "count": len(strays)})
        self.reread(p)

    async def step(self, block_ms: int | None = None, *, ahead: bool = False) -> int:
        """One round: claim partitions, read a batch, handle it. Entries read. ``ahead`` (the
        loops: :meth:`consume`, :meth:`drain`): with ``read_ahead``, the next round's batch is
        read while this one is handled (:mod:`notifier.bus.partition_reads`), and a partition's
        batch is handled as soon as its previous one is done (:mod:`notifier.bus.under_way`);
        the loop settles both when it ends."""
        read = await self._read_ahead_entries()
        if self._claim_due() or not self._sure():
            await self.under_way.finish()  # no batch under way while partitions change hands
        await self.claim_partitions(force=not self._sure())
        if read is not None:
            entries, redelivered = read, False
        elif not self.owned:
            await asyncio.sleep((block_ms or self.settings.streams.block_ms) / 1000)
            return 0
        else:
            await self.under_way.finish()  # own pending entries are read with none under way
            entries, redelivered = await self._read(block_ms)
        if ahead and not redelivered:
            self._read_next_ahead(block_ms, entries)
        await self._handle_all(self._work(entries), redelivered, ahead=ahead)
        return len(entries)

    def _work(self, entries: list[streams.Entry]) -> list[tuple[int, Batch, str]]:
        """Each partition's batch with its lease; a partition not surely ours is read again."""
        work = []
        for p, batch in self._by_partition(entries).items():
            lease = self._lease_or_reread(p)
            if lease is not None:
                work.append((p, batch, lease))
        return work

    def _lease_or_reread(self, p: int) -> str | None:
        """p's lease while p is surely ours. Else (lost, or no longer sure of it: we were
        paused) None, and not one entry of p is handled: if the lease is still ours they are
        read again from our pending list, in order; if not, the next holder takes them."""
        lease = self.leases.current(keys.partition_lease(p, self.worker))
        if lease is None or p not in self.owned:
            self.reread(p)
            return None
        return lease

    def _claim_due(self) -> bool:
        """Whether the leases are due to be claimed (and renewed) again."""
        return time.monotonic() >= self._next_claim

    async def _handle_all(
        self, work: list[tuple[int, Batch, str]], redelivered: bool, *, ahead: bool
    ) -> None:
        if not work:
            await self.under_way.finish()
        elif self.read_ahead and ahead and not redelivered:
            await self.under_way.next_round(
                {p: functools.partial(self._after_previous, p, batch) for p, batch, _ in work}
            )
        elif self.overlap_partitions and len(work) > 1:
            # Partitions are independent: while one waits on Redis, the next one computes.
            # Every batch runs to its end; the first error is raised after.
            await outcomes([self._handle(p, batch, lease, redelivered) for p, batch, lease in work])
        else:
            for p, batch, lease in work:
                await self._handle(p, batch, lease, redelivered)

    async def _after_previous(self, p: int, batch: Batch) -> None:
        """A batch whose partition's previous batch is done: handled, unless that one failed
        (this one is then read back after it, from our pending list) or p is no longer surely
        ours."""
        if self.backlog.get(p):
            return
        lease = self._lease_or_reread(p)
        if lease is not None:
            await self._handle(p, batch, lease, False)

    async def _handle(self, p: int, batch: Batch, lease: str, redelivered: bool) -> None:
        try:
            await self.handle(p, batch, lease, redelivered)
        except BaseException:
            # Whatever of the batch is not acked is read again from our pending list (if p
            # stays ours): the cursor must not have moved past it.
            if p in self.owned:
                self.reread(p)
            raise

    def _by_partition(self, entries: list[streams.Entry]) -> dict[int, Batch]:
        """Entries grouped by partition, in stream order within each."""
        out: dict[int, Batch] = {}
        for stream, entry_id, fields in entries:
            out.setdefault(self._partition(stream), []).append((entry_id, fields))
        return out

    def _sure(self) -> bool:
        """Whether every owned partition's lease is surely still ours (see notifier.bus.holder)."""
        return all(self.leases.current(keys.partition_lease(p, self.worker)) for p in self.owned)

    async def _guarded(
        self,
        p: int,
        stream: str,
        entry_id: str,
        fields: dict[bytes, bytes],
        lease: str,
        redelivered: bool,
        one: OneEntry,
    ) -> None:
        count = 1
        if redelivered:
            count = await streams.delivery_count(self.r, stream, self.group, entry_id)
        if count > self.settings.streams.max_deliveries:
            await self.dead_letter(p, entry_id, fields, f"delivered {count} times")
            return
        try:
            await one(p, entry_id, fields, lease)
        except (StoreError, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("entry_failed", extra={"stream": stream, "entry": entry_id})
            self.reread(p)  # retried from our pending list, then dead-lettered
            if count >= self.settings.streams.max_deliveries:
                await self.dead_letter(p, entry_id, fields, f"{type(exc).__name__}: {exc}")

    async def dead_letter(
        self, p: int, entry_id: str, fields: dict[bytes, bytes], reason: str
    ) -> None:
        """Park an entry of p in the stage's dead-letter stream and ack it."""
        stream = self.stream(p)
        log.error("dead_lettered", extra={"stream": stream, "entry": entry_id, "reason": reason})
        metrics.dead_lettered(self.worker)
        await streams.dead_letter(
            self.r,
            self.worker,
            source_stream=stream,
            entry_id=entry_id,
            fields=fields,
            reason=reason,
            maxlen=self.settings.streams.maxlen,
        )
        await streams.ack(self.r, stream, self.group, entry_id)

    async def consume(self, stopping: Callable[[], bool]) -> None:
        """Step until ``stopping()``; survive Redis going away and coming back (override to run
        more beside it: whatever ends here ends before the leases are given up)."""
        try:
            while not stopping():
                try:
                    await self.step(ahead=True)
                except StoreError as exc:
                    self._store_unavailable(exc)
                    await asyncio.sleep(0.5)
            try:
                await self.under_way.finish()
            except StoreError as exc:  # its batch stays pending, for the partition's next holder
                self._store_unavailable(exc)
        finally:
            await self._settle_read_ahead()
            await self.under_way.stop()

    def _store_unavailable(self, exc: StoreError) -> None:
        log.warning("store_unavailable", extra={"worker": self.worker, "error": str(exc)})

    async def drain(self, max_rounds: int = 10_000) -> int:
        """Burst mode: handle everything waiting, then return the count (bounded rounds)."""
        total = 0
        try:
            for _ in range(max_rounds):
                n = await self.step(block_ms=1, ahead=True)
                total += n
                if n == 0 and not any(self.backlog.values()):
                    break
            await self.under_way.finish()
        finally:
            await self._settle_read_ahead()
            await self.under_way.stop()  # only what an error left under way
        return total

    async def run(self, stopping: Callable[[], bool]) -> None:
        """Consume until ``stopping()`` with the leases kept alive; then give them up."""
        keeper = asyncio.create_task(self.leases.keep_alive())
        try:
            await self.consume(stopping)
        finally:
            try:
                await cancel(keeper)  # no renewal in flight once the leases are given up
            finally:
                await self.leases.release_all()
            with contextlib.suppress(StoreError):
                await self.members.leave()
