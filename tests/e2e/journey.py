"""What the offline journey tests share: the real CLI in subprocesses, a replay feed of a
recording on a free loopback port, and an environment that points the provider at it and keeps
settings and data in a temporary directory (nothing else is configured)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from notifier.bus.embedded import free_port

CLI = [sys.executable, "-m", "workers.cli"]
PACE = {  # fast enough for a test: the feed's clock runs hundreds of times faster than ours
    "NOTIFIER_POLL__LIVE_S": "0.5",
    "NOTIFIER_POLL__HALF_TIME_S": "0.5",
    "NOTIFIER_POLL__PRE_MATCH_S": "1",
    "NOTIFIER_POLL__LINEUP_S": "1",
    "NOTIFIER_HEARTBEAT_S": "1",
}


def journey_env(home: Path, provider_url: str, provider: str = "espn") -> dict[str, str]:
    """A user's environment: empty settings and data dirs under ``home``, the provider at
    ``provider_url``, the API on a free port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFIER_", "REDIS_URL"))}
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        HOME=str(home),
        NOTIFIER_LOG_FORMAT="plain",
        NOTIFIER_API__PORT=str(free_port()),
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    env[f"NOTIFIER_PROVIDERS__{provider.upper().replace('-', '_')}__BASE_URL"] = provider_url
    return env


async def cli(
    env: dict[str, str], cwd: Path, *args: str, within: float = 30.0
) -> tuple[int, str, str]:
    """Run one CLI command to its end: exit code, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), within)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@contextlib.asynccontextmanager
async def background(
    env: dict[str, str], cwd: Path, *args: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A long-running CLI command (stdout and stderr piped), stopped with SIGTERM at the end."""
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@contextlib.asynccontextmanager
async def replay_feed(
    env: dict[str, str], cwd: Path, provider: str, recording: Path, *extra: str
) -> AsyncIterator[str]:
    """``notifier replay-server`` of ``recording`` on a free port, once it listens: its URL."""
    port = free_port()
    args = ["replay-server", "--provider", provider, str(recording), "--port", str(port), *extra]
    async with background(env, cwd, *args) as proc:
        assert proc.stderr is not None
        line = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert b"replay feed" in line, line
        yield f"http://127.0.0.1:{port}"


async def lines_until(stream: asyncio.StreamReader, done: str, within: float) -> list[str]:
    """Lines of ``stream`` up to (and with) the first that contains ``done``."""
    got: list[str] = []
    async with asyncio.timeout(within):
        while not got or done not in got[-1]:
            raw = await stream.readline()
            if not raw:
                break
            got.append(raw.decode().rstrip("\n"))
    return got
