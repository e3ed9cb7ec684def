"""The Redis connection: an external server (``REDIS_URL``), a cluster, or the embedded one.

``redis+cluster://host:port`` (or ``rediss+cluster://``, or the setting ``cluster = true``)
names a Redis/Valkey Cluster: the client is then redis-py's asyncio ``RedisCluster``, typed as
``Redis`` because the notifier uses only commands both share, each multi-key one within one slot
(hash tags); :func:`is_cluster` tells the few places that read or scan differently. Also the
translation of redis-py errors into ours, used by every module that talks to Redis, and
:func:`cancel`, the one way a task is stopped: redis-py can swallow a cancel (see there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis import exceptions as rexc
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from notifier.bus.embedded import EmbeddedServer
from notifier.errors import ConfigError, StoreError, StoreUnavailableError
from notifier.settings import Settings

log = logging.getLogger("notifier.store")
T = TypeVar("T")

SOCKET_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0
HEALTH_CHECK_S = 15
# ~0.05 + 0.1 + ... capped at 2 s: about 8 s of retrying, enough to ride out a server restart.
RETRIES = 8
RETRY_ERRORS: list[type[Exception]] = [rexc.ConnectionError, rexc.TimeoutError]
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
REFUSED = (rexc.AuthenticationError, rexc.AuthorizationError)


class _Retry(Retry):
    """redis-py's retry, except of a refused password (AUTH, HELLO, NOAUTH): retrying cannot
    mend it, and the retries of each connect inside the retries of each command made a missing
    password take 90 s to report."""

    failures = 0  # commands that failed (and were retried or given up) on this client

    async def call_with_retry(
        self,
        do: Callable[[], Awaitable[T]],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        """Call ``do`` with retries, none for a refused password."""

        def retryable(error: Exception) -> bool:
            self.failures += 1
            if isinstance(error, REFUSED):
                return False
            return is_retryable(error) if is_retryable is not None else True

        return await super().call_with_retry(do, fail, retryable, with_failure_count)


def failures(r: object) -> int:
    """How many commands of client ``r`` have failed so far (0 for a client without our retry).

    A failed command may still have taken effect: an ``XREADGROUP`` whose reply was lost moved
    entries into the consumer's pending list unseen, and its retry reads the ones after them."""
    get_retry = getattr(r, "get_retry", None)
    retry = get_retry() if get_retry is not None else None
    return retry.failures if isinstance(retry, _Retry) else 0


@contextlib.contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Turn redis-py errors raised inside the block into StoreError / StoreUnavailableError."""
    try:
        yield
    except REFUSED as exc:  # a ConnectionError to redis-py, but no outage: the password is wrong
        raise StoreError(f"{what}: redis refused the credentials of REDIS_URL: {exc}") from exc
    except (rexc.ConnectionError, rexc.TimeoutError) as exc:
        raise StoreUnavailableError(f"{what}: redis unavailable: {exc}") from exc
    except rexc.RedisError as exc:
        raise StoreError(f"{what}: {exc}") from exc


async def cancel(*tasks: asyncio.Future[Any], within_s: float | None = None) -> None:
    """Cancel ``tasks`` and return once every one has really ended.

    Cancelled again until it ends: on Python 3.11 a cancel that lands while redis-py is in
    ``asyncio.wait_for`` (writing a command) can be swallowed, and the task runs on. With
    ``within_s``, give up after that long (the tasks still alive are logged by name), so a
    shutdown stays bounded. Then what each task ended with is read, so none is "never retrieved",
    and the first exception other than a cancellation is raised: a failure is not lost.
    """
    deadline = None if within_s is None else asyncio.get_running_loop().time() + within_s
    while alive := [t for t in tasks if not t.done()]:
        if deadline is not None and asyncio.get_running_loop().time() >= deadline:
            log.warning("tasks_not_stopped", extra={"tasks": [_name(t) for t in alive]})
            break
        for task in alive:
            task.cancel()
        await asyncio.wait(alive, timeout=0.1)
    failures = [t.exception() for t in tasks if t.done() and not t.cancelled()]
    if failure := next((f for f in failures if f is not None), None):
        raise failure


async def run_to_end(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` to its end even if this task is cancelled meanwhile, then let the cancel go on.

    A wind-down (stopping workers, a hub, clearing heartbeats) is itself awaited; a caller that
    cancels until the task really ends (:func:`cancel` repeats its cancel every 0.1 s) would cut
    it short at its first await, and what it was stopping would run on with nobody to stop it.
    ``work`` must be bounded (its waits have timeouts), so this wait is too.
    """
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    task.result()


def _name(task: asyncio.Future[Any]) -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)


