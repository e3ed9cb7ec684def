"""``notifier check``: the container health check reads the heartbeats of its own host."""

from __future__ import annotations

import argparse
import contextlib
import socket
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from notifier.bus.connect import open_redis
from notifier.bus.heartbeat import beat
from notifier.settings import Settings
from workers.cli.main import parser
from workers.cli.ops import check


def args(*argv: str) -> argparse.Namespace:
    return parser().parse_args(["check", *argv])


async def test_check_this_host(
    redis: Redis, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(redis_url=redis_url)
    assert await check(settings, args()) == 1
    assert "unhealthy: no fresh heartbeat from" in capsys.readouterr().out
    await beat(redis, "poller", "elsewhere-1", ttl_s=15, now=time.time())
    assert await check(settings, args()) == 1  # another host's worker is not ours
    assert await check(settings, args("--any")) == 0
    await beat(redis, "dispatcher", f"{socket.gethostname()}-42", ttl_s=15, now=time.time())
    assert await check(settings, args()) == 0
    assert await check(settings, args("--worker", "poller")) == 1
    assert await check(settings, args("--any", "--worker", "poller")) == 0
    said = capsys.readouterr().out.splitlines()[2]
    # This host's beat counts, another host's does not (an API an earlier in-process test left
    # beating from this host may be counted too: its name is "api:...").
    assert said.startswith("healthy:") and f"dispatcher:{socket.gethostname()}-42" in said, said
    assert "elsewhere-1" not in said, said


async def test_check_stale_or_unreachable(redis: Redis, redis_url: str) -> None:
    await beat(redis, "poller", f"{socket.gethostname()}-1", ttl_s=15, now=time.time() - 60)
    assert await check(Settings(redis_url=redis_url), args()) == 1  # beat too old
    assert await check(Settings(redis_url="redis://127.0.0.1:1/0"), args()) == 1


async def test_check_the_single_process_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`notifier run` without REDIS_URL (the Docker image's default command) names where its
    embedded server listens; `check` reads the heartbeats there, and is unhealthy once it ends."""
    settings = Settings(data_dir=tmp_path, heartbeat_s=0.2)
    assert await check(settings, args()) == 1
    assert "no embedded server running" in capsys.readouterr().out
    async with contextlib.AsyncExitStack() as stack:
        r = await open_redis(settings, stack)
        assert (tmp_path / "redis" / "server.url").is_file()
        await beat(r, "poller", f"{socket.gethostname()}-7", ttl_s=15, now=time.time())
        assert await check(settings, args()) == 0
        assert "healthy" in capsys.readouterr().out
    assert not (tmp_path / "redis" / "server.url").exists()
    assert await check(settings, args()) == 1
