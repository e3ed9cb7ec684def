"""open_redis: an external server by URL, or the embedded one; the password never logged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import pytest

from notifier.bus.connect import connect, mask_url, open_redis, translate_errors
from notifier.bus.embedded import free_port
from notifier.errors import StoreUnavailableError
from notifier.settings import Settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://127.0.0.1:6380/0", "redis://127.0.0.1:6380/0"),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("rediss://app:s3cret@cache.example:6380/2", "rediss://app:***@cache.example:6380/2"),
        ("redis://app@cache/0", "redis://app@cache/0"),
        (
            "unix:///run/redis.sock?db=1&password=s3cret",
            "unix:///run/redis.sock?db=1&password=***",
        ),
    ],
)
def test_mask_url_hides_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert "s3cret" not in mask_url(url)


async def test_external_url_is_used_as_is(
    redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(redis_url=redis_url, data_dir=tmp_path)
    caplog.set_level(logging.INFO, logger="notifier.store")
    async with contextlib.AsyncExitStack() as stack:
        client = await open_redis(settings, stack)
        await client.set("via-url", "1")
        assert await client.get("via-url") == b"1"
    assert not (tmp_path / "redis").exists()
    [record] = [r for r in caplog.records if r.getMessage() == "redis_connected"]
    assert record.__dict__["server"] == "external"


async def test_without_url_the_embedded_server_runs_in_data_dir(tmp_path: Path) -> None:
    settings = Settings(redis_url=None, data_dir=tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        client = await open_redis(settings, stack)
        assert await client.ping()
        port = client.connection_pool.connection_kwargs["port"]
    assert (tmp_path / "redis" / "server.log").exists()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_unreachable_server_is_our_error() -> None:
    client = connect(f"redis://127.0.0.1:{free_port()}/0", retries=0)
    with pytest.raises(StoreUnavailableError), translate_errors("ping"):
        await client.ping()
    await client.aclose()
