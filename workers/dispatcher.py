"""The dispatcher: consumer group ``dispatcher`` on ``nf:alerts:{p}``; delivers each alert to
every sink that wants it, once: a delivery is marked done (alert id + sink) with the ack, so a
redelivered alert skips the sinks that already have it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import redis.asyncio as aioredis
from pydantic import ValidationError

from notifier import keys, streams
from notifier.alerts import ALERT, Alert
from notifier.settings import Settings
from workers.consumer import PartitionConsumer

log = logging.getLogger("notifier.dispatcher")


class Sink(Protocol):
    """Somewhere alerts go: the console, a subscription's channel."""

    name: str

    def wants(self, alert: Alert) -> bool:
        """Whether this sink follows what the alert is about."""

    async def deliver(self, alert: Alert) -> None:
        """Deliver one alert (raise to have it retried)."""


class Dispatcher(PartitionConsumer):
    """Fans each alert out to the sinks that want it, exactly once per sink."""

    worker = "dispatcher"
    group = keys.GROUP_DISPATCHER

    def __init__(
        self, r: aioredis.Redis, settings: Settings, *, instance: str, sinks: Sequence[Sink]
    ) -> None:
        super().__init__(r, settings, instance=instance)
        self.sinks = list(sinks)

    def stream(self, p: int) -> str:
        """Alert stream of partition p."""
        return keys.alerts(p)

    async def handle(self, p: int, entry_id: str, fields: dict[bytes, bytes], lease: str) -> None:
        """Deliver one alert to every sink that wants it and has not had it; then ack."""
        try:
            alert = ALERT.validate_json(fields[b"body"])
        except (KeyError, ValidationError) as exc:
            await self._dead(self.stream(p), entry_id, fields, f"malformed alert: {exc}"[:500])
            return
        for sink in self.sinks:
            if sink.wants(alert):
                await self._deliver_once(p, sink, alert)
        await streams.ack(self.r, self.stream(p), self.group, entry_id)

    async def _deliver_once(self, p: int, sink: Sink, alert: Alert) -> None:
        mark = keys.seen(p, "delivery", f"{alert.id}|{sink.name}")
        if await self.r.exists(mark):
            return
        await sink.deliver(alert)
        await self.r.set(mark, "1", ex=self.settings.streams.seen_ttl_s)
        log.info("delivered", extra={"alert_id": alert.id, "sink": sink.name})


async def pending_work(r: aioredis.Redis, settings: Settings) -> int:
    """Alerts not yet dispatched (lag + pending over all partitions)."""
    total = 0
    for p in range(settings.streams.partitions):
        waiting, pending = await streams.lag(r, keys.alerts(p), keys.GROUP_DISPATCHER)
        total += waiting + pending
    return total
