"""A fan-out's plain deliveries, queued in their hosts' rounds rather than a task each.

A fan-out used to start one task per subscription, and at 100,000 subscriptions nearly all of
them waited in their host's slots (32 by default) before the first answers were read: a task,
its first step, a future to wait on and a second step to wake, per delivery. A *plain*
delivery (first in its subscription's line, nothing held, waiting or gone; not a live message)
needs nothing before its send but a slot, so it waits as an entry in the host's round
(:meth:`workers.deliver.fairness.FairSlots.enqueue`, the same round robin, fast slots and slow
lane) and its task is made when the slot is handed to it. :class:`Sends` keeps what a fan-out
waits for: the deliveries started and not ended, their outcomes, and the entries still queued
(withdrawn if the fan-out is cancelled).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from workers.deliver.fairness import Start
from workers.deliver.send import Admitted

Outcome = str | BaseException  # what a delivery came to (as gather's return_exceptions gives)


class Sends:
    """The queued deliveries of one fan-out (see module doc)."""

    def __init__(self, withdraw: Callable[[Admitted, str, Start], None]) -> None:
        self.outcomes: list[Outcome] = []
        self._withdraw = withdraw  # takes a queued entry out of its host's round
        self._left = 0  # queued or running, not ended
        self._running: set[asyncio.Task[str]] = set()
        self._queued: list[tuple[Admitted, str, Start]] = []
        self._ended: asyncio.Future[None] | None = None

    def expect(self) -> None:
        """One more delivery to wait for (before it is queued or started)."""
        self._left += 1

    def queued(self, admitted: Admitted, key: str, entry: Start) -> None:
        """A delivery (subscription ``key``) waits in its host's round as ``entry``."""
        self._queued.append((admitted, key, entry))

    def start(self, coro: Coroutine[Any, Any, str]) -> None:
        """Run an expected delivery now, in a task of its own."""
        task = asyncio.get_running_loop().create_task(coro)
        self._running.add(task)
        task.add_done_callback(self._end)

    def _end(self, task: asyncio.Task[str]) -> None:
        self._running.discard(task)
        if task.cancelled():
            self.outcomes.append(asyncio.CancelledError())
        else:
            exc = task.exception()
            self.outcomes.append(exc if exc is not None else task.result())
        self._left -= 1
        if not self._left and self._ended is not None and not self._ended.done():
            self._ended.set_result(None)

    async def wait(self) -> list[Outcome]:
        """Every expected delivery's outcome, once all have ended. Cancelled: the queued ones
        are withdrawn (never started), the running ones cancelled and waited for."""
        try:
            if self._left:
                self._ended = asyncio.get_running_loop().create_future()
                await self._ended
        except asyncio.CancelledError:
            for admitted, key, entry in self._queued:
                if not entry.done():
                    self._withdraw(admitted, key, entry)
            running = set(self._running)
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)
            raise
        return self.outcomes
