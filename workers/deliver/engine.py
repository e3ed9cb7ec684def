"""The delivery engine: fan an alert out to its subscriptions, retry what failed, park what
cannot be delivered, and keep each subscription's alerts in order.

A fresh delivery is tried at once. If it fails it becomes its subscription's *head* in the
partition's retry structure (``workers.deliver.retry``), due after the retry schedule (or the
receiver's ``Retry-After``); later alerts for that subscription queue behind it in Redis, so a
dead target costs one Redis write per alert and never holds anybody else up. The pump tries
due heads; a head settled (delivered, or parked in ``nf:dlq:delivery``) lets the next one go.
A ``gone`` target (410) disables its subscription and parks what was waiting for it; a gone
Web Push subscription (404/410: the browser unsubscribed) is removed instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import redis.asyncio as aioredis

from notifier import metrics
from notifier.bus.connect import cancel
from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.subscriptions import Subscription
from notifier.domain.alerts import Alert
from notifier.errors import LeaseLostError, StoppingError
from notifier.settings import Settings
from workers.deliver.dlq import park_delivery
from workers.deliver.flow import Flows, Ticket
from workers.deliver.hold import HoldStore, Released
from workers.deliver.holding import Holding
from workers.deliver.retry import Fence, RetryJob, RetryStore, retry_delay
from workers.deliver.send import DELIVERED, UNSUBSCRIBED, Deliverer, Result

CANCEL_WITHIN_S = 1.0  # sends still running after the grace period get this long to end
# A delivery that waited longer than this for the alerts before it asks again whether its
# subscription still wants alerts (a chat's backlog can outlast an /unfollow).
TURN_WAIT_S = 0.1
REMOVED_WHEN_GONE = frozenset({"webpush"})  # channels whose gone subscriptions are deleted
log = logging.getLogger("notifier.delivery")
Marks = set[asyncio.Future[None]]  # the writes of delivery marks a fan-out waits for


def _now_ms() -> int:
    return int(time.time() * 1000)


class DeliveryEngine:
    """Deliveries of one dispatcher process, over the partitions it holds."""

    def __init__(
        self,
        r: aioredis.Redis,
        settings: Settings,
        *,
        store: SubscriptionStore,
        deliverer: Deliverer,
        rand: Callable[[], float] = random.random,
        now_ms: Callable[[], int] = _now_ms,
        fence: Callable[[int], Fence] | None = None,
    ) -> None:
        self.r = r
        # The partition lease our sends and retry writes are fenced by (None: unfenced, one
        # replica); raises LeaseLostError when the partition may be another replica's.
        self.fence: Callable[[int], Fence | None] = fence or (lambda p: None)
        self.settings = settings
        self.store = store
        self.deliverer = deliverer
        self.rand = rand
        self.now_ms = now_ms
        s = settings.streams
        self.retries = RetryStore(r, alert_ttl_s=s.seen_ttl_s, mark_ttl_s=s.seen_ttl_s)
        self.holding = Holding(
            HoldStore(r, ttl_s=s.seen_ttl_s),
            settings,
            store=store,
            retries=self.retries,
            fence=lambda p: self.fence(p),
            now_ms=lambda: self.now_ms(),
        )
        self.flows = Flows()
        self.waiting: defaultdict[int, set[str]] = defaultdict(set)  # subs with a head, per p
        self.gone: set[str] = set()
        self.running: set[tuple[int, str]] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.wake = asyncio.Event()

    # -- tasks ------------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background; :meth:`idle` and :meth:`stop` wait for it."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("delivery_task_failed", exc_info=exc)

    async def idle(self) -> None:
        """Wait until no delivery runs."""
        while self.tasks:
            await asyncio.wait(set(self.tasks))

    async def stop(self, grace_s: float) -> None:
        """Start no new send; let those under way finish for ``grace_s``, then cancel them."""
        self.deliverer.closing = True
        try:
            async with asyncio.timeout(grace_s):
                await self.idle()
        except TimeoutError:
            await self._cancel_all()
        except asyncio.CancelledError:
            await self._cancel_all()
            raise

    async def _cancel_all(self) -> None:
        # A failed delivery is logged by _finished already: not raised a second time here.
        with contextlib.suppress(Exception):
            await cancel(*self.tasks, within_s=CANCEL_WITHIN_S)

    # -- fresh deliveries -------------------------------------------------------------------

    def tickets(self, p: int, subs: Sequence[Subscription]) -> list[Ticket]:
        """Places in line for each subscription (take them in alert order, before any await)."""
        return [self.flows.ticket(p, s.id) for s in subs]

    async def load_waiting(self, p: int) -> None:
        """Learn which subscriptions of a partition just taken over have a delivery waiting."""
        self.waiting[p] = await self.retries.waiting(p)
        await self.holding.load(p)

    async def fan_out(
        self, p: int, alert: Alert, subs: Sequence[Subscription], tickets: Sequence[Ticket]
    ) -> Counter[str]:
        """Deliver ``alert`` to ``subs``; returns once each is delivered, queued or parked."""
        marks: Marks = set()  # the round trips of this fan-out's marks
        try:
            await self.retries.settled()  # the marks of sends just ended are read too
            done, waiting = await self.retries.state(p, alert.id, [s.id for s in subs])
            self.waiting[p] |= waiting
            jobs = []
            for sub, ticket in zip(subs, tickets, strict=True):
                if sub.id in done:
                    ticket.release()
                else:
                    jobs.append(self._fresh(p, alert, sub, ticket, marks))
            results = await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            for ticket in tickets:
                ticket.release()
        for res in results:
            if isinstance(res, BaseException):
                raise res
        for written in marks:  # settled means marked: the entry is acked after this
            await asyncio.shield(written)
        outcomes: Counter[str] = Counter(str(r) for r in results)
        outcomes["already"] += len(done)
        return outcomes

    async def _fresh(
        self, p: int, alert: Alert, sub: Subscription, ticket: Ticket, marks: Marks
    ) -> str:
        """One fresh delivery, in its subscription's turn. Its mark is written with the next
        batch and awaited by the fan-out (``marks``), not here: the turn passes on before it
        is in Redis, so whoever reads marks waits for the batches first (``settled``)."""
        asked = time.monotonic()
        if ticket.follows:  # (``async with ticket``, without its coroutines when first in line)
            await ticket.turn()
        try:
            waited = time.monotonic() - asked > TURN_WAIT_S
            held = await self._not_now(p, alert, sub, ticket)
            if held is not None:
                return held
            self.fence(p)  # nothing is sent once the partition may be another replica's
            more = sub.spec.style == "live" and self.flows.behind(ticket)
            result = await self.deliverer.send(alert, sub, more=more, waited=waited)
            if result is DELIVERED:  # the common case, without the retry bookkeeping
                marks.add(self._delivered(p, alert, sub))
                return "delivered"
            if result is UNSUBSCRIBED:
                log.info("delivery_dropped", extra={"alert_id": alert.id, "sub": sub.id})
                return "unsubscribed"
            job = RetryJob(sub.id, alert.id, 0, self.now_ms())
            return await self._settle(p, alert, sub, job, result)
        finally:
            ticket.release()

    async def _not_now(self, p: int, alert: Alert, sub: Subscription, ticket: Ticket) -> str | None:
        """What becomes of a delivery not sent now (marked already, target gone, held back,
        queued behind its head); None: send it."""
        # The marks were read before the turn came: a delivery ahead in line may have been
        # this very alert (read again from the stream while its fan-out ran), marked since.
        if ticket.follows:
            await self.retries.settled()
            if await self.retries.is_done(p, alert.id, sub.id):
                return "already"
        if sub.id in self.gone:
            await self._park(p, alert, sub, 0, "subscription disabled: target gone")
            return "dead"
        routed = await self.holding.route(p, alert, sub) if self.holding.times(p, sub) else None
        if routed is not None:
            return routed
        if sub.id in self.waiting[p]:
            if await self.retries.enqueue(p, alert, sub.id, self.now_ms(), fence=self.fence(p)):
                self.wake.set()  # nothing was waiting after all: it is due now
            return "queued"
        return None

    async def release(self, p: int) -> list[Released]:
        """Let the due held alerts of partition p go (:meth:`Holding.release`)."""
        sinks, moved = await self.holding.release(p)
        self.waiting[p] |= moved  # their retry lines have a head now
        return sinks

    async def hold(self, p: int, alert: Alert, recipient: str, delay_s: float) -> str:
        """Hold ``alert`` back for a sink (:meth:`Holding.hold`)."""
        return await self.holding.hold(p, alert, recipient, delay_s)

    # -- outcomes ---------------------------------------------------------------------------

    async def _settle(
        self,
        p: int,
        alert: Alert,
        sub: Subscription,
        job: RetryJob,
        result: Result,
        *,
        head: bool = False,
    ) -> str:
        """Record what a try came to; a settled head lets the next queued alert go."""
        if result.outcome == "retry":
            if await self._reschedule(p, alert, sub, job, result):
                return "retry"
            tries = job.attempt + 1
            await self._park(p, alert, sub, tries, f"gave up after {tries} tries: {result.error}")
        elif result.outcome == "delivered":
            await asyncio.shield(self._delivered(p, alert, sub))
        elif result.outcome == "gone":
            await self._gone(p, alert, sub, job, result)
            return "gone"
        elif result.outcome == "unsubscribed":  # what waited behind it goes with it
            dropped = await self.retries.drop(p, sub.id)
            self.waiting[p].discard(sub.id)
            log.info("retries_dropped", extra={"sub": sub.id, "count": len(dropped)})
            return "unsubscribed"
        else:
            await self._park(p, alert, sub, job.attempt + 1, result.error)
        if head:
            await self._advance(p, sub.id, alert.id)
        return result.outcome if result.outcome == "delivered" else "dead"

    def _delivered(self, p: int, alert: Alert, sub: Subscription) -> asyncio.Future[None]:
        """Mark a delivery done (its idempotency mark: the future of its write), count it."""
        written = self.retries.mark_soon(p, alert.id, sub.id, self.now_ms())
        metrics.TALLY.delivered(sub.spec.channel, alert.emitted_at)  # counted within a second
        if log.isEnabledFor(logging.DEBUG):
            log.debug("delivered", extra={"alert_id": alert.id, "sub": sub.id})
        return written

    async def _reschedule(
        self, p: int, alert: Alert, sub: Subscription, job: RetryJob, result: Result
    ) -> bool:
        d = self.settings.delivery
        tries = job.attempt + 1 if result.counts else job.attempt
        if tries == 0:  # only our own rate limit: wait as it says, no try spent
            delay: float | None = min(d.retry_cap_s, result.retry_after or 0.0)
        else:
            delay = retry_delay(
                d.retry_schedule_s,
                tries,
                retry_after=result.retry_after,
                cap=d.retry_cap_s,
                jitter=d.jitter,
                rand=self.rand,
            )
        if delay is None:
            return False
        now = self.now_ms()
        first = job.first_ms or now
        retry = RetryJob(sub.id, alert.id, tries, first, result.error[:300])
        await self.retries.schedule(p, alert, retry, now + int(delay * 1000), fence=self.fence(p))
        self.waiting[p].add(sub.id)
        metrics.delivered(sub.spec.channel, "failed")
        metrics.retried(sub.spec.channel)
        log.info(
            "delivery_retry",
            extra={"alert_id": alert.id, "sub": sub.id, "tries": tries, "in_s": round(delay, 3)},
        )
        return True

    async def _gone(
        self, p: int, alert: Alert, sub: Subscription, job: RetryJob, result: Result
    ) -> None:
        reason = f"target gone: {result.error}"
        self.gone.add(sub.id)
        removed = sub.spec.channel in REMOVED_WHEN_GONE
        async with self.retries.io:
            if removed:  # an expired push subscription: nothing left for its owner to fix
                await self.store.delete(sub)
            else:
                await self.store.disable(sub.id, reason[:300])
        event = "subscription_removed" if removed else "subscription_disabled"
        log.warning(event, extra={"sub": sub.id, "reason": reason[:300]})
        await self._park(p, alert, sub, job.attempt + 1, reason)
        await self._drop(p, sub, "subscription disabled: target gone", skip=alert.id)

    async def _park(self, p: int, alert: Alert, sub: Subscription, tries: int, why: str) -> None:
        metrics.delivered(sub.spec.channel, "dead")
        log.warning("delivery_dead", extra={"alert_id": alert.id, "sub": sub.id, "reason": why})
        async with self.retries.io:
            await park_delivery(
                self.r,
                self.settings,
                p=p,
                alert=alert,
                sub_id=sub.id,
                channel=sub.spec.channel,
                attempts=tries,
                reason=why,
            )

    async def _drop(self, p: int, sub: Subscription, why: str, skip: str | None = None) -> None:
        """Park everything waiting for a subscription that will not take it."""
        for alert_id in await self.retries.drop(p, sub.id):
            alert = await self.retries.alert(p, alert_id)
            if alert is not None and alert_id != skip:
                await self._park(p, alert, sub, 0, why)
        self.waiting[p].discard(sub.id)

    async def _advance(self, p: int, sub_id: str, alert_id: str) -> None:
        fence = self.fence(p)
        if await self.retries.advance(p, sub_id, alert_id, self.now_ms(), fence=fence) is None:
            self.waiting[p].discard(sub_id)
        else:
            self.wake.set()

    # -- retries ----------------------------------------------------------------------------

    async def pump(self, partitions: Sequence[int]) -> int:
        """Start every due retry of ``partitions`` (up to a batch each); how many started."""
        d = self.settings.delivery
        hide_ms = int((2 * d.timeout_s + 30) * 1000)
        started = 0
        for p in partitions:
            due = await self.retries.claim_due(
                p, self.now_ms(), self.settings.streams.batch, hide_ms
            )
            for sub_id, job in due:
                if (p, sub_id) in self.running:
                    continue
                self.running.add((p, sub_id))
                self.spawn(self._retry(p, sub_id, job, self.flows.ticket(p, sub_id)))
                started += 1
        return started

    async def _retry(self, p: int, sub_id: str, job: RetryJob | None, ticket: Ticket) -> None:
        self.waiting[p].add(sub_id)
        try:
            async with ticket:
                await self._retry_head(p, sub_id, job)
        except StoppingError:
            await self.retries.reveal(p, sub_id, self.now_ms())  # the next owner tries it now
        except LeaseLostError:
            # The partition is another replica's now: it tries the head (claimed, so hidden
            # for a while) as soon as it is due again; make it due now.
            log.warning("retry_fenced", extra={"partition": p, "sub": sub_id})
            await self.retries.reveal(p, sub_id, self.now_ms())
        finally:
            self.running.discard((p, sub_id))

    async def _retry_head(self, p: int, sub_id: str, job: RetryJob | None) -> None:
        sub = await self.store.get(sub_id)
        if job is None or sub is None:  # deleted: what waited for it goes with it
            dropped = await self.retries.drop(p, sub_id)
            self.waiting[p].discard(sub_id)
            log.info("retries_dropped", extra={"sub": sub_id, "count": len(dropped)})
            return
        if await self.retries.is_done(p, job.alert_id, sub_id):
            await self._advance(p, sub_id, job.alert_id)
            return
        alert = await self.retries.alert(p, job.alert_id)
        if alert is None:
            log.error("retry_alert_expired", extra={"alert_id": job.alert_id, "sub": sub_id})
            await self._advance(p, sub_id, job.alert_id)
            return
        if not sub.enabled or sub.id in self.gone:
            await self._drop(p, sub, f"subscription disabled: {sub.disabled_reason or 'by owner'}")
            return
        self.fence(p)
        more = sub.spec.style == "live" and await self.retries.queued(p, sub_id) > 0
        result = await self.deliverer.send(alert, sub, more=more)
        await self._settle(p, alert, sub, job, result, head=True)
