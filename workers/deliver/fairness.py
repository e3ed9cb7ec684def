"""Fair use of a destination host's delivery slots, and a circuit breaker per target.

One tenant's hanging targets took every slot of a shared host (40 hanging, 5 huge, 5 trickling
subscriptions on one host: a fast receiver there saw p99 10 s). Three rules fix that:

- **Round robin**: a host has ``per_host`` slots; when they are all taken, waiting sends queue
  per subscription and a freed slot goes to the next subscription in turn, not to whoever
  queued first (one subscription's burst cannot hold the queue). An eighth of the slots (one
  at least) is kept for targets known to answer quickly: a burst of new, hanging targets
  cannot take every slot from the ones that answer, and a fan-out to many new targets on one
  platform host still gets nearly all of them;
- **Slow lane**: a send that still holds its slot after ``slow_after_s`` gives it back and
  finishes in the host's slow lane (``per_host`` more sends at most); with the slow lane full
  too, it is cut short and retried later. So hanging targets hold the fast slots for
  ``slow_after_s`` at most, however long their timeout; and a target found slow starts its
  next sends in the slow lane (none of the fast slots) until one answers within
  ``slow_after_s`` again;
- **Circuit breaker**: after ``breaker_failures`` transport failures in a row (timeouts,
  refused connections) a target is skipped for ``breaker_open_s`` (doubling while it keeps
  failing, up to ``BREAKER_MAX_S``): its deliveries wait for their retry without taking a
  slot; then one trial send decides. A skipped send is no attempt (it does not count).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import NamedTuple

BREAKER_MAX_S = 600.0


class _Waiter(NamedTuple):
    """A send waiting for a slot (a tuple: one is made for nearly every send of a fan-out)."""

    future: asyncio.Future[None]
    trusted: bool


# The waiting subscriptions in turn: each one's waiter, or its waiters in order when it has
# several (a deque only then: nearly every subscription of a fan-out waits once, and a deque
# each cost more than the rest of its wait).
Round = OrderedDict[str, "_Waiter | deque[_Waiter]"]


@dataclass
class _Host:
    """The slots of one host: taken (fast and slow) and the waiters per subscription."""

    used: int = 0
    untried: int = 0  # of ``used``: held by targets not known to answer quickly
    slow: int = 0
    queues: Round = field(default_factory=OrderedDict)  # untried
    known: Round = field(default_factory=OrderedDict)  # trusted

    def idle(self) -> bool:
        return not self.used and not self.slow and not self.queues and not self.known

    def line(self, trusted: bool) -> Round:
        """The round of waiting subscriptions of a kind."""
        return self.known if trusted else self.queues

    def join(self, key: str, waiter: _Waiter) -> None:
        """Queue ``waiter`` behind the subscription's others (a new one: at the round's end)."""
        line = self.line(waiter.trusted)
        queue = line.get(key)
        if queue is None:
            line[key] = waiter
        elif isinstance(queue, deque):
            queue.append(waiter)
        else:  # a second waiter of the subscription: in its place in the round
            line[key] = deque((queue, waiter))


class FairSlots:
    """``per_host`` slots per host, handed out round robin between subscriptions."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        # Slots that targets not known to answer quickly may hold at once.
        self.untried_cap = max(1, per_host - max(1, per_host // 8))
        self._hosts: dict[str, _Host] = {}

    def _host(self, host: str) -> _Host:
        h = self._hosts.get(host)
        if h is None:  # (not setdefault: a _Host made per call, to be thrown away)
            h = self._hosts[host] = _Host()
        return h

    def _fits(self, h: _Host, trusted: bool) -> bool:
        return h.used < self.per_host and (trusted or h.untried < self.untried_cap)

    async def acquire(self, host: str, key: str, *, trusted: bool = False) -> bool:
        """Take a slot of ``host`` for subscription ``key`` (release with :meth:`release`);
        ``trusted``: the target is known to answer quickly. Returns ``trusted``."""
        h = self._host(host)
        if self._fits(h, trusted):  # then no waiter of its kind fits: releases hand slots on
            self._take(h, trusted)
            return trusted
        waiter = _Waiter(asyncio.get_running_loop().create_future(), trusted)
        h.join(key, waiter)
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                self.release(host, trusted)  # handed a slot just as we were cancelled
            else:
                self._forget(host, h, key, waiter)
            raise
        return trusted

    @staticmethod
    def _take(h: _Host, trusted: bool) -> None:
        h.used += 1
        h.untried += 0 if trusted else 1

    def release(self, host: str, trusted: bool = False) -> None:
        """Give back a fast slot of ``host``: to the next subscription waiting that may take
        it, in turn."""
        h = self._hosts[host]
        h.used -= 1
        h.untried -= 0 if trusted else 1
        self._hand_on(h)
        self._drop_if_idle(host, h)

    def _hand_on(self, h: _Host) -> None:
        """Hand free slots to waiters: known targets first, then new ones while they may."""
        for trusted in (True, False):
            line = h.line(trusted)
            while line and self._fits(h, trusted):
                key, queue = line.popitem(last=False)
                if isinstance(queue, deque):
                    waiter = queue.popleft()
                    if queue:
                        line[key] = queue  # to the back of the round
                else:
                    waiter = queue
                if not waiter.future.done():
                    self._take(h, trusted)
                    waiter.future.set_result(None)

    def enter_slow_lane(self, host: str) -> bool:
        """Start a send in the slow lane (a target known to be slow); False if it is full."""
        h = self._host(host)
        if h.slow >= self.per_host:
            self._drop_if_idle(host, h)
            return False
        h.slow += 1
        return True

    def to_slow_lane(self, host: str, trusted: bool = False) -> bool:
        """Move a send from its fast slot to the slow lane; False (nothing moved) if full."""
        h = self._hosts[host]
        if h.slow >= self.per_host:
            return False
        h.slow += 1
        self.release(host, trusted)
        return True

    def leave_slow_lane(self, host: str) -> None:
        """A send of the slow lane ended."""
        h = self._hosts[host]
        h.slow -= 1
        self._drop_if_idle(host, h)

    def _forget(self, host: str, h: _Host, key: str, waiter: _Waiter) -> None:
        line = h.line(waiter.trusted)
        queue = line.get(key)
        if isinstance(queue, deque):
            if waiter in queue:
                queue.remove(waiter)
                if not queue:
                    del line[key]
        elif queue == waiter:
            del line[key]
        self._drop_if_idle(host, h)

    def _drop_if_idle(self, host: str, h: _Host) -> None:
        if h.idle():
            self._hosts.pop(host, None)


@dataclass
class _Circuit:
    failures: int = 0
    open_until: float = 0.0
    open_s: float = 0.0
    trial: bool = False  # a trial send is under way (half-open)


class Breakers:
    """A circuit breaker per target: open after repeated transport failures (see module doc)."""

    def __init__(self, failures: int, open_s: float, *, max_targets: int = 100_000) -> None:
        self.failures = failures
        self.open_s = open_s
        self.max_targets = max_targets
        self._circuits: dict[str, _Circuit] = {}

    def wait(self, key: str, now: float | None = None) -> float:
        """Seconds before ``key`` may be tried again (0: try now; a trial starts if half-open)."""
        c = self._circuits.get(key)
        if c is None or c.open_until == 0.0:
            return 0.0
        at = time.monotonic() if now is None else now
        if at < c.open_until:
            return c.open_until - at
        if c.trial:
            return min(self.open_s, 1.0)  # someone is trying it now
        c.trial = True
        return 0.0

    def succeeded(self, key: str) -> None:
        """The target answered: close its circuit."""
        self._circuits.pop(key, None)

    def failed(self, key: str, now: float | None = None) -> None:
        """A transport failure (timeout, refused): open the circuit after enough in a row."""
        c = self._circuits.get(key)
        if c is None:
            if len(self._circuits) >= self.max_targets:
                self._circuits.clear()
            c = self._circuits[key] = _Circuit()
        c.failures += 1
        c.trial = False
        if c.failures >= self.failures:
            c.open_s = min(BREAKER_MAX_S, c.open_s * 2 if c.open_s else self.open_s)
            c.open_until = (time.monotonic() if now is None else now) + c.open_s

    def is_open(self, key: str) -> bool:
        """Whether ``key`` is being skipped now."""
        c = self._circuits.get(key)
        return c is not None and c.open_until > time.monotonic()
