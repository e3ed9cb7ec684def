"""Wiring: open Redis and the HTTP session, build the workers, run them until told to stop.

``notifier run`` runs every role in one process (the API included); ``poll``/``aggregate``/
``dispatch``/``api`` run one.
SIGTERM/SIGINT stop reading; in-flight work finishes within the grace period, then is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from notifier.api import app as api_app
from notifier.api.chat.telegram import run_bot
from notifier.api.chat.wiring import Bots, build_bots, configured
from notifier.bus.connect import open_redis, run_to_end
from notifier.bus.heartbeat import clear, run_heartbeat
from notifier.settings import Settings
from workers.deliver import dispatcher, shards
from workers.deliver.dispatcher import Dispatcher, Sink
from workers.deliver.send import build_channels, open_session, redis_channels
from workers.deliver.shards import ShardDispatcher
from workers.fold import aggregator
from workers.fold.aggregator import Aggregator
from workers.poll.poller import Poller

log = logging.getLogger("notifier.runtime")
WORKER_ROLES = ("poll", "aggregate", "dispatch")
ROLES = (*WORKER_ROLES, "api", "bot")
FEED_USER_AGENT = "match-notifier/0.1 (+https://github.com/match-notifier)"


def instance_name() -> str:
    """A replica's name: host and pid (unique among live replicas)."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class Pipeline:
    """The workers of one process and what they share."""

    r: aioredis.Redis
    settings: Settings
    instance: str
    roles: Sequence[str]
    poller: Poller | None = None
    aggregator: Aggregator | None = None
    dispatcher: Dispatcher | None = None
    bots: Bots | None = None
    deliverer: ShardDispatcher | None = None  # with delivery.shards: the shards' fan-out
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def idle(self) -> bool:
        """No event waits to be folded and no alert waits to be dispatched."""
        waiting = await aggregator.pending_work(self.r, self.settings)
        if waiting or await dispatcher.pending_work(self.r, self.settings):
            return False
        return await shards.pending_work(self.r, self.settings) == 0


async def open_pipeline(
    settings: Settings,
    stack: contextlib.AsyncExitStack,
    *,
    roles: Sequence[str] = WORKER_ROLES,
    sinks: Sequence[Sink] = (),
) -> Pipeline:
    """Connect and build the workers for ``roles``; everything closes with ``stack``."""
    r = await open_redis(settings, stack)
    pipe = Pipeline(r, settings, instance_name(), roles)
    if "poll" in roles:
        session = aiohttp.ClientSession(headers={"User-Agent": FEED_USER_AGENT})
        stack.push_async_callback(session.close)
        pipe.poller = Poller(r, session, settings, instance=pipe.instance)
    if "aggregate" in roles:
        pipe.aggregator = Aggregator(r, settings, instance=pipe.instance)
    if "dispatch" in roles:
        deliveries = open_session(settings)
        stack.push_async_callback(deliveries.close)
        channels = build_channels(deliveries, settings)
        channels.update(await redis_channels(r, deliveries, settings))
        for channel in channels.values():
            closing = getattr(channel, "close", None)
            if closing is not None:  # a channel with connections of its own (MQTT brokers)
                stack.push_async_callback(closing)
        pipe.dispatcher = Dispatcher(
            r, settings, instance=pipe.instance, sinks=sinks, channels=channels
        )
        if settings.delivery.shards:
            pipe.deliverer = ShardDispatcher(r, settings, instance=pipe.instance, channels=channels)
    if "bot" in roles and configured(settings):
        bot_session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        stack.push_async_callback(bot_session.close)
        pipe.bots = build_bots(settings, r, bot_session)
    return pipe


async def run_pipeline(
    pipe: Pipeline,
    *,
    sync_every: float = 5.0,
    done: Callable[[], Awaitable[bool]] | None = None,
    check_every: float = 0.2,
) -> None:
    """Run the workers until SIGTERM/SIGINT, or until ``done()`` says the job is over."""
    _on_signals(pipe.stop)
    scheduler = AsyncIOScheduler()
    if pipe.poller is not None:
        scheduler.start()
        pipe.poller.start(scheduler, sync_every)
    tasks = [asyncio.create_task(coro, name=name) for name, coro in _tasks(pipe)]
    if done is not None:
        tasks.append(asyncio.create_task(_watch_done(pipe, done, check_every), name="done"))
    loop = asyncio.get_running_loop()
    deadline = math.inf
    try:
        failure = await _until_stop(pipe, tasks)
        grace = _grace_s(pipe.settings)
        deadline = loop.time() + grace
        if scheduler.running:
            scheduler.pause()
        await _finish(tasks, grace * (1 - CLEAR_SHARE))
        if failure is not None:
            raise failure
    finally:
        # Cancelled from outside (an embedding task, a test): the workers must end with it, or
        # they would go on reading, delivering and beating with nobody to stop them. The
        # scheduler first, before any await, then the rest run to its end however often the
        # caller cancels again (``bus.connect.cancel`` repeats it every 0.1 s): cut short, it
        # left the API, its SSE hub and heartbeat, and the bots running in the loop.
        if scheduler.running:
            scheduler.shutdown(wait=False)
        clear_s = min(CLEAR_TIMEOUT_S, max(0.05, deadline - loop.time()))
        await run_to_end(_wind_down(pipe, tasks, clear_s))


