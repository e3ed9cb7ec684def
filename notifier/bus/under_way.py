"""Batches under way: one task per partition, each started once that partition's previous
batch is done, so the partitions of a consumer no longer wait for one another between rounds.

A round's batches are folded while Redis still executes the previous round's commits, queued
behind one another: a partition whose commit is answered goes on at once instead of waiting
for the slowest commit of the round (measured on the aggregator: the last commit of a round
was answered ~20 ms after it was sent, with the client idle meanwhile). At most two rounds are
under way: a round returns once the one before it is done, and raises its first error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

from notifier.bus.connect import cancel
from notifier.errors import StoreError

Start = Callable[[], Awaitable[None]]


class UnderWay:
    """The batches under way, by partition."""

    def __init__(self) -> None:
        self.tasks: dict[int, asyncio.Task[None]] = {}

    async def next_round(self, starts: dict[int, Start]) -> None:
        """Start each partition's batch after its previous one; return when the previous round
        is done, raising its first error (this round's batches run on)."""
        previous = self.tasks
        self.tasks = previous | {
            p: asyncio.create_task(_after(previous.get(p), start)) for p, start in starts.items()
        }
        try:
            await outcomes(previous.values())
        finally:  # done, and their errors read: no longer under way
            self.tasks = {p: t for p, t in self.tasks.items() if t is not previous.get(p)}

    async def finish(self) -> None:
        """Wait for every batch under way; then raise the first error."""
        tasks, self.tasks = self.tasks, {}
        await outcomes(tasks.values())

    async def stop(self) -> None:
        """Stop every batch under way (what it did not commit stays pending, to be read back);
        a Redis error it ended with is dropped: the loop ends anyway."""
        tasks, self.tasks = self.tasks, {}
        with contextlib.suppress(StoreError):
            await cancel(*tasks.values())


async def _after(before: asyncio.Task[None] | None, start: Start) -> None:
    if before is not None:
        await asyncio.wait({before})  # its error is raised by the round that started it
    await start()


async def outcomes(work: Iterable[Awaitable[None]]) -> None:
    """Run (or wait for) every one to its end; then raise the first error."""
    for outcome in await asyncio.gather(*work, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome
