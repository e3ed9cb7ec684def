"""The API alone in a process of its own, for :mod:`bench.hardening`: ``python -m
bench.api_server REDIS_URL TOKEN``; prints ``ready URL``, serves until SIGTERM.

It runs on the loop and collector policy ``notifier api`` runs on (``run_async``: uvloop, start-up
objects frozen, the collector's thresholds raised), so the figure is the product's."""

from __future__ import annotations

import asyncio
import signal
import sys

from aiohttp import web
from pydantic import SecretStr

from notifier.api.app import init_app
from notifier.api.server import GuardedRunner, raise_fd_limit
from notifier.bus.connect import connect
from notifier.settings import Settings
from workers.cli.main import run_async


async def main(redis_url: str, token: str) -> None:
    """Serve the API on a free loopback port until SIGTERM."""
    settings = Settings.load(None, redis_url=redis_url)
    settings.api.tokens = [SecretStr(token)]
    r = connect(redis_url)
    raise_fd_limit()
    runner = GuardedRunner(init_app(settings, r), settings.api, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"ready http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()
    await r.aclose()


if __name__ == "__main__":
    run_async(main(sys.argv[1], sys.argv[2]))
