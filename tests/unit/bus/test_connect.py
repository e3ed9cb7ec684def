"""cancel(): a task stopped is a task ended, even one that swallows a cancel (redis-py can);
run_to_end(): a wind-down finishes however often its task is cancelled meanwhile."""

from __future__ import annotations

import asyncio

import pytest

from notifier.bus.connect import cancel, run_to_end


def _uncancel() -> None:
    task = asyncio.current_task()
    assert task is not None
    task.uncancel()


async def _swallows(cancels: int, ended: list[str]) -> None:
    """Ignore the first ``cancels`` cancellations, as a command inside wait_for may."""
    for _ in range(cancels):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            _uncancel()
    try:
        await asyncio.sleep(3600)
    finally:
        ended.append("ended")


async def test_a_swallowed_cancel_is_repeated_until_the_task_ends() -> None:
    ended: list[str] = []
    tasks = [asyncio.create_task(_swallows(n, ended)) for n in (0, 1, 3)]
    await asyncio.sleep(0)
    await cancel(*tasks)
    assert all(t.cancelled() for t in tasks)
    assert ended == ["ended"] * 3


async def test_the_first_failure_is_raised_after_every_task_ended() -> None:
    async def fails() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            raise ValueError("broken on the way out")

    ended: list[str] = []
    tasks = [asyncio.create_task(fails()), asyncio.create_task(_swallows(2, ended))]
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="broken"):
        await cancel(*tasks)
    assert all(t.done() for t in tasks) and ended == ["ended"]


async def test_a_done_task_is_only_read() -> None:
    async def quick() -> int:
        return 1

    task = asyncio.create_task(quick())
    await task
    await cancel(task)
    assert task.result() == 1


async def test_within_gives_up_on_a_task_that_never_ends() -> None:
    released = asyncio.Event()

    async def stubborn() -> None:
        while not released.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                _uncancel()

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    started = asyncio.get_running_loop().time()
    await cancel(task, within_s=0.3)
    assert 0.25 <= asyncio.get_running_loop().time() - started < 2.0
    assert not task.done()
    released.set()
    await cancel(task)  # the next cancel wakes it, and it ends
    assert task.done()


async def test_a_wind_down_runs_to_its_end_through_repeated_cancels() -> None:
    steps: list[int] = []

    async def wind_down() -> None:
        for step in range(5):  # five awaits, each one a place a cancel used to cut it short
            await asyncio.sleep(0.05)
            steps.append(step)

    async def stopping() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await run_to_end(wind_down())

    task = asyncio.create_task(stopping())
    await asyncio.sleep(0)
    await cancel(task)  # cancels again every 0.1 s until the task ends
    assert task.cancelled()  # the cancel goes on once the wind-down is over
    assert steps == [0, 1, 2, 3, 4]


async def test_a_wind_down_that_fails_says_so() -> None:
    async def broken() -> None:
        await asyncio.sleep(0)
        raise ValueError("could not clear")

    with pytest.raises(ValueError, match="could not clear"):
        await run_to_end(broken())