async def _wind_down(pipe: Pipeline, tasks: list[asyncio.Task[None]], clear_s: float) -> None:
    await _finish(tasks, 0)
    _retrieve(tasks)
    await _clear_heartbeats(pipe, clear_s)


CLEAR_TIMEOUT_S = 1.0
CLEAR_SHARE = 0.2  # of the grace kept for clearing the heartbeats after the workers end


async def _clear_heartbeats(pipe: Pipeline, timeout_s: float) -> None:
    """Remove this replica's heartbeats, all at once, within what is left of the grace: with
    Redis down, each clear retried ~9 s, one after the other, and SIGTERM took 30 s (grace
    10 s). A heartbeat left behind expires by itself."""
    clears = [clear(pipe.r, worker, pipe.instance) for worker in _heartbeat_names(pipe)]
    if not clears:
        return
    with contextlib.suppress(Exception):
        async with asyncio.timeout(timeout_s):
            await asyncio.gather(*clears, return_exceptions=True)


def _retrieve(tasks: list[asyncio.Task[None]]) -> None:
    """Read every ended task's exception (logged already, or raised): none is left for asyncio
    to report as "never retrieved" at exit."""
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()


async def _until_stop(pipe: Pipeline, tasks: list[asyncio.Task[None]]) -> BaseException | None:
    """Wait for a stop (signal, done) or for a task to fail; the failure, if one did."""
    stopped = asyncio.create_task(pipe.stop.wait())
    try:
        finished, _ = await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    pipe.stop.set()
    for task in finished:
        if task is not stopped and not task.cancelled() and task.exception() is not None:
            log.error(
                "worker_failed", extra={"task": task.get_name(), "error": repr(task.exception())}
            )
            return task.exception()
    return None


def _grace_s(settings: Settings) -> float:
    return min(settings.shutdown_grace_s, 2 * settings.streams.block_ms / 1000)


async def _finish(tasks: list[asyncio.Task[None]], grace_s: float) -> None:
    """Let in-flight work end within the grace period, then cancel what is left.

    A cancellation that lands inside a redis-py command can be swallowed, so it is repeated
    (a bounded number of times) until every task has ended.
    """
    await asyncio.wait(tasks, timeout=grace_s)
    for _ in range(100):
        pending = [t for t in tasks if not t.done()]
        if not pending:
            return
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.1)
    log.warning("tasks_not_stopped", extra={"tasks": [t.get_name() for t in tasks if not t.done()]})


def _tasks(pipe: Pipeline) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    tasks: list[tuple[str, Coroutine[Any, Any, None]]] = []
    if pipe.aggregator is not None:
        tasks.append(("aggregator", pipe.aggregator.run(pipe.stop.is_set)))
    if pipe.dispatcher is not None:
        tasks.append(("dispatcher", pipe.dispatcher.run(pipe.stop.is_set)))
    if pipe.deliverer is not None:
        tasks.append(("deliverer", pipe.deliverer.run(pipe.stop.is_set)))
    if pipe.poller is not None:
        tasks.append(("leases", pipe.poller.leases.keep_alive()))
    if "api" in pipe.roles:
        tasks.append(("api", api_app.serve(pipe.settings, pipe.r, pipe.stop)))
    if pipe.bots is not None and pipe.bots.telegram is not None:
        tasks.append(("telegram-bot", run_bot(pipe.bots.telegram, pipe.stop)))
    for worker in _heartbeat_names(pipe):
        beat = run_heartbeat(pipe.r, worker, pipe.instance, interval_s=pipe.settings.heartbeat_s)
        tasks.append((f"heartbeat-{worker}", beat))
    return tasks


def _heartbeat_names(pipe: Pipeline) -> list[str]:
    names = {"poll": "poller", "aggregate": "aggregator", "dispatch": "dispatcher"}
    return [names[role] for role in pipe.roles if role in names]


async def _watch_done(pipe: Pipeline, done: Callable[[], Awaitable[bool]], every: float) -> None:
    while not pipe.stop.is_set():
        if await done():
            pipe.stop.set()
            return
        await asyncio.sleep(every)


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def serve(
    pipe: Pipeline,
    *,
    sync_every: float = 5.0,
    done: Callable[[], Awaitable[bool]] | None = None,
) -> None:
    """Run the pipeline; a stop (signal or done) ends it quietly."""
    await run_pipeline(pipe, sync_every=sync_every, done=done)
    log.info("stopped", extra={"instance": pipe.instance})
