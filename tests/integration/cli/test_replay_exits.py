"""How replay/demo end: non-zero when an alert ended in a dead-letter stream; one Ctrl-C stops
``demo --api --stay`` cleanly, during the replay as after it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import cast

from redis.asyncio import Redis

from notifier.bus import keys
from tests.recordings import NO_SETTINGS
from workers.cli.commands import dead_letters
from workers.cli.runtime import Pipeline


class _Pipe:
    def __init__(self, r: Redis) -> None:
        self.r = r


async def test_dead_letters_are_counted(redis: Redis) -> None:
    pipe = cast(Pipeline, _Pipe(redis))
    assert await dead_letters(pipe) == 0
    await redis.xadd(keys.dlq("delivery"), {"alert": "x"})
    assert await dead_letters(pipe) == 1


async def test_one_ctrl_c_stops_demo_with_api_and_stay(tmp_path: Path) -> None:
    env = {**os.environ, "NOTIFIER_CONFIG": str(NO_SETTINGS), "NOTIFIER_DATA_DIR": str(tmp_path)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workers.cli", "demo", "--speed", "5", "--api", "127.0.0.1:0",
        "--stay", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        async with asyncio.timeout(90):
            while b"live page:" not in await proc.stderr.readline():
                pass
            proc.send_signal(signal.SIGINT)
            await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode in (0, 130), "one Ctrl-C ends it, without a traceback"
