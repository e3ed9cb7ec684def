"""Per-destination rate limits for channels (GCRA, i.e. a token bucket), with an injectable clock.

A slot is reserved before any await, so concurrent senders need no lock; a wait longer than the
caller's bound is not slept but raised (:class:`RateLimitError`) so the dispatcher can reschedule.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from notifier.errors import RateLimitError


class Clock(Protocol):
    """Time as channels see it: a monotonic clock to wait by and a wall clock to stamp with."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def now(self) -> datetime:
        """The current UTC time, timezone-aware."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the monotonic clock."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class RateLimiter:
    """At most ``rate`` sends per second per key, with bursts of up to ``burst``.

    ``rate=math.inf`` limits nothing but still honours :meth:`block` (a platform's 429).
    """

    def __init__(
        self, rate: float, burst: int = 1, *, clock: Clock = SYSTEM_CLOCK, max_keys: int = 10_000
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._interval = 0.0 if math.isinf(rate) else 1.0 / rate
        self._tolerance = self._interval * (burst - 1)
        self._clock = clock
        self._max_keys = max_keys
        self._tat: dict[str, float] = {}  # theoretical arrival time of the next send, per key
        self._blocked_until = 0.0  # no key waits past this (a rate of inf: the last block)

    @property
    def clock(self) -> Clock:
        """The clock this limiter waits by."""
        return self._clock

    def __len__(self) -> int:
        """How many destinations are tracked."""
        return len(self._tat)

    def free(self) -> bool:
        """Whether no key has to wait now: no rate (``inf``) and no block in force. A send
        then reserves nothing, so a channel asks this before working out its keys."""
        return self._interval == 0.0 and self._clock.monotonic() >= self._blocked_until

    def delay(self, key: str) -> float:
        """Seconds until ``key`` may send, without reserving anything."""
        now = self._clock.monotonic()
        return max(0.0, self._tat.get(key, now) - self._tolerance - now)

    def reserve(self, key: str) -> float:
        """Reserve the next slot of ``key``; returns how long to wait before using it."""
        now = self._clock.monotonic()
        tat = max(self._tat.get(key, now), now)
        if self._interval:  # with no rate, only a block (kept as it is) makes a key wait
            self._tat[key] = tat + self._interval
            self._evict(now)
        return max(0.0, tat - self._tolerance - now)

    def block(self, key: str, seconds: float) -> None:
        """No send for ``key`` before ``seconds`` from now (the platform said so)."""
        now = self._clock.monotonic()
        until = now + max(0.0, seconds) + self._tolerance
        self._tat[key] = max(self._tat.get(key, until), until)
        self._blocked_until = max(self._blocked_until, until)
        self._evict(now)

    def _evict(self, now: float) -> None:
        # A key whose arrival time has passed behaves exactly like an unknown key.
        if len(self._tat) > self._max_keys:
            self._tat = {k: t for k, t in self._tat.items() if t > now}


async def acquire(slots: Sequence[tuple[RateLimiter, str]], *, max_wait: float) -> None:
    """Take a slot in each (limiter, key); wait at most ``max_wait``, else RateLimitError."""
    if not slots:
        return
    wait = max(limiter.delay(key) for limiter, key in slots)
    if wait > max_wait:
        raise RateLimitError(wait)
    wait = max(limiter.reserve(key) for limiter, key in slots)
    if wait > 0:
        await slots[0][0].clock.sleep(wait)


def fingerprint(secret: str) -> str:
    """A short stable key for a secret (a URL or token), so limiters never hold the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]
