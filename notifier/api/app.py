"""The API's application factory, and serving it until told to stop.

``init_app(settings, r)`` builds the aiohttp application: problem-details errors, bearer-token
auth, the subscription routes, ``/v1/stream``, ``/openapi.json``, then every setup hook in
:data:`SETUPS` (the live page, health and metrics add their routes there).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from aiohttp import web

from notifier.api.auth import Auth, make_middleware
from notifier.api.chat.routes import setup_bots
from notifier.api.follows import setup_follows
from notifier.api.guards import deadlines, refuse_odd_requests
from notifier.api.health import setup_health
from notifier.api.hub import StreamHub
from notifier.api.openapi import setup_openapi
from notifier.api.page import setup_page
from notifier.api.problems import problems_middleware
from notifier.api.server import GuardedRunner, raise_fd_limit
from notifier.api.state import HUB, REDIS, SETTINGS, SUBSCRIPTIONS
from notifier.api.stream import setup_stream
from notifier.api.subs import setup_subscriptions
from notifier.bus.connect import run_to_end
from notifier.bus.subscriptions import SubscriptionStore
from notifier.settings import Settings

__all__ = ["HUB", "REDIS", "SETTINGS", "SETUPS", "SUBSCRIPTIONS", "init_app", "serve"]

log = logging.getLogger("notifier.api")
SETUPS: list[Callable[[web.Application], None]] = [setup_page, setup_health]
SHUTDOWN_TIMEOUT_S = 5.0


def init_app(settings: Settings, r: aioredis.Redis) -> web.Application:
    """The API application (ConfigError if it would listen unprotected off loopback)."""
    auth = Auth.from_settings(settings.api)
    app = web.Application(
        middlewares=[
            problems_middleware,
            refuse_odd_requests,
            make_middleware(auth),
            deadlines(settings.api.body_timeout_s, settings.api.redis_timeout_s),
        ],
        client_max_size=settings.api.max_body_bytes,
    )
    app[REDIS] = r
    app[SETTINGS] = settings
    app[SUBSCRIPTIONS] = SubscriptionStore(r, aliases=settings.aliases)
    app[HUB] = StreamHub(
        r,
        partitions=settings.streams.partitions,
        block_ms=settings.streams.block_ms,
        queue_size=settings.api.sse_queue,
        aliases=settings.aliases,
        names=settings.names_by_lang(),
    )
    setup_subscriptions(app)
    setup_follows(app)
    setup_stream(app)
    setup_openapi(app)
    setup_bots(app)
    for setup in SETUPS:
        setup(app)
    if importlib.util.find_spec("pywebpush") is not None:  # the ``webpush`` extra
        from notifier.api.push import setup_push

        setup_push(app)
    if importlib.util.find_spec("aiosmtplib") is not None:  # the ``email`` extra
        from notifier.api.unsubscribe import setup_unsubscribe

        setup_unsubscribe(app)
    return app


async def serve(settings: Settings, r: aioredis.Redis, stop: asyncio.Event) -> None:
    """Serve the API on ``api.host:api.port`` until ``stop`` is set (or cancelled)."""
    app = init_app(settings, r)
    raise_fd_limit()
    runner = GuardedRunner(app, settings.api, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.api.host, settings.api.port)
        await site.start()
        log.info("api_listening", extra={"host": settings.api.host, "port": settings.api.port})
        await stop.wait()
    finally:  # to its end even if cancelled meanwhile: else the hub and heartbeat would run on
        await run_to_end(runner.cleanup())
