"""Sharded fan-out, the routing step: one alert becomes one entry in every shard stream.

With ``delivery.shards`` = S, the dispatcher holding an alert's partition does not deliver it:
it adds the alert to each shard stream ``nf:deliver:{SHARD_BASE + s}`` and acks it. The
``deliverer`` replicas share the shards as partitions (:mod:`workers.deliverer`) and each
delivers to its shard's subscriptions only (``crc32(id) % S``), so one alert's fan-out is spread
over every deliverer process and every cluster node. A shard's stream, delivery marks, retry
queue and lease share its hash tag (one slot).

Routing is idempotent: each shard's XADD is guarded by a mark in the shard's slot, set in the
same script, so an alert routed again (a take-over before its ack, a paused ex-owner waking up)
is added to no shard twice. A subscription lives in one shard and the owner routes its
partition's alerts in order, so per-subscription order holds.
"""

from __future__ import annotations

from itertools import chain

import redis.asyncio as aioredis

from notifier.bus import keys
from notifier.bus.connect import translate_errors
from notifier.bus.scripts.delivery import ROUTE
from notifier.settings import Settings


def shard_partitions(shards: int) -> range:
    """The partitions the shards are consumed as."""
    return range(keys.SHARD_BASE, keys.SHARD_BASE + shards)


class Router:
    """Adds alerts to every shard stream, once each."""

    def __init__(self, r: aioredis.Redis, settings: Settings) -> None:
        self.r = r
        self.settings = settings
        self._route = r.register_script(ROUTE)

    async def route(self, alert_id: str, fields: dict[bytes, bytes]) -> int:
        """Add the alert entry to each shard not holding it yet; how many were added."""
        streams = self.settings.streams
        args: list[bytes | int] = [streams.seen_ttl_s, streams.maxlen]
        args += chain.from_iterable(fields.items())
        added = 0
        with translate_errors("fan-out route"):
            for p in shard_partitions(self.settings.delivery.shards):
                names = [keys.deliver(p), keys.seen(p, "route", alert_id)]
                added += int(await self._route(keys=names, args=args))
        return added
