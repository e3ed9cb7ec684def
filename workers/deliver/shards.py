"""The deliverer: a dispatcher whose partitions are fan-out shards (``delivery.shards`` > 0).

It reads ``nf:deliver:{SHARD_BASE + s}`` (filled by the alerts' owners, :mod:`notifier.bus.shards`)
in the ``deliverer`` group and delivers each alert to the subscriptions of its shard only, with
everything the dispatcher does per partition: leases and fencing, delivery marks, per-
subscription order, retries, dead letters, take-over of a dead replica's shards. Its replicas
share the shards fairly (``nf:members:deliverer``), so a second process takes half of every
alert's fan-out.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as aioredis

from notifier.bus import keys, streams
from notifier.bus.shards import shard_partitions
from notifier.channels.base import Channel
from notifier.channels.subscriptions import Subscription
from notifier.domain.alerts import Alert
from notifier.settings import Settings
from workers.deliver.dispatcher import Dispatcher


class ShardDispatcher(Dispatcher):
    """Consumer group ``deliverer`` on the shard streams."""

    worker = "deliverer"
    group = keys.GROUP_DELIVERER

    def __init__(
        self,
        r: aioredis.Redis,
        settings: Settings,
        *,
        instance: str,
        channels: Mapping[str, Channel],
    ) -> None:
        super().__init__(r, settings, instance=instance, channels=channels)
        self.router = None  # a shard delivers; it never routes again

    def partition_ids(self) -> range:
        """The shards, as partitions ``SHARD_BASE`` … ``SHARD_BASE + shards - 1``."""
        return shard_partitions(self.settings.delivery.shards)

    def stream(self, p: int) -> str:
        """The shard's stream."""
        return keys.deliver(p)

    async def subscribers(self, p: int, alert: Alert) -> list[Subscription]:
        """The subscriptions of this shard that want the alert (the others' ids are not read)."""
        shard = (p - keys.SHARD_BASE, self.settings.delivery.shards)
        return await self.subscriptions.matching(alert, shard)


async def pending_work(r: aioredis.Redis, settings: Settings) -> int:
    """Alerts not yet fanned out by their shards (lag + pending over every shard)."""
    total = 0
    for p in shard_partitions(settings.delivery.shards):
        waiting, pending = await streams.lag(r, keys.deliver(p), keys.GROUP_DELIVERER)
        total += waiting + pending
    return total
