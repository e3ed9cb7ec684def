"""What a delivery's try came to, recorded: delivered (its mark), retried later (the
subscription's head in Redis), parked in ``nf:dlq:delivery``, or a gone target's subscription
disabled. The delivery engine's half that writes outcomes (:class:`Outcomes`, its base)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable

import redis.asyncio as aioredis

from notifier import metrics
from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.subscriptions import Subscription
from notifier.domain.alerts import Alert
from notifier.settings import Settings
from workers.deliver.dlq import park_delivery
from workers.deliver.retry import Fence, RetryJob, RetryStore, retry_delay
from workers.deliver.send import Result

REMOVED_WHEN_GONE = frozenset({"webpush"})  # channels whose gone subscriptions are deleted
log = logging.getLogger("notifier.delivery")


class Outcomes:
    """Records outcomes for :class:`workers.deliver.engine.DeliveryEngine` (which sets these
    attributes up)."""

    r: aioredis.Redis
    settings: Settings
    store: SubscriptionStore
    retries: RetryStore
    fence: Callable[[int], Fence | None]
    rand: Callable[[], float]
    now_ms: Callable[[], int]
    waiting: defaultdict[int, set[str]]  # subscriptions with a head, per partition
    gone: set[str]
    wake: asyncio.Event

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
