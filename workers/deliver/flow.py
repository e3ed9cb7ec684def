"""Per-subscription order in one process: each delivery waits for the one before it.

A :class:`Ticket` is taken synchronously, in alert order, when an alert is fanned out (or a
retry is claimed); holding it, a delivery runs only after the previous ticket of the same
subscription was released. Every ticket is released exactly once, whatever happens.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class Ticket:
    """One place in a subscription's line."""

    __slots__ = ("_done", "_flows", "_key", "_prev")

    def __init__(self, flows: Flows, key: tuple[int, str], prev: asyncio.Future[None] | None):
        self._flows = flows
        self._key = key
        self._prev = prev
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def __aenter__(self) -> Ticket:
        await self.turn()
        return self

    async def turn(self) -> None:
        """Wait until the delivery before this one in line is released."""
        if self._prev is not None and not self._prev.done():
            await asyncio.shield(self._prev)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    @property
    def follows(self) -> bool:
        """Whether an earlier delivery of the line was under way when this ticket was taken:
        whatever was known of the subscription then (its delivery marks) may have changed by
        the time this ticket's turn comes."""
        return self._prev is not None

    @property
    def key(self) -> tuple[int, str]:
        """The (partition, subscription) line of this ticket."""
        return self._key

    @property
    def done(self) -> asyncio.Future[None]:
        """Resolved when this ticket is released."""
        return self._done

    def release(self) -> None:
        """Let the next delivery of this subscription go (idempotent)."""
        if not self._done.done():
            self._done.set_result(None)
        self._flows.forget(self._key, self._done)


class Flows:
    """The line of deliveries of each (partition, subscription)."""

    def __init__(self) -> None:
        self._tails: dict[tuple[int, str], asyncio.Future[None]] = {}

    def ticket(self, p: int, sub_id: str) -> Ticket:
        """A place at the end of the line of (p, sub_id)."""
        key = (p, sub_id)
        ticket = Ticket(self, key, self._tails.get(key))
        self._tails[key] = ticket.done
        return ticket

    def behind(self, ticket: Ticket) -> bool:
        """Whether another delivery of the same line waits behind ``ticket``."""
        return self._tails.get(ticket.key) is not ticket.done

    def forget(self, key: tuple[int, str], done: asyncio.Future[None]) -> None:
        """Drop a line whose last ticket is released."""
        if self._tails.get(key) is done:
            del self._tails[key]

    def __len__(self) -> int:
        """Lines with a delivery running or waiting."""
        return len(self._tails)
