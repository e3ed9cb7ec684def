"""A webhook receiver in its own process: notes when each alert arrives.

``python -m bench.receiver``: serves on a free loopback port and prints ``url http://…``.
``POST /hook/…`` records (wall time of receipt, alert id, kind, match, score, emitted_at,
webhook-id; of an encrypted Web Push, its size); ``GET /received`` returns them all as JSON;
``POST /quit`` stops it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiohttp import web

RECEIVED = web.AppKey("received", list)
STOP = web.AppKey("stop", asyncio.Event)


async def hook(request: web.Request) -> web.Response:
    """Record one delivery."""
    at = time.time()
    raw = await request.read()
    if request.headers.get("Content-Encoding") == "aes128gcm":  # a Web Push: opaque to us
        request.app[RECEIVED].append({"at": at, "id": None, "bytes": len(raw)})
        return web.Response(status=201)
    body: dict[str, Any] = orjson.loads(raw)
    request.app[RECEIVED].append(
        {
            "at": at,
            "id": body.get("id"),
            "kind": body.get("kind"),
            "match": body.get("match"),
            "score": body.get("score"),
            "emitted_at": body.get("emitted_at"),
            "webhook_id": request.headers.get("webhook-id"),
        }
    )
    return web.Response(status=204)


async def received(request: web.Request) -> web.Response:
    """Everything received so far."""
    return web.Response(body=orjson.dumps(request.app[RECEIVED]), content_type="application/json")


async def quit_(request: web.Request) -> web.Response:
    """Stop serving."""
    request.app[STOP].set()
    return web.Response(status=204)


async def main() -> None:
    """Serve until told to quit (or for an hour at most)."""
    app = web.Application(client_max_size=1024**2)
    app[RECEIVED] = []
    app[STOP] = asyncio.Event()
    app.router.add_post("/hook/{name}", hook)
    app.router.add_get("/received", received)
    app.router.add_post("/quit", quit_)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"url http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    try:
        async with asyncio.timeout(3600):
            await app[STOP].wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
