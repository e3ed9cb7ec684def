"""``/healthz`` (the process answers), ``/readyz`` (Redis answers, workers beat) and ``/metrics``.

The API writes its own heartbeat (worker ``api``) while it runs, so ``notifier check`` in the
API's container sees it like any worker's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import orjson
import redis.asyncio as aioredis
from aiohttp import web

from notifier import metrics
from notifier.api.hub import StreamHub
from notifier.bus.connect import cancel
from notifier.bus.heartbeat import clear, fresh_heartbeats, run_heartbeat
from notifier.errors import StoreError
from notifier.settings import Settings

READY_TIMEOUT_S = 2.0
API_WORKER = "api"
BEAT_TASK = web.AppKey("api_heartbeat", asyncio.Task[None])


def deps(app: web.Application) -> tuple[aioredis.Redis, Settings]:
    """The Redis client and settings the app factory put on the application."""
    from notifier.api import state  # the app factory's keys (state imports the API's modules

    return app[state.REDIS], app[state.SETTINGS]


def hub_of(app: web.Application) -> StreamHub:
    """The app's SSE hub (its client and drop counts are gauges of /metrics)."""
    from notifier.api import state

    return app[state.HUB]


def host_of(beat_id: str) -> str:
    """The host of a ``worker:host-pid`` heartbeat id."""
    instance = beat_id.partition(":")[2]
    return instance.rpartition("-")[0] or instance


def assess(
    beats: Mapping[str, float],
    now: float,
    *,
    max_age: float,
    host: str | None = None,
    workers: Iterable[str] = (),
) -> tuple[bool, str]:
    """Whether the heartbeats say healthy (of ``host`` only, if given), and why, in one line."""
    fresh = sorted(
        k for k, t in beats.items() if now - t <= max_age and (host is None or host_of(k) == host)
    )
    where = f" from {host}" if host else ""
    if not fresh:
        return False, f"no fresh heartbeat{where}"
    roles = {k.partition(":")[0] for k in fresh}
    missing = sorted(set(workers) - roles)
    if missing:
        return False, f"no fresh heartbeat{where} of " + ", ".join(missing)
    return True, f"{len(fresh)} fresh heartbeat(s){where}: " + ", ".join(fresh)


def cause(exc: BaseException) -> str:
    """An error in words, never empty: its message, else its type (and its cause's)."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 3:
        text = str(seen).strip()
        parts.append(text or type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, TimeoutError) and not str(exc).strip():
        return f"no answer within {READY_TIMEOUT_S:g} s"
    return ": ".join(dict.fromkeys(parts))


async def readiness(r: aioredis.Redis, settings: Settings, now: float) -> dict[str, Any]:
    """Redis reachable, and a fresh heartbeat of each worker ``ready_workers`` names."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await r.ping()
            beats = await fresh_heartbeats(r)
    except (StoreError, TimeoutError, OSError, aioredis.RedisError) as exc:
        return {"ready": False, "redis": False, "reason": f"redis unreachable: {cause(exc)}"}
    ok, reason = assess(
        beats, now, max_age=3 * settings.heartbeat_s, workers=settings.ready_workers
    )
    return {"ready": ok, "redis": True, "reason": reason, "heartbeats": sorted(beats)}


async def healthz(request: web.Request) -> web.Response:
    """The process is up and answering (anonymous)."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """200 when Redis answers and the workers beat; 503 with the reason otherwise."""
    r, settings = deps(request.app)
    body = await readiness(r, settings, time.time())
    status = 200 if body["ready"] else 503
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text: this process's counters, and lag, pending and DLQ sizes from Redis."""
    r, settings = deps(request.app)
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await metrics.refresh(r, settings)
    except (StoreError, TimeoutError, aioredis.RedisError):
        pass  # the gauges keep their last values; the counters are still worth serving
    hub = hub_of(request.app)
    metrics.SSE_CLIENTS.set(hub.connected)
    metrics.SSE_DROPPED.set(hub.dropped)
    body = metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})


async def _api_heartbeat(app: web.Application) -> AsyncIterator[None]:
    r, settings = deps(app)
    instance = f"{socket.gethostname()}-{os.getpid()}"
    beat = run_heartbeat(r, API_WORKER, instance, interval_s=settings.heartbeat_s)
    app[BEAT_TASK] = asyncio.create_task(beat, name="api-heartbeat")
    yield
    beat_task: asyncio.Task[None] = app[BEAT_TASK]
    await cancel(beat_task)
    with contextlib.suppress(StoreError, TimeoutError):
        async with asyncio.timeout(READY_TIMEOUT_S / 2):  # Redis down: no 9 s of retries
            await clear(r, API_WORKER, instance)


def setup_health(app: web.Application) -> None:
    """Add ``/healthz``, ``/readyz``, ``/metrics`` and the API's heartbeat."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    app.cleanup_ctx.append(_api_heartbeat)
