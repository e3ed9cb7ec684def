"""``notifier check``: the container health check reads the heartbeats of its own host."""

from __future__ import annotations

import argparse
import socket
import time

import pytest
from redis.asyncio import Redis

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
    assert "healthy: 1 fresh heartbeat(s)" in capsys.readouterr().out.splitlines()[2]


async def test_check_stale_or_unreachable(redis: Redis, redis_url: str) -> None:
    await beat(redis, "poller", f"{socket.gethostname()}-1", ttl_s=15, now=time.time() - 60)
    assert await check(Settings(redis_url=redis_url), args()) == 1  # beat too old
    assert await check(Settings(redis_url="redis://127.0.0.1:1/0"), args()) == 1
    assert await check(Settings(), args()) == 1  # embedded mode: nothing to check
