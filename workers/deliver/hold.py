"""Alerts held back for a spoiler delay, kept in Redis per partition: they survive restarts.

Per partition ``{p}``: a sorted set of recipients by the due time of their first held alert
(``keys.held_due``), each recipient's line of held alerts in order (``keys.held_line``), a mark
per alert and recipient once it was held (``keys.held_marks``, so a fan-out redone after a crash
holds nothing twice), and the alert's JSON (``keys.retry_alert``, shared with retries).

Holding is where :mod:`notifier.domain.holdback`'s rule runs: an alert that takes back the last
held one (a VAR-cancelled goal, a glitch put right) removes it and is not held itself. A due
alert of a subscription is *moved* into the retry structure (``workers.deliver.retry``) in the
same script: it becomes the subscription's head due now, or queues behind the head there, so
sending, retries, marks and the DLQ are the retry engine's, exactly once and in order. A sink's
(the console's) due alerts are popped and printed. Every write is fenced by the partition lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import redis.asyncio as aioredis

from notifier.bus import keys
from notifier.bus.codec import text
from notifier.bus.connect import translate_errors
from notifier.bus.scripts.delivery import BUNDLE, HOLD, MOVE, TAKE
from notifier.bus.scripts.leases import fenced
from notifier.domain import holdback
from notifier.domain.alerts import ALERT, Alert
from workers.deliver.retry import Fence, run_fenced

SINK_PREFIX = "sink:"

PEEK = 200  # alerts of a bundle line looked at, and sent as one message, at most

Held = Literal["held", "elided", "already"]
_VERDICT: dict[int, Held] = {1: "held", 2: "elided", -1: "already"}


def sink_id(name: str) -> str:
    """The recipient id of a sink of this process (the console)."""
    return SINK_PREFIX + name


@dataclass(frozen=True, slots=True)
class Released:
    """Alerts a recipient's line let go."""

    recipient: str
    alert_ids: list[str]


class HoldStore:
    """The Redis side of held alerts, for one dispatcher."""

    def __init__(self, r: aioredis.Redis, *, ttl_s: int) -> None:
        self.r = r
        self.ttl_s = ttl_s
        self._scripts = {
            name: (r.register_script(script), r.register_script(fenced(script)))
            for name, script in (
                ("hold", HOLD),
                ("take", TAKE),
                ("move", MOVE),
                ("bundle", BUNDLE),
            )
        }

    async def hold(
        self, p: int, alert: Alert, recipient: str, due_ms: int, *, fence: Fence | None
    ) -> Held:
        """Hold ``alert`` for ``recipient`` until ``due_ms`` (or elide it with the last held)."""
        ks = [
            keys.held_due(p),
            keys.held_line(p, recipient),
            keys.held_marks(p, alert.id),
            keys.retry_alert(p, alert.id),
        ]
        item = {"a": alert.id, "d": due_ms, "m": holdback.mark(alert), "g": alert.match}
        args: list[Any] = [recipient, alert.id, alert.model_dump_json(), self.ttl_s, due_ms]
        tail = [orjson.dumps(item), holdback.undoes(alert), alert.match, holdback.SCAN]
        code = await self._run("hold", ks, [*args, *tail], fence)
        return _VERDICT[int(code)]

    async def due(self, p: int, now_ms: int, count: int) -> list[str]:
        """Recipients of partition p with a held alert due by ``now_ms``."""
        with translate_errors("held due"):
            ids: list[Any] = await self.r.zrangebyscore(keys.held_due(p), "-inf", now_ms, 0, count)
        return [text(i) for i in ids]

    async def holding(self, p: int) -> set[str]:
        """Every recipient of partition p with alerts held."""
        with translate_errors("held list"):
            members: list[Any] = await self.r.zrange(keys.held_due(p), 0, -1)
        return {text(m) for m in members}

    async def release(
        self, p: int, recipient: str, now_ms: int, count: int, *, fence: Fence | None
    ) -> Released:
        """Let a recipient's due alerts go: a subscription's into its retry line (the retry
        pump sends them), a sink's popped for the caller to deliver."""
        line = [keys.held_due(p), keys.held_line(p, recipient)]
        if recipient.startswith(SINK_PREFIX):
            ids = await self._run("take", line, [recipient, now_ms, count], fence)
        else:
            retry = [keys.retry_due(p), keys.retry_jobs(p), keys.retry_queue(p, recipient)]
            ids = await self._run("move", line + retry, [recipient, now_ms, count], fence)
        return Released(recipient, [text(i) for i in ids or []])

    async def due_bundle(self, p: int, recipient: str, now_ms: int) -> list[str]:
        """A bundle line's alert ids up to its last one due by ``now_ms`` (all due with it: a
        phase's end lets its digest go)."""
        with translate_errors("held peek"):
            raw: list[Any] = await self.r.lrange(keys.held_line(p, recipient), 0, PEEK - 1)
        items = [orjson.loads(i) for i in raw]
        last = max((n for n, i in enumerate(items) if i["d"] <= now_ms), default=-1)
        return [str(i["a"]) for i in items[: last + 1]]

    async def bundle(
        self,
        p: int,
        recipient: str,
        sub_id: str,
        ids: Sequence[str],
        message: Alert | None,
        now_ms: int,
        *,
        fence: Fence | None,
    ) -> bool:
        """Send the first ``ids`` of a bundle line as ``message``: moved into the retry line of
        ``sub_id`` (True), unless the line changed meanwhile. No ids: keep its due time right."""
        ks = [
            keys.held_due(p),
            keys.held_line(p, recipient),
            keys.retry_due(p),
            keys.retry_jobs(p),
            keys.retry_queue(p, sub_id),
            keys.retry_alert(p, message.id if message else "-"),
        ]
        first, last = (ids[0], ids[-1]) if ids else ("", "")
        body = message.model_dump_json() if message else ""
        args = [recipient, now_ms, len(ids), first, last, message.id if message else "", body]
        moved = await self._run("bundle", ks, [*args, self.ttl_s, sub_id], fence)
        return bool(moved)

    async def alert(self, p: int, alert_id: str) -> Alert | None:
        """A held alert's JSON, or None if it expired."""
        with translate_errors("held alert"):
            raw = await self.r.get(keys.retry_alert(p, alert_id))
        return ALERT.validate_json(raw) if raw else None

    async def _run(self, name: str, ks: list[str], args: Sequence[Any], fence: Fence | None) -> Any:
        return await run_fenced(self._scripts[name], ks, args, fence, f"held {name}")
