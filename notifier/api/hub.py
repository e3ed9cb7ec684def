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
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, Protocol

import redis.asyncio as aioredis

from notifier.api.sse import (
    Filter,
    FilterIndex,
    chunk,
    encode_position,
    entry_info,
    frame,
    id_key,
    localised_body,
)
from notifier.bus import keys
from notifier.bus.codec import text
from notifier.bus.connect import translate_errors
from notifier.errors import StoreError

log = logging.getLogger("notifier.api.stream")
PAGE = 500
MAX_BUFFER = 256 * 1024  # bytes unsent to one client before it counts as too slow
KEEP_ALIVE = b": keep-alive\n\n"
BEAT_TICK_S = 0.1  # how often the heartbeat pass runs (at most; a quarter period if shorter)


class Writer(Protocol):
    """What the hub needs of a connection's transport (uvloop's are no asyncio.Transport)."""

    def write(self, data: bytes) -> None: ...
    def is_closing(self) -> bool: ...
    def get_write_buffer_size(self) -> int: ...


class Client:
    """One connected SSE client: its filter, where it joined, and how frames reach it.

    First through a bounded queue (while its handler catches up on the backlog); then, once
    caught up, written straight to its connection by the hub, so an alert to 10,000 clients is
    10,000 non-blocking writes and no task switch. A client whose queue is full, or whose
    connection has more than ``max_buffer`` bytes unsent, is dropped.
    """

    __slots__ = (
        "beat_at",
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
        self.transport: Writer | None = None
        self.chunked = False
        self.beat_at = 0.0  # loop time of its last heartbeat, or of going direct

    def offer(self, data: bytes, framed: bytes) -> bool:
        """Send a frame (``framed``: as an HTTP chunk) or queue it; False if the client is dropped.

        This runs once per client per alert: kept to a few attribute reads and one write.
        """
        if self.dropped:
            return False
        t = self.transport
        if t is not None:
            if t.is_closing() or t.get_write_buffer_size() > self.max_buffer:
                self.drop()
                return False
            t.write(framed if self.chunked else data)
        elif self.queue.qsize() >= self.queue.maxsize - 1:
            self.drop()
            return False
        else:
            self.queue.put_nowait(data)
        return True

    def write(self, data: bytes) -> None:
        """Write to the connection now (direct mode only), as a chunk if the response is chunked."""
        t = self.transport
        if t is None or t.is_closing() or t.get_write_buffer_size() > self.max_buffer:
            self.drop()
            return
        t.write(chunk(data) if self.chunked else data)

    def go_direct(self, transport: Writer, chunked: bool) -> bool:
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
        names: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.r = r
        self.names = names  # team names per language
        self.partitions = partitions
        self.block_ms = block_ms
        self.queue_size = queue_size
        self.aliases = dict(aliases or {})
        self.position = ["0-0"] * partitions
        self.clients: FilterIndex[Client] = FilterIndex()
        self._beats: deque[Client] = deque()  # direct clients, longest unbeaten first
        self.ready = asyncio.Event()
        self.closed = False
        self.dropped = 0
        self.connected = 0  # clients subscribed now (the /metrics gauge)
        self.streams_of: dict[str, int] = {}  # open streams per owner (``sse_streams_per_token``)

    async def start(self) -> None:
        """Begin at the newest entry of each partition."""
        for p in range(self.partitions):
            with translate_errors(f"XREVRANGE {keys.alerts(p)}"):
                rows: list[Any] = await self.r.xrevrange(keys.alerts(p), count=1) or []
            self.position[p] = text(rows[0][0]) if rows else "0-0"
        self.ready.set()

    async def run(self, heartbeat_s: float | None = None) -> None:
        """Read every partition until closed, riding out Redis outages; beat every heartbeat_s."""
        while not self.ready.is_set() and not self.closed:
            try:
                await self.start()
            except StoreError as exc:
                log.warning("stream_start_failed", extra={"error": str(exc)})
                await asyncio.sleep(1.0)
        async with asyncio.TaskGroup() as tg:
            for p in range(self.partitions):
                tg.create_task(self._reader(p), name=f"sse-reader-{p}")
            if heartbeat_s is not None:
                tg.create_task(self._heartbeats(heartbeat_s), name="sse-heartbeats")

    async def _heartbeats(self, every: float) -> None:
        """A comment line to each direct client every ``every`` seconds (see :meth:`beat`)."""
        loop = asyncio.get_running_loop()
        while not self.closed:
            await asyncio.sleep(min(every / 4, BEAT_TICK_S))
            self.beat(loop.time(), every)

    def beat(self, now: float, every: float) -> None:
        """Heartbeat the direct clients last written to (or gone direct) ``every`` seconds ago.

        One queue in heartbeat order, not a timer and a task wake-up per client: each pass
        touches only the clients that are due, so 10,000 idle streams cost next to nothing.
        """
        due = now - every
        beats = self._beats
        while beats and beats[0].beat_at <= due:
            client = beats.popleft()
            if client.dropped or client.transport is None:
                continue  # gone
            client.write(KEEP_ALIVE)
            client.beat_at = now
            beats.append(client)

    def go_direct(self, client: Client, transport: Writer, chunked: bool) -> bool:
        """Write to ``client``'s connection from now on (see :meth:`Client.go_direct`)."""
        if not client.go_direct(transport, chunked):
            return False
        client.beat_at = asyncio.get_running_loop().time()
        self._beats.append(client)
        return True

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
                    self.publish(p, text(entry_id), fields)

    def publish(self, p: int, entry_id: str, fields: Mapping[bytes, bytes]) -> None:
        """Advance partition p to ``entry_id`` and offer the entry to the clients that want it."""
        self.position[p] = entry_id
        info = entry_info(fields, self.aliases)
        if info is None or not self.clients:
            return
        position = encode_position(self.position)
        frames: dict[str, tuple[bytes, bytes]] = {}  # per language, made once
        for client in self.clients.wanting(info):
            lang = client.filter.lang
            if lang not in frames:
                data = frame(position, self._body(info.body, lang))
                frames[lang] = (data, chunk(data))
            data, framed = frames[lang]
            if not client.offer(data, framed):
                self.dropped += 1
                self.clients.discard(client.filter, client)

    def _body(self, body: bytes, lang: str) -> bytes:
        """The alert's JSON with its text in the client's language (as stored if none)."""
        if not lang or (lang == "en" and not (self.names or {}).get("en")):
            return body  # the stored text is English
        return localised_body(body, lang, self.names)

    def subscribe(self, flt: Filter) -> Client:
        """A new client, receiving every entry published from now on."""
        client = Client(flt, self.queue_size, self.position, MAX_BUFFER)
        self.clients.add(flt, client)
        self.connected += 1
        return client

    def unsubscribe(self, client: Client) -> None:
        """Forget a client (its handler has ended)."""
        self.clients.discard(client.filter, client)
        client.transport = None
        self.connected -= 1

    def claim(self, owner: str, limit: int) -> bool:
        """Count one more open stream of ``owner``; False (nothing counted) at ``limit``."""
        held = self.streams_of.get(owner, 0)
        if held >= limit:
            return False
        self.streams_of[owner] = held + 1
        return True

    def release(self, owner: str) -> None:
        """One stream of ``owner`` ended."""
        held = self.streams_of.get(owner, 0) - 1
        if held > 0:
            self.streams_of[owner] = held
        else:
            self.streams_of.pop(owner, None)

    def close(self) -> None:
        """End every client's stream and stop reading (shutting down)."""
        self.closed = True
        for client in list(self.clients):
            client.drop()
        self.clients = FilterIndex()
        self._beats.clear()

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
                    body = self._body(info.body, client.filter.lang)
                    yield frame(encode_position(position), body)
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
                yield text(entry_id), fields
            if len(rows) < PAGE:
                return
            start = "(" + text(rows[-1][0])


def _streams(reply: Any) -> Iterable[tuple[Any, list[Any]]]:
    pairs = reply.items() if isinstance(reply, dict) else (reply or [])
    for stream, rows in pairs:
        yield stream, (rows[0] if rows and isinstance(rows[0], list) else rows)
