"""The replay feed in its own process, serving many cloned matches, counting requests.

``python -m bench.feed_server COUNT SPEED START_OFFSET SPREAD``: ``COUNT`` matches cloned from
the recordings (fixture ids from 7,000,000, each shifted by up to ``SPREAD`` virtual seconds, as
:func:`bench.common.timelines` makes them), on a free loopback port, its clock on wall time.
Prints ``url http://… START_WALL``. ``GET /bench/requests`` returns the request count;
``POST /bench/quit`` stops it.
"""

from __future__ import annotations

import asyncio
import sys
import time

from aiohttp import web

from bench.common import timelines
from notifier.replay.server import ReplayClock, create_app

REQUESTS = web.AppKey("requests", list)
STOP = web.AppKey("bench_stop", asyncio.Event)
API_KEY = "bench-key"


async def count(request: web.Request) -> web.Response:
    """How many feed requests were answered."""
    return web.json_response({"requests": request.app[REQUESTS][0]})


async def quit_(request: web.Request) -> web.Response:
    """Stop serving."""
    request.app[STOP].set()
    return web.Response(status=204)


async def main(n: int, speed: float, offset: float, spread: float) -> None:
    """Serve until told to quit (or for an hour at most)."""
    served = {str(t.fixture_id): t for t in timelines(n, spread_s=spread)}
    started = time.time()
    clock = ReplayClock(speed=speed, start_offset=offset, time_fn=time.time)
    app = create_app(dict(served), clock, API_KEY)
    app[REQUESTS] = [0]
    app[STOP] = asyncio.Event()

    async def counted(request: web.Request, response: web.StreamResponse) -> None:
        if not request.path.startswith("/bench/"):
            request.app[REQUESTS][0] += 1

    app.on_response_prepare.append(counted)
    app.router.add_get("/bench/requests", count)
    app.router.add_post("/bench/quit", quit_)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"url http://127.0.0.1:{runner.addresses[0][1]} {started}", flush=True)
    try:
        async with asyncio.timeout(3600):
            await app[STOP].wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(int(a[0]), float(a[1]), float(a[2]), float(a[3])))
