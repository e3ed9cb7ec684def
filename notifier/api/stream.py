"""``GET /v1/stream``: alerts as Server-Sent Events, filtered by team, match, tie, competition
and kind; resumable from ``Last-Event-ID`` (or ``?last_event_id=``) with no gap; a comment line
every ``api.sse_heartbeat_s`` keeps proxies from closing an idle stream. ``?delay=N`` (0-900)
streams it ``N`` seconds behind, spoiler-free (:mod:`notifier.api.delayed`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web
from multidict import MultiMapping

from notifier.api.auth import OWNER
from notifier.api.delayed import DelayedReader, parse_delay, serve_delayed, start_position
from notifier.api.hub import Client, StreamHub
from notifier.api.problems import unprocessable
from notifier.api.sse import Filter, parse_position
from notifier.api.state import HUB, SETTINGS
from notifier.bus.connect import cancel
from notifier.channels.subscriptions import fold
from notifier.domain.alerts import ALERT_KINDS
from notifier.domain.texts import LANGS, from_accept_language, language
from notifier.errors import ProblemError, StoreError
from notifier.settings import ApiSettings

log = logging.getLogger("notifier.api.stream")
READY_TIMEOUT_S = 5.0
HUB_STOP_S = 2.0  # a hub cancelled at shutdown (its readers in a Redis call) ends within this
RETRY = {"Retry-After": "5"}
HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx: pass events through at once
}


def _values(query: MultiMapping[str], name: str) -> list[str]:
    out = []
    for raw in query.getall(name, []):
        out += [v.strip() for v in raw.split(",") if v.strip()]
    return out


def parse_lang(query: MultiMapping[str], accept_language: str | None, default: str) -> str:
    """The language of a stream: ``?lang=``, else the browser's ``Accept-Language``, else the
    settings' default; an unknown ``?lang=`` is refused."""
    asked = query.get("lang")
    if asked:
        if asked.strip().split("-")[0].lower() not in LANGS:
            raise unprocessable([{"field": "lang", "message": f"unknown language {asked!r:.40}"}])
        return language(asked)
    return from_accept_language(accept_language) or default


FILTER_NAMES = ("team", "match", "tie", "competition", "kinds", "kind")


def check_filter_size(query: MultiMapping[str], api: ApiSettings) -> None:
    """422 past ``api.sse_filter_values`` values or ``api.sse_filter_value_length`` characters.

    Each client's filter is indexed in memory for as long as it stays: 1,000 streams of 1,000
    ``match=`` values each held 400 MB. Checked on the raw values, before anything is built.
    """
    count = 0
    for name in FILTER_NAMES:
        for value in _values(query, name):
            count += 1
            if len(value) > api.sse_filter_value_length:
                limit = api.sse_filter_value_length
                raise unprocessable([{"field": name, "message": f"at most {limit} characters"}])
    if count > api.sse_filter_values:
        limit = api.sse_filter_values
        raise unprocessable([{"field": "filter", "message": f"at most {limit} values in all"}])


def parse_filter(query: MultiMapping[str], lang: str = "") -> Filter:
    """The filter of ``?team=&match=&tie=&competition=&kinds=`` (repeatable or comma-separated)."""
    kinds = _values(query, "kinds") + _values(query, "kind")
    unknown = sorted(set(kinds) - set(ALERT_KINDS))
    if unknown:
        raise unprocessable([{"field": "kinds", "message": f"unknown alert kind {unknown[0]!r}"}])
    return Filter(
        teams=frozenset(fold(t) for t in _values(query, "team")),
        matches=frozenset(_values(query, "match")),
        ties=frozenset(_values(query, "tie")),
        competitions=frozenset(fold(c) for c in _values(query, "competition")),
        kinds=frozenset(kinds),
        lang=lang,
    )


def _since(request: web.Request, partitions: int) -> list[str] | None:
    last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if not last:
        return None
    try:
        return parse_position(last, partitions)
    except ValueError as exc:
        raise unprocessable([{"field": "last_event_id", "message": str(exc)}]) from None


def _delay(request: web.Request) -> int:
    try:
        return parse_delay(request.query.get("delay"))
    except ValueError as exc:
        raise unprocessable([{"field": "delay", "message": str(exc)}]) from None


async def stream(request: web.Request) -> web.StreamResponse:
    """Stream alerts until the client leaves (or falls too far behind and is dropped)."""
    hub = request.app[HUB]
    settings = request.app[SETTINGS].api
    check_filter_size(request.query, settings)
    lang = parse_lang(
        request.query, request.headers.get("Accept-Language"), request.app[SETTINGS].lang
    )
    flt = parse_filter(request.query, lang)
    since = _since(request, hub.partitions)
    delay = _delay(request)
    if delay > 0:
        return await _delayed(request, flt, since, delay)
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await hub.ready.wait()
    except TimeoutError:
        raise ProblemError(503, "the alert stream is not readable yet") from None
    owner = request[OWNER]
    if not hub.claim(owner, settings.sse_streams_per_token):
        limit = settings.sse_streams_per_token
        raise ProblemError(429, f"at most {limit} open streams per token", headers=RETRY)
    try:
        return await _serve(request, hub, flt, since)
    finally:
        hub.release(owner)


