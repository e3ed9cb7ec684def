"""A held replay clock stands at its start until the first request for matches starts it:
looking teams up and following one (minutes, for a person) takes no match time."""

from __future__ import annotations

from notifier.replay.state import ReplayClock


def test_a_held_clock_stands_until_started() -> None:
    wall = [100.0]
    clock = ReplayClock(speed=60.0, start_offset=-120.0, time_fn=lambda: wall[0], hold=True)
    wall[0] += 30.0
    assert clock.now() == -120.0
    clock.start()
    wall[0] += 2.0
    assert clock.now() == -120.0 + 2.0 * 60.0
    clock.start()  # a running clock is not restarted
    assert clock.now() == 0.0
