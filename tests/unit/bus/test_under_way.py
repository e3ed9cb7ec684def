"""Batches under way (``notifier.bus.under_way``): a partition's batches one after another,
partitions side by side, a round returning once the one before it is done, errors raised once."""

from __future__ import annotations

import asyncio

import pytest

from notifier.bus.under_way import Start, UnderWay
from notifier.errors import StoreError


class Log:
    """What ran, in order: ("start"|"end", partition, batch)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, int]] = []
        self.gates: dict[tuple[int, int], asyncio.Event] = {}

    def batch(self, p: int, n: int, *, fail: BaseException | None = None) -> Start:
        gate = self.gates.setdefault((p, n), asyncio.Event())

        async def run() -> None:
            self.events.append(("start", p, n))
            await gate.wait()
            self.events.append(("end", p, n))
            if fail is not None:
                raise fail

        return run

    def open(self, p: int, n: int) -> None:
        self.gates.setdefault((p, n), asyncio.Event()).set()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_partitions_batch_starts_once_its_previous_one_is_done() -> None:
    log, under_way = Log(), UnderWay()
    await under_way.next_round({0: log.batch(0, 1), 1: log.batch(1, 1)})
    second = asyncio.create_task(under_way.next_round({0: log.batch(0, 2), 1: log.batch(1, 2)}))
    await settle()
    assert sorted(log.events) == [("start", 0, 1), ("start", 1, 1)]
    log.open(1, 1)  # partition 1 goes on; partition 0's second batch still waits
    await settle()
    assert ("start", 1, 2) in log.events and ("start", 0, 2) not in log.events
    assert not second.done()  # the round before is not done yet
    log.open(0, 1)
    await second  # returns with the first round done, the second under way
    assert ("start", 0, 2) in log.events
    assert set(under_way.tasks) == {0, 1}
    log.open(0, 2)
    log.open(1, 2)
    await under_way.finish()
    assert under_way.tasks == {}
    assert [e for e in log.events if e[1] == 0] == [
        ("start", 0, 1),
        ("end", 0, 1),
        ("start", 0, 2),
        ("end", 0, 2),
    ]


async def test_a_failed_batch_is_raised_once_by_the_next_round_and_the_others_run_on() -> None:
    log, under_way = Log(), UnderWay()
    await under_way.next_round({0: log.batch(0, 1, fail=StoreError("down")), 1: log.batch(1, 1)})
    log.open(0, 1)
    log.open(1, 1)
    with pytest.raises(StoreError):
        await under_way.next_round({1: log.batch(1, 2)})
    assert ("end", 1, 1) in log.events
    log.open(1, 2)
    await under_way.next_round({})  # raised already: not again
    await under_way.finish()
    assert ("end", 1, 2) in log.events


async def test_finish_raises_the_first_error_and_stop_cancels_what_is_under_way() -> None:
    log, under_way = Log(), UnderWay()
    await under_way.next_round({0: log.batch(0, 1, fail=RuntimeError("boom"))})
    log.open(0, 1)
    with pytest.raises(RuntimeError):
        await under_way.finish()
    await under_way.next_round({0: log.batch(0, 2)})
    await settle()
    await under_way.stop()  # never opened: cancelled
    assert under_way.tasks == {}
    assert ("end", 0, 2) not in log.events
