"""The SSE fan-out: one reader per alert partition per process, and a bounded queue per client.

Each reader XREADs its partition (a plain read, not the dispatcher's group: every client sees
every alert) and offers each entry, rendered once as an SSE frame, to the clients whose filter
wants it. A client whose queue is full is dropped (it reconnects with ``Last-Event-ID`` and
misses nothing); the others are not slowed. A client that resumes gets the entries between its
last id and the moment it subscribed from XRANGE, then the live ones from its queue: no gap, no
repeat. With several partitions an event id is the position in each (``0:<id>,1:<id>``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis

from notifier import keys
from notifier.api.sse import Filter, chunk, encode_position, entry_info, frame, id_key
from notifier.store import StoreError, translate_errors

log = logging.getLogger("notifier.api.stream")
PAGE = 500
MAX_BUFFER = 256 * 1024  # bytes unsent to one client before it counts as too slow


class Client:
    """One connected SSE client: its filter, where it joined, and how frames reach it.

    First through a bounded queue (while its handler catches up on the backlog); then, once
    caught up, written straight to its connection by the hub, so an alert to 10,000 clients is
    10,000 non-blocking writes and no task switch. A client whose queue is full, or whose
    connection has more than ``max_buffer`` bytes unsent, is dropped.
    """

    __slots__ = (
        "chunked",
        "closed",
        "dropped",
        "filter",
        "joined",
        "max_buffer",
        "queue",
        "transport",
    )

    def __init__(self, flt: Filter, size: int, joined: Sequence[str], max_buffer: int) -> None:
        self.filter = flt
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(size + 1)
        self.joined = list(joined)
        self.max_buffer = max_buffer
        self.dropped = False
        self.closed = asyncio.Event()
        self.transport: asyncio.Transport | None = None
        self.chunked = False

    def offer(self, data: bytes, framed: bytes | None = None) -> None:
        """Send a frame (``framed``: as an HTTP chunk) or queue it; drop the client if behind."""
        if self.dropped:
            return
        if self.transport is not None:
            self.write(data, framed)
        elif self.queue.qsize() >= self.queue.maxsize - 1:
            self.drop()
        else:
            self.queue.put_nowait(data)

    def write(self, data: bytes, framed: bytes | None = None) -> None:
        """Write to the connection now (direct mode only)."""
        t = self.transport
        if t is None or t.is_closing() or t.get_write_buffer_size() > self.max_buffer:
            self.drop()
            return
        t.write((framed or chunk(data)) if self.chunked else data)

    def go_direct(self, transport: asyncio.Transport, chunked: bool) -> bool:
        """Have the hub write to the connection from now on; only with nothing queued."""
        if self.dropped or not self.queue.empty():
            return False
        self.transport, self.chunked = transport, chunked
        return True

    def drop(self) -> None:
        """End this client's stream (it reconnects and resumes from its last id)."""
        if not self.dropped:
            self.dropped = True
            self.queue.put_nowait(None)  # one slot is always kept for this
            self.closed.set()


class StreamHub:
    """The process's readers of the alert streams and its connected clients."""

    def __init__(
        self,
        r: aioredis.Redis,
        *,
        partitions: int,
        block_ms: int,
        queue_size: int,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.r = r
        self.partitions = partitions
        self.block_ms = block_ms
        self.queue_size = queue_size
        self.aliases = dict(aliases or {})
        self.position = ["0-0"] * partitions
        self.clients: set[Client] = set()
        self.ready = asyncio.Event()
        self.closed = False
        self.dropped = 0

    async def start(self) -> None:
        """Begin at the newest entry of each partition."""
        for p in range(self.partitions):
            with translate_errors(f"XREVRANGE {keys.alerts(p)}"):
                rows: list[Any] = await self.r.xrevrange(keys.alerts(p), count=1) or []
            self.position[p] = _text(rows[0][0]) if rows else "0-0"
        self.ready.set()

    async def run(self) -> None:
        """Read every partition until closed (or cancelled), riding out Redis outages."""
        while not self.ready.is_set() and not self.closed:
            try:
                await self.start()
            except StoreError as exc:
                log.warning("stream_start_failed", extra={"error": str(exc)})
                await asyncio.sleep(1.0)
        async with asyncio.TaskGroup() as tg:
            for p in range(self.partitions):
                tg.create_task(self._reader(p), name=f"sse-reader-{p}")

    async def _reader(self, p: int) -> None:
        stream = keys.alerts(p)
        while not self.closed:
            try:
                with translate_errors(f"XREAD {stream}"):
                    reply: Any = await self.r.xread(
                        {stream: self.position[p]}, count=PAGE, block=self.block_ms
                    )
            except StoreError as exc:
                log.warning("stream_read_failed", extra={"error": str(exc)})
                await asyncio.sleep(1.0)
                continue
            for _, rows in _streams(reply):
                for entry_id, fields in rows:
                    self.publish(p, _text(entry_id), fields)

    def publish(self, p: int, entry_id: str, fields: Mapping[bytes, bytes]) -> None:
        """Advance partition p to ``entry_id`` and offer the entry to the clients that want it."""
        self.position[p] = entry_id
        info = entry_info(fields, self.aliases)
        if info is None or not self.clients:
            return
        data = frame(encode_position(self.position), info.body)
        framed = chunk(data)
        for client in list(self.clients):
            if client.filter.wants(info):
                client.offer(data, framed)
                if client.dropped:
                    self.dropped += 1
                    self.clients.discard(client)

    def subscribe(self, flt: Filter) -> Client:
        """A new client, receiving every entry published from now on."""
        client = Client(flt, self.queue_size, self.position, MAX_BUFFER)
        self.clients.add(client)
        return client

    def unsubscribe(self, client: Client) -> None:
        """Forget a client."""
        self.clients.discard(client)

    def close(self) -> None:
        """End every client's stream and stop reading (shutting down)."""
        self.closed = True
        for client in list(self.clients):
            client.drop()
        self.clients.clear()

    async def backlog(
        self, client: Client, since: Sequence[str], limit: int
    ) -> AsyncIterator[bytes]:
        """Frames of the entries after ``since`` up to where the client joined (at most limit)."""
        position = list(since)
        sent = 0
        for p in range(self.partitions):
            async for entry_id, fields in self._range(p, since[p], client.joined[p]):
                position[p] = entry_id
                info = entry_info(fields, self.aliases)
                if info is not None and client.filter.wants(info):
                    yield frame(encode_position(position), info.body)
                    sent += 1
                    if sent >= limit:
                        return

    async def _range(
        self, p: int, after: str, upto: str
    ) -> AsyncIterator[tuple[str, dict[bytes, bytes]]]:
        if id_key(after) >= id_key(upto):
            return
        start = "(" + after
        while True:
            with translate_errors(f"XRANGE {keys.alerts(p)}"):
                rows: list[Any] = (
                    await self.r.xrange(keys.alerts(p), min=start, max=upto, count=PAGE) or []
                )
            for entry_id, fields in rows:
                yield _text(entry_id), fields
            if len(rows) < PAGE:
                return
            start = "(" + _text(rows[-1][0])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _streams(reply: Any) -> Iterable[tuple[Any, list[Any]]]:
    pairs = reply.items() if isinstance(reply, dict) else (reply or [])
    for stream, rows in pairs:
        yield stream, (rows[0] if rows and isinstance(rows[0], list) else rows)