async def _serve(
    request: web.Request, hub: StreamHub, flt: Filter, since: list[str] | None
) -> web.StreamResponse:
    """The event stream of one client, from its answer's head to its end."""
    settings = request.app[SETTINGS].api
    client = hub.subscribe(flt)
    resp = web.StreamResponse(headers=HEADERS)
    resp.force_close()  # an event stream is never followed by another request
    try:
        await resp.prepare(request)
        await resp.write(b"retry: 2000\n: connected\n\n")
        if since is not None and await _replay(resp, hub, client, since, settings.sse_backlog_max):
            return resp  # more than a backlog's worth: the client resumes from here
        if await _catch_up(resp, request, hub, client):
            await client.closed.wait()  # the hub writes its frames and heartbeats
        else:
            await _live(resp, client, settings.sse_heartbeat_s)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    except StoreError as exc:  # the answer has begun: end the stream, the client resumes
        log.warning("sse_stream_ended", extra={"error": str(exc)})
    finally:
        hub.unsubscribe(client)
    return resp


async def _delayed(
    request: web.Request, flt: Filter, since: list[str] | None, delay: int
) -> web.StreamResponse:
    """The stream ``delay`` seconds behind (:mod:`notifier.api.delayed`)."""
    hub = request.app[HUB]
    settings = request.app[SETTINGS]
    rate = settings.delivery.clock_rate
    position = since or start_position(hub.partitions, delay, time.time(), rate)
    reader = DelayedReader(hub.r, flt, position, delay, settings.aliases, rate)
    resp = web.StreamResponse(headers=HEADERS)
    resp.force_close()
    try:
        await resp.prepare(request)
        await resp.write(b"retry: 2000\n: connected\n\n")
        await serve_delayed(resp, reader, settings.api.sse_heartbeat_s, lambda: hub.closed)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return resp


async def _catch_up(
    resp: web.StreamResponse, request: web.Request, hub: StreamHub, client: Client
) -> bool:
    """Write what was queued meanwhile, then hand the connection to the hub (True if done)."""
    transport = request.transport
    chunked = resp.headers.get("Transfer-Encoding", "").lower() == "chunked"
    if transport is None:  # uvloop's transports are not asyncio.Transport subclasses
        return False
    while not hub.go_direct(client, transport, chunked):
        if client.dropped:
            return True
        chunks, end = _batch(client, client.queue.get_nowait())
        if chunks:
            await resp.write(b"".join(chunks))
        if end:
            return True
    return True


async def _replay(
    resp: web.StreamResponse, hub: StreamHub, client: Client, since: list[str], limit: int
) -> bool:
    """Send the missed entries; True if the backlog limit cut them short."""
    sent = 0
    async for data in hub.backlog(client, since, max(limit, 1)):
        await resp.write(data)
        sent += 1
    return sent >= max(limit, 1)


async def _live(resp: web.StreamResponse, client: Client, heartbeat_s: float) -> None:
    while True:
        try:
            async with asyncio.timeout(heartbeat_s):
                data = await client.queue.get()
        except TimeoutError:
            await resp.write(b": keep-alive\n\n")
            continue
        chunks, end = _batch(client, data)
        if chunks:
            await resp.write(b"".join(chunks))
        if end:
            return


def _batch(client: Client, first: bytes | None) -> tuple[list[bytes], bool]:
    """The frame just taken and every one already queued; whether the stream ends after them."""
    chunks: list[bytes] = []
    data = first
    while True:
        if data is None:
            return chunks, True
        chunks.append(data)
        try:
            data = client.queue.get_nowait()
        except asyncio.QueueEmpty:
            return chunks, False


async def _hub_ctx(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    heartbeat_s = app[SETTINGS].api.sse_heartbeat_s
    task = asyncio.create_task(hub.run(heartbeat_s), name="sse-hub")
    yield
    hub.close()
    # Cancelled, not waited for: a reader in a blocking XREAD (or retrying a Redis that is down)
    # holds nothing worth finishing, and waiting out its block kept a stop past its grace.
    await cancel(task, within_s=HUB_STOP_S)


async def _close_clients(app: web.Application) -> None:
    app[HUB].close()


def setup_stream(app: web.Application) -> None:
    """Add ``/v1/stream`` and the shared reader (started and stopped with the app)."""
    app.router.add_get("/v1/stream", stream, allow_head=False)
    app.cleanup_ctx.append(_hub_ctx)
    app.on_shutdown.append(_close_clients)
