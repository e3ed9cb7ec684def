"""Coarse deadlines (notifier.channels.deadlines): never early, at most a tick late, each item
told once, a dropped one never; and a target's route kept with its URL only."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.channels.base import Target
from notifier.channels.deadlines import TICK_S, Deadlines
from notifier.channels.http import route


class Item:
    """Records the loop time it was told its deadline passed."""

    def __init__(self) -> None:
        self.at: list[float] = []

    def expire(self) -> None:
        self.at.append(asyncio.get_running_loop().time())


async def test_fires_after_its_deadline_within_a_few_ticks() -> None:
    d = Deadlines()
    now = asyncio.get_running_loop().time()
    items = [(now + delay, Item()) for delay in (0.03, 0.0, 0.011, 0.05, 0.02)]
    for when, item in items:
        d.add(when, item)
    await asyncio.sleep(0.1)
    for when, item in items:
        assert len(item.at) == 1
        assert when <= item.at[0] <= when + 0.03  # a tick, and the loop's own lateness


async def test_a_dropped_deadline_never_fires_and_the_rest_do() -> None:
    d = Deadlines()
    now = asyncio.get_running_loop().time()
    kept, dropped, twin = Item(), Item(), Item()
    d.drop(d.add(now + 0.01, dropped), dropped)
    d.add(now + 0.01, kept)
    tick = d.add(now + 0.01, twin)
    d.drop(tick + 1, twin)  # another tick's: twin stays
    await asyncio.sleep(0.05)
    assert (len(kept.at), len(dropped.at), len(twin.at)) == (1, 0, 1)
    d.drop(tick, twin)  # after it fired: nothing


async def test_an_earlier_deadline_added_later_rearms_the_timer() -> None:
    d = Deadlines()
    now = asyncio.get_running_loop().time()
    late, early = Item(), Item()
    d.add(now + 5.0, late)
    d.add(now + 0.01, early)
    await asyncio.sleep(0.05)
    assert (len(early.at), late.at) == (1, [])


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(0.0, 0.04), min_size=1, max_size=20))
def test_never_early_on_a_fresh_loop_each_time(delays: list[float]) -> None:
    d = Deadlines()  # one instance over many loops, as the tests' clients are

    async def run() -> None:
        now = asyncio.get_running_loop().time()
        items = [(now + delay, Item()) for delay in delays]
        for when, item in items:
            d.add(when, item)
        await asyncio.sleep(0.04 + 4 * TICK_S)
        assert all(len(i.at) == 1 and i.at[0] >= when for when, i in items)

    asyncio.run(run())
    asyncio.run(run())


def test_a_target_keeps_its_route_with_its_url_only() -> None:
    target = Target(channel="webhook", url="https://a.example/hook/1")
    assert target.routed == (target.url, route("https://a.example/hook/1"))
    other = target.model_copy(update={"url": "https://b.example/x"})
    assert other.routed[0] is not other.url  # copied along: the send checks the URL first
    assert Target(channel="slack", url="relative/path").routed[1] is None
    assert target == Target(channel="webhook", url="https://a.example/hook/1")
