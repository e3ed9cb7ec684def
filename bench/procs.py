"""Helper processes of the benchmarks: the feed, the webhook receiver, a ``notifier poll``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile

import aiohttp

from bench.common import ROOT
from bench.feed_server import API_KEY


async def spawn(module: str, *args: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    """Start a bench helper process; its first line, split."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    return proc, line.decode().split()


async def stop(proc: asyncio.subprocess.Process, url: str | None = None) -> None:
    """Ask a helper to quit (POST url), else SIGTERM; kill it if it does not go."""
    if url is not None:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with aiohttp.ClientSession() as s:
                await s.post(url, timeout=aiohttp.ClientTimeout(total=5))
    elif proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 15)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def spawn_poller(
    redis_url: str, feed_url: str, *, live_s: float, jitter_s: float, extra: dict[str, str]
) -> asyncio.subprocess.Process:
    """``notifier poll`` against the bench feed, configured by environment as an operator would.

    It runs in an empty directory, so it follows no tie of ``config/ties``.
    """
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": redis_url,
        "NOTIFIER_CONFIG": os.devnull,
        "NOTIFIER_LOG_LEVEL": "WARNING",
        "NOTIFIER_LOG_FORMAT": "plain",
        "NOTIFIER_PROVIDERS__API_FOOTBALL__BASE_URL": feed_url,
        "NOTIFIER_PROVIDERS__API_FOOTBALL__API_KEY": API_KEY,
        "NOTIFIER_PROVIDERS__API_FOOTBALL__REQUESTS_PER_MINUTE": "1000000",
        "NOTIFIER_PROVIDERS__API_FOOTBALL__REQUESTS_PER_DAY": "100000000",
        "NOTIFIER_POLL__LIVE_S": str(live_s),
        "NOTIFIER_POLL__JITTER_S": str(jitter_s),
        **extra,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "workers.cli.main", "poll"),
        cwd=tempfile.gettempdir(),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
    )
