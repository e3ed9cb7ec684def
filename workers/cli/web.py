"""Serving aiohttp applications from a command: the API beside a replay, a worker's metrics."""

from __future__ import annotations

import contextlib

import redis.asyncio as aioredis
from aiohttp import web

from notifier.bus.connect import run_to_end
from notifier.settings import Settings


def split_address(address: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` -> (host, port); ValueError if it is not one."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or default_host
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{address!r} is not HOST:PORT")
    return host, int(port)


async def start_site(
    app: web.Application, host: str, port: int, stack: contextlib.AsyncExitStack
) -> str:
    """Serve ``app`` on host:port (0 picks a free port) until ``stack`` closes; its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()

    async def cleanup() -> None:
        # To its end even if the command is cancelled again meanwhile (``bus.connect.cancel``
        # repeats it): cut short, the app's cleanup left its SSE hub and heartbeat running.
        await run_to_end(runner.cleanup())

    stack.push_async_callback(cleanup)
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{bound}"


async def serve_api(
    settings: Settings, r: aioredis.Redis, address: str, stack: contextlib.AsyncExitStack
) -> str:
    """The API (subscriptions, SSE, live page, health, metrics) on ``address``; its base URL."""
    from notifier.api.app import init_app

    host, port = split_address(address)
    api = settings.api.model_copy(update={"host": host, "port": port})
    app = init_app(settings.model_copy(update={"api": api}), r)
    return await start_site(app, host, port, stack)
