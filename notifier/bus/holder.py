"""The leases one replica holds (matches it polls, partitions it consumes), kept alive in the
background so a live replica never loses them between polls, and a dead one's lapse in a TTL.

Each lease also has a local deadline: the moment its last successful acquire or renew was *sent*,
plus the TTL, minus a safety margin. The server set the expiry when it ran the command, which is
no earlier than that, so until the deadline no other replica can hold the lease, whatever this
process's pauses (a GC, SIGSTOP, a slow host). Work whose effect no script can fence (an HTTP
send, a blocking read that the server may answer while we sleep) is done only before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import redis.asyncio as aioredis

from notifier.bus.lease import Lease, lease_value
from notifier.errors import StoreError

log = logging.getLogger("notifier.lease")
SAFETY = 0.2  # share of the TTL kept as margin for clock rates and the time a command takes


class Holder:
    """Leases held by one owner: acquire-or-renew on use, renewed every third of the TTL."""

    def __init__(self, r: aioredis.Redis, owner: str, ttl_ms: int) -> None:
        self.r = r
        self.owner = owner
        self.ttl_ms = ttl_ms
        self.tokens: dict[str, int] = {}
        self.until: dict[str, float] = {}  # key -> local deadline (time.monotonic())
        self.sure_s = ttl_ms / 1000 * (1 - SAFETY)

    async def hold(self, key: str) -> str | None:
        """The lease value if this owner holds ``key`` now (taking it when free), else None."""
        token = self.tokens.get(key)
        sent = time.monotonic()
        if token is not None and await Lease.renew(self.r, key, self.owner, token, self.ttl_ms):
            self.until[key] = sent + self.sure_s
            return lease_value(self.owner, token)
        sent = time.monotonic()
        token = await Lease.acquire(self.r, key, self.owner, self.ttl_ms)
        if token is None:
            self.forget(key)
            return None
        self.tokens[key] = token
        self.until[key] = sent + self.sure_s
        log.info("lease_acquired", extra={"lease": key, "owner": self.owner, "token": token})
        return lease_value(self.owner, token)

    def value(self, key: str) -> str | None:
        """The value of a lease believed held (fenced writes check it in Redis anyway)."""
        token = self.tokens.get(key)
        return None if token is None else lease_value(self.owner, token)

    def remaining(self, key: str) -> float:
        """Seconds until the local deadline of ``key`` (<= 0: not surely ours any more)."""
        return self.until.get(key, 0.0) - time.monotonic()

    def current(self, key: str) -> str | None:
        """The lease value while ``key`` is surely still ours (before its local deadline)."""
        if self.remaining(key) <= 0:
            return None
        return self.value(key)

    def forget(self, key: str) -> None:
        """Stop renewing a lease (it lapses by its TTL)."""
        self.tokens.pop(key, None)
        self.until.pop(key, None)

    async def release(self, key: str) -> None:
        """Give one lease up now (only if it is still ours) and stop renewing it: nobody waits
        for its TTL, and the retention may delete its token counter."""
        token = self.tokens.get(key)
        self.forget(key)
        if token is not None:
            with contextlib.suppress(StoreError):
                await Lease.release(self.r, key, self.owner, token)

    async def renew_all(self) -> None:
        """Renew every held lease once; drop the ones lost."""
        for key, token in list(self.tokens.items()):
            sent = time.monotonic()
            if not await Lease.renew(self.r, key, self.owner, token, self.ttl_ms):
                log.warning("lease_lost", extra={"lease": key, "owner": self.owner})
                self.forget(key)
            elif self.tokens.get(key) == token:
                self.until[key] = sent + self.sure_s

    async def keep_alive(self) -> None:
        """Renew held leases every third of the TTL until cancelled."""
        while True:
            await asyncio.sleep(self.ttl_ms / 3000)
            try:
                await self.renew_all()
            except StoreError as exc:
                log.warning("lease_renew_failed", extra={"error": str(exc)})

    async def release_all(self) -> None:
        """Give every lease up (on a clean shutdown, so successors need not wait for the TTL)."""
        for key, token in list(self.tokens.items()):
            with contextlib.suppress(StoreError):
                await Lease.release(self.r, key, self.owner, token)
        self.tokens.clear()
        self.until.clear()
