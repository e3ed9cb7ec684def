"""The API's HTTP server: aiohttp's, with the limits a public listener needs.

aiohttp alone keeps a connection that never finishes its request headers for an hour (its
keep-alive timeout), accepts connections until the process runs out of file descriptors,
inflates ``Content-Encoding: gzip`` bodies as they arrive (before any handler, so before auth)
and reads the rest of an unwanted body for 10 s after answering. Here:

- ``api.header_timeout_s`` bounds the time from a connection's start (or its last answer) to a
  complete request head: aiohttp's keep-alive timer, which only closes a connection waiting for
  a request, never one being answered (an event stream is not cut);
- ``api.max_connections`` (lowered to leave ``FD_HEADROOM`` descriptors for Redis, outgoing
  requests and logs) caps open connections: at the cap, the connection longest waiting for its
  request head is closed to make room (slow-loris sockets go first, a working client gets in);
  with none waiting, the newcomer is refused. Either is logged, at most once a second;
- request bodies are never decompressed (the ``encoding`` middleware refuses them: 415), and
  an unread body is drained for at most ``LINGER_S``.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from notifier.settings import ApiSettings

log = logging.getLogger("notifier.api")
FD_HEADROOM = 128  # descriptors kept for Redis, deliveries, files and logs
LINGER_S = 1.0
LOG_EVERY_S = 1.0


def connection_cap(wanted: int) -> int:
    """``wanted``, lowered to fit under the process's descriptor limit with headroom."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, soft - FD_HEADROOM))


def raise_fd_limit() -> None:
    """Raise the soft descriptor limit to the hard one (allowed without privileges)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _waiting(handler: RequestHandler) -> bool:
    """Whether a connection is waiting for a request head (idle or half-sent), not answering."""
    waiter = getattr(handler, "_waiter", None)
    return waiter is not None and not waiter.done() and not getattr(handler, "_messages", None)


class GuardedServer(web.Server):
    """aiohttp's server with a cap on open connections (see the module docstring)."""

    def __init__(self, *args: Any, max_connections: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_connections = max_connections
        self.evicted = 0
        self.refused = 0
        self._logged_at = 0.0

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        """Admit the connection, making room at the cap by closing the longest-waiting one."""
        super().connection_made(handler, transport)
        if len(self._connections) <= self.max_connections:
            return
        victim = next((h for h in self._connections if h is not handler and _waiting(h)), None)
        if victim is not None:
            self.evicted += 1
            victim.force_close()
        else:
            self.refused += 1
            handler.force_close()
        self._log_full()

    def _log_full(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._logged_at >= LOG_EVERY_S:
            self._logged_at = now
            log.warning(
                "api_connections_full",
                extra={
                    "max_connections": self.max_connections,
                    "evicted_waiting": self.evicted,
                    "refused": self.refused,
                },
            )


class GuardedRunner(web.AppRunner):
    """An AppRunner whose server is a :class:`GuardedServer` with the API's limits."""

    def __init__(self, app: web.Application, api: ApiSettings, **kwargs: Any) -> None:
        self.limits = server_options(api)
        self.max_connections = connection_cap(api.max_connections)
        super().__init__(app, **self.limits, **kwargs)

    async def _make_server(self) -> web.Server:
        base = await super()._make_server()  # runs the startup hooks, freezes the app
        return GuardedServer(
            base.request_handler,
            request_factory=base.request_factory,
            handler_cancellation=base.handler_cancellation,
            max_connections=self.max_connections,
            **self._kwargs,  # what AppRunner gives its server: the limits, access log options
        )


def server_options(api: ApiSettings) -> dict[str, Any]:
    """aiohttp's per-connection options that bound slow and compressed requests."""
    return {
        "keepalive_timeout": api.header_timeout_s,
        "lingering_time": LINGER_S,
        "auto_decompress": False,
    }