def mask_url(url: str) -> str:
    """The URL with its password (in the netloc or the query) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is not None:
        host = parts.netloc.rpartition("@")[2]
        url = url.replace(parts.netloc, f"{parts.username or ''}:***@{host}", 1)
    return re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", url)


def cluster_url(url: str) -> str | None:
    """The plain URL behind a ``redis+cluster://`` or ``rediss+cluster://`` URL, else None."""
    scheme, sep, rest = url.partition("://")
    plain = CLUSTER_SCHEMES.get(scheme.lower())
    return f"{plain}{sep}{rest}" if plain and sep else None


def is_cluster(r: object) -> bool:
    """Whether a client talks to a cluster (reads and scans go per slot or per node then)."""
    return isinstance(r, RedisCluster)


def connect(
    url: str,
    *,
    socket_timeout_s: float = SOCKET_TIMEOUT_S,
    retries: int = RETRIES,
    cluster: bool = False,
) -> aioredis.Redis:
    """A client for ``url`` (redis://, rediss://, unix://, redis+cluster://; passwords as
    redis-py accepts them); a cluster client for a cluster URL or when ``cluster``."""
    options: dict[str, Any] = {
        "decode_responses": False,
        "socket_timeout": socket_timeout_s,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_keepalive": True,
        "health_check_interval": HEALTH_CHECK_S,
        "retry": _Retry(ExponentialBackoff(cap=2.0, base=0.05), retries),
        "retry_on_error": list(RETRY_ERRORS),
    }
    plain = cluster_url(url)
    if plain is None and not cluster:
        return aioredis.Redis.from_url(url, **options)
    if url.startswith("unix:"):
        raise ConfigError("a Redis Cluster is reached over TCP, not a unix socket")
    # Same commands, other routing: see the module docstring.
    return cast(aioredis.Redis, RedisCluster.from_url(plain or url, **options))


async def _first_ping(client: aioredis.Redis, url: str, timeout_s: float) -> None:
    """Connect and PING within ``timeout_s``, or log one line saying why not and raise.

    A server that accepts connections and never answers made the start hang for minutes
    (each retry a new connection, nothing logged)."""
    try:
        async with asyncio.timeout(timeout_s):
            with translate_errors("connect"):
                await client.ping()
    except (TimeoutError, StoreUnavailableError) as exc:
        cause = str(exc) or f"no answer to PING within {timeout_s:g} s"
        log.error(
            "redis_unreachable",
            extra={"url": mask_url(url), "timeout_s": timeout_s, "error": cause},
        )
        raise StoreUnavailableError(
            f"redis at {mask_url(url)} did not answer within {timeout_s:g} s "
            "(redis_connect_timeout_s): " + cause
        ) from None


SERVER_FILE = "server.url"  # in data_dir/redis: where a running embedded server listens


def server_file(settings: Settings) -> Path:
    """Where a process running the embedded server writes its address (for ``notifier check``,
    ``status``, ``follow``: the commands that join it)."""
    return settings.data_dir / "redis" / SERVER_FILE


async def running_server(settings: Settings) -> str | None:
    """The URL of the embedded server another process runs on ``data_dir``, if it answers."""
    try:
        url = server_file(settings).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    client = connect(url, socket_timeout_s=2.0, retries=1)
    try:
        await client.ping()
    except (rexc.RedisError, OSError):
        return None
    finally:
        await client.aclose()
    return url


async def open_redis(
    settings: Settings, stack: contextlib.AsyncExitStack, *, join: bool = False
) -> aioredis.Redis:
    """Connect to REDIS_URL, or start the embedded server in ``data_dir/redis``; both on stack.

    ``join``: use the embedded server another process (``notifier run``) already runs on the
    same data directory, when there is one, rather than starting one."""
    if settings.redis_url:
        url, server = settings.redis_url, "external"
    elif settings.cluster:
        raise ConfigError("cluster = true needs REDIS_URL naming a node of the cluster")
    elif join and (running := await running_server(settings)):
        url, server = running, "embedded (joined)"
    else:
        url, server = await _start_embedded(settings, stack, publish=not join)
    # A blocking XREADGROUP must not outlive the socket timeout.
    timeout = max(SOCKET_TIMEOUT_S, settings.streams.block_ms / 1000 + 5)
    client = connect(url, socket_timeout_s=timeout, cluster=settings.cluster)
    stack.push_async_callback(client.aclose)
    await _first_ping(client, url, settings.redis_connect_timeout_s)
    if is_cluster(client):
        server = "cluster"
    log.info("redis_connected", extra={"server": server, "url": mask_url(url)})
    return client


async def _start_embedded(
    settings: Settings, stack: contextlib.AsyncExitStack, *, publish: bool
) -> tuple[str, str]:
    embedded = EmbeddedServer(settings.data_dir / "redis")
    await stack.enter_async_context(embedded)
    if publish:  # a long-running process: say where it listens, until it stops
        path = server_file(settings)
        path.write_text(embedded.url + "\n", encoding="utf-8")
        stack.callback(path.unlink, missing_ok=True)
    return embedded.url, f"embedded {embedded.binary.name}"
