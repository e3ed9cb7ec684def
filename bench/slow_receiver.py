"""Receivers that misbehave, in a process of their own (so their work does not slow the
benchmark's own loop): ``/hang/...`` never answers, ``/huge/...`` answers 10 MB,
``/trickle/...`` a byte a second. ``python -m bench.slow_receiver``; prints ``ready URL``."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import ClientConnectionResetError, web

HUGE = b"x" * 10_000_000


async def answer(request: web.Request) -> web.StreamResponse:
    """Misbehave as the path says."""
    kind = request.path.split("/")[1]
    await request.read()
    if kind == "hang":
        await asyncio.sleep(3600)
    if kind == "huge":
        return web.Response(body=HUGE)
    if kind == "trickle":
        resp = web.StreamResponse()
        await resp.prepare(request)
        # The sender gives up (its timeout) long before the hour: that is the point, not an
        # error worth a traceback.
        with contextlib.suppress(ClientConnectionResetError, ConnectionResetError):
            for _ in range(3600):
                await resp.write(b"x")
                await asyncio.sleep(1.0)
        return resp
    return web.Response(text="ok")


async def main() -> None:
    """Serve on a free loopback port until killed."""
    app = web.Application(client_max_size=1024**2)
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"ready http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
