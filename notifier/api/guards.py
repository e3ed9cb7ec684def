"""Middlewares that refuse what no client of ours sends, before auth and before any work.

- HTTP/0.9 (a request line without a version): 505; nothing of ours speaks it, and answering
  it helps request smuggling and protocol confusion.
- ``Content-Encoding`` on a request: 415. Bodies are small JSON documents; inflating a gzip
  bomb costs CPU before the 401 (and the server no longer inflates anything: ``auto_decompress``
  is off, see :mod:`notifier.api.server`).
- After auth, a body is read within ``api.body_timeout_s`` (408 past it: a client trickling a
  body holds no handler for long); then every route but the event stream, /readyz and /metrics
  (bounded on their own) gets ``api.redis_timeout_s``: past it, or with Redis unreachable, a
  503 with ``Retry-After`` instead of a 500 after the client's retries (~9 s). A write cut
  short may have landed: the client retries a 503, and a create may then exist twice.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from notifier.errors import ProblemError, StoreUnavailableError

SELF_BOUNDED = frozenset({"/v1/stream", "/readyz", "/metrics"})  # their own timeouts
RETRY_AFTER = {"Retry-After": "5"}


@web.middleware
async def refuse_odd_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """505 for HTTP/0.9; 415 for a request body with a ``Content-Encoding``."""
    if request.version < (1, 0):
        raise ProblemError(505, "HTTP/1.0 or later is needed")
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ProblemError(415, "request bodies are not accepted with a Content-Encoding")
    return await handler(request)


def deadlines(body_timeout_s: float, redis_timeout_s: float) -> Middleware:
    """The middleware bounding body reads (408) and the handler's Redis work (503)."""

    @web.middleware
    async def deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in SELF_BOUNDED:
            return await handler(request)
        if request.can_read_body:
            try:
                async with asyncio.timeout(body_timeout_s):
                    await request.read()  # kept by aiohttp: the handler's read gets it at once
            except TimeoutError:
                raise ProblemError(408, "the request body came too slowly") from None
        try:
            async with asyncio.timeout(redis_timeout_s):
                return await handler(request)
        except (TimeoutError, StoreUnavailableError):
            raise ProblemError(503, "redis is unavailable", headers=dict(RETRY_AFTER)) from None

    return deadline
