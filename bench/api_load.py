"""The attackers of :mod:`bench.hardening`'s ``/healthz`` figure, in a process of their own:
``python -m bench.api_load BASE_URL TOKEN SECONDS``.

1,500 half-sent connections (kept at 1,500: the ones the server times out are opened again) and
four clients listing every subscription in 200-item pages without pause. They come from another
process, as they would from another machine: in the prober's process, parsing 100 KB pages and
reconnecting 1,500 sockets delayed the prober's own reads, and the figure measured the bench.
Prints ``ready`` once the half-sent connections are open, then ``pages N`` when done.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time

import aiohttp

SLOW = 1500
LISTERS = 4
SETTLE_S = 4.0  # for the 1,500 to connect and send their half
HALF_SENT = b"GET /v1/subscriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


async def _slow_pool(port: int, stop_at: float) -> None:
    """Keep SLOW half-sent connections open until ``stop_at``."""

    async def one() -> None:
        while time.monotonic() < stop_at:
            with contextlib.suppress(OSError):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(HALF_SENT)
                with contextlib.suppress(OSError, TimeoutError):
                    async with asyncio.timeout(max(0.0, stop_at - time.monotonic())):
                        await reader.read()
                writer.close()
            await asyncio.sleep(0.05)

    await asyncio.gather(*(one() for _ in range(SLOW)))


async def _lister(base: str, token: str, stop_at: float) -> int:
    pages = 0
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base) as http:
        while time.monotonic() < stop_at:
            cursor = ""
            while cursor is not None and time.monotonic() < stop_at:
                async with http.get(
                    f"/v1/subscriptions?limit=200&cursor={cursor}", headers=auth
                ) as resp:
                    cursor = (await resp.json())["next_cursor"]
                pages += 1
    return pages


async def main(base: str, token: str, seconds: float) -> None:
    """Load the API for ``seconds`` after the half-sent connections settled."""
    port = int(base.rsplit(":", 1)[1])
    stop_at = time.monotonic() + SETTLE_S + seconds
    pool = asyncio.create_task(_slow_pool(port, stop_at))
    await asyncio.sleep(SETTLE_S)
    listers = [asyncio.create_task(_lister(base, token, stop_at)) for _ in range(LISTERS)]
    print("ready", flush=True)
    pages = sum(await asyncio.gather(*listers))
    await pool
    print(f"pages {pages}", flush=True)


if __name__ == "__main__":
    from workers.cli.main import run_async

    run_async(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
