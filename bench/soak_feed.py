"""One soak wave's replay feed, in its own process (``make soak`` measures the resident memory
of the notifier's process: a feed served from it would count there, and aiohttp keeps every
application it has served in a module-level cache).

``python -m bench.soak_feed FIRST_ID START COUNT SPEED PORT``: matches ``START`` …
``START + COUNT - 1`` of the soak (cloned from the recordings, fixture ids ``FIRST_ID + i``),
from ``PRE_MATCH_LEAD_S`` before kick-off, on ``127.0.0.1:PORT``. Prints ``ready`` once it
listens; stops on SIGTERM (or after an hour).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from bench.common import ShiftedTimeline, load_json, recordings, with_fixture_id
from notifier.replay.server import start_replay_server
from workers.cli.commands import PRE_MATCH_LEAD_S, REPLAY_KEY

LIFETIME_S = 3600.0


def wave_timelines(first_id: int, start: int, count: int) -> list[ShiftedTimeline]:
    """The soak's matches ``start`` … ``start + count - 1`` (the same clones as its plan)."""
    sources = [load_json(p) for p in recordings()]
    return [
        ShiftedTimeline(with_fixture_id(sources[i % len(sources)], first_id + i), 0.0)
        for i in range(start, start + count)
    ]


async def main(first_id: int, start: int, count: int, speed: float, port: int) -> None:
    """Serve until SIGTERM."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    feed = await start_replay_server(
        wave_timelines(first_id, start, count),
        speed=speed,
        start_offset=-PRE_MATCH_LEAD_S,
        api_key=REPLAY_KEY,
        port=port,
    )
    print("ready", flush=True)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LIFETIME_S):
                await stop.wait()
    finally:
        await feed.close()


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(int(a[0]), int(a[1]), int(a[2]), float(a[3]), int(a[4])))
