"""Coarse deadlines: one loop timer per tick for many sends, not one timer per send.

A fan-out's every send had two loop timers (its lane's move to the slow lane, its exchange's
deadline): with uvloop ~1.7 µs each to arm and cancel, for deadlines that almost never fire.
A :class:`Deadlines` keeps what is due by tick (``TICK_S``): adding is a dict insert, dropping
a dict delete, and one loop timer, at the earliest tick that holds something, calls
``expire()`` on what is due. A deadline fires at most one tick late, never early.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from typing import Protocol

TICK_S = 0.005  # how late a deadline may fire


class Expiring(Protocol):
    """What a deadline is for: told once when it passes (unless dropped before)."""

    def expire(self) -> None:
        """The deadline passed."""
        ...


class Deadlines:
    """Deadlines of one event loop, by tick (see module doc). Items are kept by identity."""

    def __init__(self) -> None:
        self._reset(None)

    def _reset(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._due: dict[int, dict[Expiring, None]] = {}  # tick -> items due then
        self._ticks: list[int] = []  # the ticks of ``_due``, a heap
        self._timer: asyncio.TimerHandle | None = None
        self._armed = math.inf  # the tick the timer is set for
        self._loop = loop

    def add(self, when: float, item: Expiring) -> int:
        """Call ``item.expire()`` once loop time ``when`` has passed; returns the tick to give
        :meth:`drop`."""
        tick = math.ceil(when / TICK_S)
        due = self._due.get(tick)
        if due is None:
            loop = asyncio.get_running_loop()
            if loop is not self._loop:  # a new loop (tests): the old one's deadlines went
                self._reset(loop)
            due = self._due[tick] = {}
            heapq.heappush(self._ticks, tick)
            if tick < self._armed:
                self._arm(tick)
        due[item] = None
        return tick

    def drop(self, tick: int, item: Expiring) -> None:
        """Forget ``item``'s deadline (it ended in time); nothing if it already fired."""
        due = self._due.get(tick)
        if due is not None:
            due.pop(item, None)

    def _arm(self, tick: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed = tick
        self._timer = asyncio.get_running_loop().call_at(tick * TICK_S, self._fire)

    def _fire(self) -> None:
        """Expire what is due (bounded by what was added), then wait for the next tick held."""
        self._timer, self._armed = None, math.inf
        loop = asyncio.get_running_loop()
        now = loop.time()
        ticks = self._ticks
        while ticks and ticks[0] * TICK_S <= now:
            due = self._due.pop(heapq.heappop(ticks))
            for item in list(due):
                try:
                    item.expire()
                except Exception as exc:  # as a failing timer callback would be: the rest fire
                    loop.call_exception_handler({"message": "deadline expiry", "exception": exc})
        if ticks:
            self._arm(ticks[0])
