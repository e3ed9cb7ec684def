"""The dispatcher: consumer group ``dispatcher`` on ``nf:alerts:{p}``.

Each alert goes to this process's sinks (the console) and to every subscription that wants it,
through the delivery engine (``workers.deliver.engine``). An alert is acked once each of its
deliveries is settled: delivered (marked with alert id + subscription id, so a redelivered alert
skips it), waiting in Redis for a retry, or parked in ``nf:dlq:delivery``. The fan-out runs in
the background, so the next alert does not wait for a slow target; a crash before the ack
replays the alert and the marks keep it from reaching anyone twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import redis.asyncio as aioredis
from pydantic import ValidationError

from notifier import metrics
from notifier.bus import keys, streams
from notifier.bus.connect import cancel
from notifier.bus.consumer import Batch, Change, PartitionConsumer
from notifier.bus.shards import Router
from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.base import Channel
from notifier.channels.subscriptions import Subscription
from notifier.domain.alerts import ALERT, Alert
from notifier.errors import LeaseLostError, StoppingError, StoreError
from notifier.settings import Settings
from workers.deliver.engine import DeliveryEngine
from workers.deliver.flow import Ticket
from workers.deliver.hold import Released, sink_id
from workers.deliver.live import LiveMessages, live_ops
from workers.deliver.send import Deliverer

log = logging.getLogger("notifier.dispatcher")


class Sink(Protocol):
    """Somewhere every alert goes in this process: the console. A sink with a ``delay_s``
    attribute above 0 gets each alert that long after it was emitted (spoiler delay)."""

    name: str

    def wants(self, alert: Alert) -> bool:
        """Whether this sink follows what the alert is about."""

    async def deliver(self, alert: Alert) -> None:
        """Deliver one alert (raise to have it retried)."""


class Dispatcher(PartitionConsumer):
    """Fans each alert out to the sinks and the subscriptions that want it, once each."""

    worker = "dispatcher"
    group = keys.GROUP_DISPATCHER

    def __init__(
        self,
        r: aioredis.Redis,
        settings: Settings,
        *,
        instance: str,
        sinks: Sequence[Sink] = (),
        channels: Mapping[str, Channel] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(r, settings, instance=instance)
        self.sinks = list(sinks)
        self.delivers = channels is not None  # without channels: the sinks only
        self.subscriptions = SubscriptionStore(r, aliases=settings.aliases)
        ops = live_ops(channels or {}, settings.delivery.slack_api_url)
        live = LiveMessages(r, ops, ttl_s=settings.streams.seen_ttl_s)
        deliverer = Deliverer(
            channels or {},
            settings.delivery,
            live,
            lang=settings.lang,
            names=settings.names_by_lang(),
            still=self._still_wanted,
        )
        self.subscriptions.on_parse = deliverer.prepare
        self.engine = DeliveryEngine(
            r, settings, store=self.subscriptions, deliverer=deliverer, rand=rand, fence=self.fence
        )
        # Entries whose fan-out runs, by (partition, entry id): ids are per stream, and alerts
        # added to two partitions in the same millisecond get the same id.
        self._inflight: set[tuple[int, str]] = set()
        self._settled = asyncio.Condition()  # notified whenever a fan-out ends
        self._window = asyncio.Semaphore(settings.delivery.max_inflight_alerts)
        self._halted = False  # run() ended (even if a cancel of the pump was lost)
        shards = settings.delivery.shards
        self.router = Router(r, settings) if shards and self.delivers else None
        self._unrouted: set[int] = set()  # partitions whose batch stopped at an unrouted alert

    def stream(self, p: int) -> str:
        """Alert stream of partition p."""
        return keys.alerts(p)

    async def handle(self, p: int, batch: Batch, lease: str, redelivered: bool) -> None:
        """Each alert in order: to the sinks, then its fan-out started (which acks it). A batch
        read afresh lets routing go on (see ``_route``)."""
        self._unrouted.discard(p)
        await self.each(p, batch, lease, redelivered, self._dispatch)

    async def _route(self, p: int, entry_id: str, alert: Alert, fields: dict[bytes, bytes]) -> None:
        """Hand the alert to every shard and ack it, in alert order: once one alert of a batch
        could not be routed (the lease not surely ours), the rest of the batch waits with it for
        the re-read from our pending list (or the next owner's)."""
        if p in self._unrouted:
            return
        try:
            self.fence(p)
        except LeaseLostError:
            self._unrouted.add(p)
            self.reread(p)
            return
        assert self.router is not None
        await self.router.route(alert.id, fields)
        await streams.ack(self.r, self.stream(p), self.group, entry_id)

    async def subscribers(self, p: int, alert: Alert) -> list[Subscription]:
        """The subscriptions of partition p that want the alert (a shard: its share)."""
        return await self.subscriptions.matching(alert)

    async def _still_wanted(self, sub_id: str) -> bool:
        """Whether a subscription still exists and is enabled (asked after a wait to send)."""
        sub = await self.subscriptions.get(sub_id)
        return sub is not None and sub.enabled

    async def _dispatch(
        self, p: int, entry_id: str, fields: dict[bytes, bytes], lease: str
    ) -> None:
        """Deliver to the sinks, start the fan-out to subscriptions; the fan-out acks."""
        if (p, entry_id) in self._inflight:
            return
        try:
            alert = ALERT.validate_json(fields[b"body"])
        except (KeyError, ValidationError) as exc:
            await self.dead_letter(p, entry_id, fields, f"malformed alert: {exc}"[:500])
            return
        for sink in self.sinks:
            if not sink.wants(alert):
                continue
            delay = getattr(sink, "delay_s", 0)
            if delay > 0:  # in stream order, like the deliveries: released by pump()
                try:
                    await self.engine.hold(p, alert, sink_id(sink.name), delay)
                except LeaseLostError:
                    self.reread(p)  # not surely ours: read again if it stays ours
                    return
            else:
                await self._deliver_once(p, sink, alert)
        if self.router is not None:  # sharded: the shards' consumers fan it out
            await self._route(p, entry_id, alert, fields)
            return
        subs = await self.subscribers(p, alert) if self.delivers else []
        if not subs:
            await streams.ack(self.r, self.stream(p), self.group, entry_id)
            return
        await self._window.acquire()
        tickets = self.engine.tickets(p, subs)  # in alert order: per-subscription order
        self._inflight.add((p, entry_id))
        self.engine.spawn(self._fan_out(p, entry_id, alert, subs, tickets))

    async def _fan_out(
        self,
        p: int,
        entry_id: str,
        alert: Alert,
        subs: Sequence[Subscription],
        tickets: Sequence[Ticket],
    ) -> None:
        try:
            outcomes = await self.engine.fan_out(p, alert, subs, tickets)
            await streams.ack(self.r, self.stream(p), self.group, entry_id)
            log.info("fanned_out", extra={"alert_id": alert.id, **outcomes})
        except StoreError as exc:
            log.warning("fan_out_interrupted", extra={"alert_id": alert.id, "error": str(exc)})
            self.reread(p)
        except StoppingError:
            log.info("fan_out_stopped", extra={"alert_id": alert.id})  # acked by the next owner
        except LeaseLostError:
            # Another replica holds the partition now: it has the alert from our pending list
            # and sends what is not marked delivered, in order. (If the lease turns out to be
            # still ours, renewed late, we read the alert again from our pending list.)
            log.warning("fan_out_fenced", extra={"alert_id": alert.id, "partition": p})
            if self.leases.current(keys.partition_lease(p, self.worker)) is not None:
                await self.lost(p)  # Redis refused a fenced write: not ours, whatever we think
            else:
                self.reread(p)  # unsure: if the next renewal keeps it, read it again
        finally:
            self._inflight.discard((p, entry_id))
            self._window.release()
            async with self._settled:
                self._settled.notify_all()

    async def partition_event(self, p: int, change: Change) -> None:
        """Taken: learn which subscriptions of p have deliveries waiting in Redis (retry heads,
        held alerts) before any alert of p is handled. Leaving: let p's fan-outs on the wire
        end (bounded by the delivery timeout), or the next owner would deliver them again."""
        if change == "taken":
            await self.engine.load_waiting(p)
        if change != "leaving":
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.delivery.timeout_s + 1.0), self._settled:
                await self._settled.wait_for(lambda: all(q != p for q, _ in self._inflight))

    async def _deliver_once(self, p: int, sink: Sink, alert: Alert) -> None:
        """Deliver to a sink once: its mark is a field of the alert's delivery marks (so the
        retention deletes it with them)."""
        marks, field = keys.delivered(p, alert.id), sink_id(sink.name)
        if await self.r.hexists(marks, field):
            return
        try:
            await sink.deliver(alert)
        except Exception:
            metrics.delivered(sink.name, "failed")
            metrics.retried(sink.name)  # the entry stays pending: the consumer tries again
            raise
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.hset(marks, field, "1")
            pipe.expire(marks, self.settings.streams.seen_ttl_s)
            await pipe.execute()
        metrics.delivered(sink.name, "delivered", alert.emitted_at)
        log.info("delivered", extra={"match": alert.match, "alert_id": alert.id, "sink": sink.name})

    # -- running ----------------------------------------------------------------------------

    async def pump(self) -> int:
        """Let due held-back alerts go, then start the due retries of the partitions held;
        how many went or started."""
        released = 0
        for p in sorted(self.owned):
            for out in await self.engine.release(p):
                released += len(out.alert_ids)
                await self._release_to_sink(p, out)
        return released + await self.engine.pump(sorted(self.owned))

    async def _release_to_sink(self, p: int, out: Released) -> None:
        sink = next((s for s in self.sinks if sink_id(s.name) == out.recipient), None)
        for alert_id in out.alert_ids:
            alert = await self.engine.holding.holds.alert(p, alert_id)
            if sink is not None and alert is not None:
                await self._deliver_once(p, sink, alert)

    async def _pump_loop(self, stopping: Callable[[], bool]) -> None:
        every = self.settings.delivery.retry_poll_s
        while not stopping() and not self._halted:
            try:
                started = await self.pump()
            except StoreError as exc:
                log.warning("retry_pump_failed", extra={"error": str(exc)})
                started = 0
            if started >= self.settings.streams.batch:
                continue
            self.engine.wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every):
                    await self.engine.wake.wait()

    async def consume(self, stopping: Callable[[], bool]) -> None:
        """Consume and retry until ``stopping()``; then let deliveries finish (grace period)."""
        pump = asyncio.create_task(self._pump_loop(stopping))
        try:
            await super().consume(stopping)
        finally:
            self._halted = True
            try:
                await cancel(pump)
            finally:
                await self.engine.stop(self.settings.shutdown_grace_s)

    async def drain(self, max_rounds: int = 10_000) -> int:
        """Burst mode: dispatch what waits, run due retries, until nothing is left to do now."""
        total = 0
        for _ in range(max_rounds):
            n = await super().drain(max_rounds)
            await self.engine.idle()
            started = await self.pump()
            await self.engine.idle()
            total += n
            if n == 0 and started == 0 and not any(self.backlog.values()):
                break
        return total


async def pending_work(r: aioredis.Redis, settings: Settings) -> int:
    """Alerts not yet dispatched (lag + pending over all partitions, and recipients with
    alerts held back for a spoiler delay)."""
    total = 0
    for p in range(settings.streams.partitions):
        waiting, pending = await streams.lag(r, keys.alerts(p), keys.GROUP_DISPATCHER)
        total += waiting + pending + await r.zcard(keys.held_due(p))  # held back: not yet sent
    return total
