"""Where a delivery waits before it is sent: the spoiler delay, quiet hours and digests of a
subscription (:mod:`notifier.domain.timing` decides, :mod:`workers.deliver.hold` keeps them).

A subscription with none of them (and nothing held) is sent at once, the plain way. Otherwise
its alerts go into its held line (due after the delay), a bundle line (``<sub>#quiet:<match>``
or ``<sub>#digest:<match>``: one message when due), or, in quiet hours with ``held = "drop"``,
nowhere: marked settled so that no redelivery sends it later. The dispatcher's pump calls
:meth:`Holding.release` for the partitions it holds; what it lets go lands in the retry lines,
sent by the retry pump like any retry, in order, exactly once, fenced by the partition lease.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.subscriptions import Subscription
from notifier.domain import holdback, timing
from notifier.domain.alerts import Alert
from notifier.errors import LeaseLostError
from notifier.settings import Settings
from workers.deliver.hold import SINK_PREFIX, HoldStore, Released
from workers.deliver.retry import Fence, RetryStore

log = logging.getLogger("notifier.delivery")


class Holding:
    """The held lines of one dispatcher's partitions."""

    def __init__(
        self,
        holds: HoldStore,
        settings: Settings,
        *,
        store: SubscriptionStore,
        retries: RetryStore,
        fence: Callable[[int], Fence | None],
        now_ms: Callable[[], int],
    ) -> None:
        self.holds = holds
        self.settings = settings
        self.store = store
        self.retries = retries
        self.fence = fence
        self.now_ms = now_ms
        # Recipients with alerts held (a superset: a line emptied stays until the next
        # take-over), whose alerts must go through their line to stay in order.
        self.held: defaultdict[int, set[str]] = defaultdict(set)

    async def load(self, p: int) -> None:
        """Learn which recipients of a partition just taken over have alerts held."""
        self.held[p] = await self.holds.holding(p)

    def times(self, p: int, sub: Subscription) -> bool:
        """Whether the subscription's alerts are timed (delay, quiet hours, digest) or some of
        them are held: if not, :meth:`route` sends them the plain way, and need not be asked."""
        s = sub.spec
        return bool(s.delay_s or s.quiet_hours or s.digest or sub.id in self.held[p])

    async def route(self, p: int, alert: Alert, sub: Subscription) -> str | None:
        """Hold, bundle or drop ``alert`` as the subscription's timing asks; None: send it
        now, the plain way."""
        s = sub.spec
        if not self.times(p, sub):
            return None
        rate = self.settings.delivery.clock_rate
        plan = timing.plan(
            alert, delay_s=s.delay_s, rate=rate, quiet=s.quiet_hours, digest=s.digest
        )
        if plan.route == "drop":  # quiet hours: marked as settled, so never sent later
            await self.retries.mark(p, alert.id, sub.id, self.now_ms())
            log.info("quiet_dropped", extra={"alert_id": alert.id, "sub": sub.id})
            return "quiet"
        if plan.route != "send":
            line = timing.line_of(sub.id, plan.route, alert.match)
            return await self.hold_until(p, alert, line, plan.due)
        if s.delay_s == 0 and sub.id not in self.held[p]:
            return None
        return await self.hold_until(p, alert, sub.id, plan.due)

    async def hold(self, p: int, alert: Alert, recipient: str, delay_s: float) -> str:
        """Hold ``alert`` back for ``recipient`` until ``delay_s`` after it was emitted (on the
        match clock): 'held', 'elided' (it took back the last one held) or 'already'."""
        rate = self.settings.delivery.clock_rate
        due = holdback.due_ms(alert.emitted_at, delay_s, rate)
        return await self.hold_until(p, alert, recipient, due)

    async def hold_until(self, p: int, alert: Alert, recipient: str, due: int) -> str:
        """Hold ``alert`` in ``recipient``'s line until ``due`` (epoch ms)."""
        self.held[p].add(recipient)
        verdict = await self.holds.hold(p, alert, recipient, due, fence=self.fence(p))
        if verdict == "elided":
            log.info("held_elided", extra={"alert_id": alert.id, "sub": recipient})
        return verdict

    async def release(self, p: int) -> tuple[list[Released], set[str]]:
        """Let the due held alerts of partition p go: a subscription's into its retry line
        (the retry pump sends them next), a bundle's as one message there too, a sink's
        returned for the caller to deliver. Also the subscriptions given a retry head."""
        count = self.settings.streams.batch
        sinks: list[Released] = []
        moved: set[str] = set()
        now = self.now_ms()
        try:
            fence = self.fence(p)
        except LeaseLostError:
            return sinks, moved  # not surely ours: the holder lets them go (or we, renewed)
        for recipient in await self.holds.due(p, now, count):
            try:
                if (owner := timing.bundle_of(recipient)) is not None:
                    if await self._release_bundle(p, recipient, owner, now, fence):
                        moved.add(owner[0])
                    continue
                out = await self.holds.release(p, recipient, now, count, fence=fence)
            except LeaseLostError:
                log.warning("release_fenced", extra={"partition": p, "sub": recipient})
                break
            if recipient.startswith(SINK_PREFIX):
                sinks.append(out)
            elif out.alert_ids:
                moved.add(recipient)
        return sinks, moved

    async def _release_bundle(
        self,
        p: int,
        recipient: str,
        owner: tuple[str, timing.Route],
        now: int,
        fence: Fence | None,
    ) -> bool:
        """A bundle line's due alerts, as one message into the subscription's retry line."""
        sub_id, route = owner
        ids = await self.holds.due_bundle(p, recipient, now)
        alerts = [a for i in ids if (a := await self.holds.alert(p, i)) is not None]
        if not alerts:  # nothing due after all (or expired): keep the line's due time right
            await self.holds.bundle(p, recipient, sub_id, [], None, now, fence=fence)
            return False
        sub = await self.store.get(sub_id)
        message = timing.bundle(sub_id, route, alerts, sub.spec.digest if sub else None)
        if not await self.holds.bundle(p, recipient, sub_id, ids, message, now, fence=fence):
            return False
        log.info("bundle_released", extra={"sub": sub_id, "alerts": len(ids), "route": route})
        return True
