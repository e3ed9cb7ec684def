"""``GET /v1/stream?delay=N``: the alert stream ``N`` seconds behind, for someone watching a
broadcast that is behind the feed.

Each alert is sent ``N`` s after it was emitted (on the match clock: ``delivery.clock_rate``),
in stream order, and what is sent is the match as it stood then
(:mod:`notifier.domain.holdback`): a goal ruled out within the window is never sent, nor its
cancellation. Nothing is held in this process that the stream does not keep: the
event id of each frame is the position of the last alert *sent* on each partition (or, where
nothing is held, of the last one read), so a client that reconnects with ``Last-Event-ID`` reads
again from there and gets the same alerts, the same way, from the same stream.

A delayed client reads the partitions on its own (``XRANGE`` from its position, every
``POLL_S`` or sooner when the next alert is due): delayed viewers are few, and each reads only
what follows its own position.

Only a pair adjacent in what the client follows is elided (not one with an alert of another
followed match between): the position in each frame must let a reconnecting client rebuild
the same held line from the stream, and a pair straddling an alert already sent could not be.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from pydantic import ValidationError

from notifier.api.sse import Filter, encode_position, entry_info, frame
from notifier.bus import keys
from notifier.bus.codec import text
from notifier.bus.connect import translate_errors
from notifier.domain.alerts import ALERT, Alert
from notifier.domain.holdback import MAX_DELAY_S, HeldLine, due_ms
from notifier.errors import StoreError

POLL_S = 0.5  # how often a delayed client looks for new alerts
PAGE = 500


def parse_delay(raw: str | None) -> int:
    """``?delay=``: whole seconds 0-900 (ValueError with the reason otherwise)."""
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or not 0 <= int(raw) <= MAX_DELAY_S:
        raise ValueError(f"must be a whole number of seconds from 0 to {MAX_DELAY_S}")
    return int(raw)


def start_position(partitions: int, delay_s: int, now_s: float, rate: float = 1.0) -> list[str]:
    """Where a delayed client with no Last-Event-ID starts: what was emitted ``delay_s`` ago
    on the match clock (stream entry ids begin with the time they were added, in ms)."""
    return [f"{int((now_s - delay_s / rate) * 1000)}-0"] * partitions


class DelayedReader:
    """One delayed client's view of the partitions: read, held, released."""

    def __init__(
        self,
        r: aioredis.Redis,
        flt: Filter,
        position: Sequence[str],
        delay_s: int,
        aliases: dict[str, str],
        rate: float = 1.0,
    ) -> None:
        self.r = r
        self.filter = flt
        self.delay_s = delay_s
        self.rate = rate  # how fast the match clock runs (a replay's --speed)
        self.aliases = aliases
        self.read = list(position)  # read up to, per partition
        self.sent = list(position)  # the position frames carry: resumable
        self.lines = [HeldLine(per_match=False) for _ in position]
        self.entry: dict[str, tuple[str, bytes]] = {}  # alert id -> (entry id, body)

    async def poll(self) -> None:
        """Read what is new on every partition and hold what the filter wants."""
        for p in range(len(self.read)):
            await self._read(p)

    async def _read(self, p: int) -> None:
        for _ in range(100):  # bounded: 50,000 entries a poll
            with translate_errors(f"XRANGE {keys.alerts(p)}"):
                rows: Any = await self.r.xrange(
                    keys.alerts(p), min="(" + self.read[p], max="+", count=PAGE
                )
            for entry_id, fields in rows or []:
                self._take(p, text(entry_id), fields)
            if len(rows or []) < PAGE:
                return

    def _take(self, p: int, entry_id: str, fields: dict[bytes, bytes]) -> None:
        self.read[p] = entry_id
        info = entry_info(fields, self.aliases)
        alert = _alert(fields) if info is not None and self.filter.wants(info) else None
        if alert is None or info is None:
            if not self.lines[p].items:  # nothing held before it: settled
                self.sent[p] = entry_id
            return
        line = self.lines[p]
        if line.hold(alert, due_ms(alert.emitted_at, self.delay_s, self.rate)) == "elided":
            if line.elided is not None:  # the goal it took back goes with it
                self.entry.pop(line.elided.id, None)
        else:
            self.entry[alert.id] = (entry_id, info.body)

    def release(self, now_ms: int) -> list[bytes]:
        """Frames of the alerts due by ``now_ms``, partition by partition, each in order."""
        frames = []
        for p, line in enumerate(self.lines):
            for alert in line.release(now_ms):
                entry_id, body = self.entry.pop(alert.id)
                self.sent[p] = entry_id
                frames.append(frame(encode_position(self.sent), body))
            if not line.items:
                self.sent[p] = self.read[p]
        return frames

    def next_due_s(self, now_ms: int) -> float:
        """Seconds until the next held alert is due (at most ``POLL_S``)."""
        dues = [line.items[0][1] for line in self.lines if line.items]
        return max(0.0, min([POLL_S, *((d - now_ms) / 1000 for d in dues)]))


def _alert(fields: dict[bytes, bytes]) -> Alert | None:
    try:
        return ALERT.validate_json(fields[b"body"])
    except (KeyError, ValidationError):
        return None


async def serve_delayed(
    resp: web.StreamResponse,
    reader: DelayedReader,
    heartbeat_s: float,
    closing: Callable[[], bool],
) -> None:
    """Write the delayed stream until the client leaves or ``closing()`` (the server stops);
    a Redis error ends it too (the client reconnects with its last event id)."""
    quiet_since = time.monotonic()
    while not closing():
        try:
            await reader.poll()
        except StoreError:
            return
        frames = reader.release(int(time.time() * 1000))
        if frames:
            await resp.write(b"".join(frames))
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= heartbeat_s:
            await resp.write(b": keep-alive\n\n")
            quiet_since = time.monotonic()
        await asyncio.sleep(reader.next_due_s(int(time.time() * 1000)))
