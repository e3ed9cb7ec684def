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
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis

from notifier import keys
from notifier.store import StoreError, translate_errors
from notifier.subscriptions import fold, team_names

log = logging.getLogger("notifier.api.stream")
ENTRY_ID = re.compile(r"^[0-9]{1,20}(-[0-9]{1,20})?$")
PAGE = 500


def id_key(entry_id: str) -> tuple[int, int]:
    """A stream entry id as a comparable pair."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def encode_position(position: Sequence[str]) -> str:
    """The SSE id of a position: the entry id, or ``p:id`` pairs with several partitions."""
    if len(position) == 1:
        return position[0]
    return ",".join(f"{p}:{i}" for p, i in enumerate(position))


def parse_position(text: str, partitions: int) -> list[str]:
    """A position from an SSE id (ValueError if malformed); a bare id holds for every partition."""
    text = text.strip()
    if ENTRY_ID.match(text):
        return [text] * partitions
    pairs: dict[int, str] = {}
    for part in text.split(","):
        p, sep, entry = part.strip().partition(":")
        if not sep or not p.isdigit() or int(p) >= partitions or not ENTRY_ID.match(entry):
            raise ValueError(f"not an event id of this stream: {text[:60]!r}")
        pairs[int(p)] = entry
    floor = min(pairs.values(), key=id_key)  # a partition left out: the earliest given
    return [pairs.get(p, floor) for p in range(partitions)]


@dataclass(frozen=True, slots=True)
class AlertInfo:
    """What filters look at, and the alert's JSON."""

    kind: str
    match: str
    tie: str
    competition: str
    teams: frozenset[str]
    body: bytes


def entry_info(fields: Mapping[bytes, bytes], aliases: Mapping[str, str]) -> AlertInfo | None:
    """The routing facts of an alert-stream entry, or None if it is not a readable alert."""
    body = fields.get(b"body", b"")
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        return None
    if b"\n" in body or b"\r" in body:
        body = orjson.dumps(data)  # an SSE data line must be one line
    home, away = str(data.get("home", "")), str(data.get("away", ""))
    return AlertInfo(
        kind=data["kind"],
        match=str(data.get("match", "")),
        tie=str(data.get("tie") or ""),
        competition=fold(str(data.get("competition") or "")),
        teams=frozenset(team_names(home, away, aliases=aliases)),
        body=body,
    )


@dataclass(frozen=True, slots=True)
class Filter:
    """What a client follows (nothing: everything) and which kinds (nothing: every kind)."""

    teams: frozenset[str] = frozenset()
    matches: frozenset[str] = frozenset()
    ties: frozenset[str] = frozenset()
    competitions: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()

    def wants(self, info: AlertInfo) -> bool:
        """Whether the alert passes this filter."""
        if self.kinds and info.kind not in self.kinds:
            return False
        if not (self.teams or self.matches or self.ties or self.competitions):
            return True
        return bool(
            self.teams & info.teams
            or info.match in self.matches
            or (info.tie and info.tie in self.ties)
            or (info.competition and info.competition in self.competitions)
        )


def frame(event_id: str, body: bytes) -> bytes:
    """One SSE event."""
    return b"id: " + event_id.encode() + b"\nevent: alert\ndata: " + body + b"\n\n"


class Client:
    """One connected SSE client: its filter, its queue, where it joined."""

    __slots__ = ("dropped", "filter", "joined", "queue")

    def __init__(self, flt: Filter, size: int, joined: Sequence[str]) -> None:
        self.filter = flt
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(size + 1)
        self.joined = list(joined)
        self.dropped = False

    def offer(self, data: bytes) -> None:
        """Queue a frame; a full queue drops the client."""
        if self.dropped:
            return
        if self.queue.qsize() >= self.queue.maxsize - 1:
            self.drop()
            return
        self.queue.put_nowait(data)

    def drop(self) -> None:
        """End this client's stream (it reconnects and resumes from its last id)."""
        if not self.dropped:
            self.dropped = True
            self.queue.put_nowait(None)  # one slot is always kept for this


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
        for client in list(self.clients):
            if client.filter.wants(info):
                client.offer(data)
                if client.dropped:
                    self.dropped += 1
                    self.clients.discard(client)

    def subscribe(self, flt: Filter) -> Client:
        """A new client, receiving every entry published from now on."""
        client = Client(flt, self.queue_size, self.position)
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
