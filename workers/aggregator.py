"""The aggregator: folds each event into its match (and tie) state and emits the alerts.

State update, alert XADD, the event's seen-mark and its XACK happen in one fenced Lua commit,
keyed by the event id, so a redelivered or re-published event changes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import redis.asyncio as aioredis
from pydantic import ValidationError

from notifier import keys, streams
from notifier.alerts import Alert
from notifier.engine import MatchState, apply, start
from notifier.events import EVENT, Event
from notifier.scripts import LeaseLostError, commit_fold
from notifier.settings import Settings
from notifier.watch import load_tie
from workers.consumer import PartitionConsumer

log = logging.getLogger("notifier.aggregator")


def alert_fields(alert: Alert) -> dict[str, str]:
    """A stream entry for an alert: routing fields and the pydantic-JSON body."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "match": alert.match,
        "tie": alert.tie or "",
        "home": alert.home,
        "away": alert.away,
        "body": alert.model_dump_json(),
    }


class Aggregator(PartitionConsumer):
    """Consumer group ``aggregator`` on ``nf:events:{p}``."""

    worker = "aggregator"
    group = keys.GROUP_AGGREGATOR

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

    def stream(self, p: int) -> str:
        """Event stream of partition p."""
        return keys.events(p)

    async def handle(self, p: int, entry_id: str, fields: dict[bytes, bytes], lease: str) -> None:
        """Fold one event entry; malformed entries go to the dead-letter stream."""
        try:
            event = EVENT.validate_json(fields[b"body"])
        except (KeyError, ValidationError) as exc:
            await self._dead(self.stream(p), entry_id, fields, f"malformed event: {exc}"[:500])
            return
        state = await self._state(p, event)
        new, alerts = apply(state, event, self.now())
        try:
            result = await commit_fold(
                self.r,
                keys=[
                    keys.partition_lease(p, self.worker),
                    keys.match_state(p, event.match),
                    keys.seen(p, self.worker, event.id),
                    keys.events(p),
                    keys.alerts(p),
                ],
                lease_value=lease,
                group=self.group,
                entry_id=entry_id,
                state=new.model_dump_json(),
                seen_ttl=self.settings.streams.seen_ttl_s,
                maxlen=self.settings.streams.maxlen,
                alerts=[alert_fields(a) for a in alerts],
            )
        except LeaseLostError:
            self.owned.discard(p)
            self.leases.forget(keys.partition_lease(p, self.worker))
            log.warning("partition_lost", extra={"partition": p, "worker": self.worker})
            return
        if result >= 0:
            for a in alerts:
                log.info("alert", extra={"match": a.match, "alert_id": a.id, "kind": a.kind})

    async def _state(self, p: int, event: Event) -> MatchState:
        raw = await self.r.get(keys.match_state(p, event.match))
        if raw:
            return MatchState.model_validate_json(raw)
        tie = await load_tie(self.r, event.tie, p) if event.tie else None
        return start(event, tie, self.settings.aliases)


async def pending_work(r: aioredis.Redis, settings: Settings) -> int:
    """Events not yet folded (lag + pending over all partitions)."""
    total = 0
    for p in range(settings.streams.partitions):
        waiting, pending = await streams.lag(r, keys.events(p), keys.GROUP_AGGREGATOR)
        total += waiting + pending
    return total
