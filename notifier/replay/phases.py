"""The virtual clock of a replayed match: periods, breaks, stoppage time, the shoot-out. Pure.

Times are virtual seconds from kick-off. A match time (``elapsed``, ``extra``) is *placed* in a
period as minutes into it (45+2 is 47 minutes into the first half); a period's stoppage time is
the latest placed minute beyond its regular length, at least one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from notifier.feeds import fields as f

MINUTE = 60.0
BREAKS = {0: ("HT", 15), 1: ("BT", 5), 2: ("BT", 1)}  # after period i: status code, minutes
SKELETON = (("1H", 0, 45), ("2H", 45, 45), ("ET", 90, 15), ("ET", 105, 15))
ET_CODES = frozenset({"ET", "BT", "AET"})
NOT_PLAYED = frozenset({"TBD", "NS", "PST", "CANC"})
Skeleton = tuple[tuple[str, int, int], ...]
MatchTime = tuple[int | None, int | None]  # elapsed, extra
Place = tuple[int, int] | None  # period index, minutes into it (stoppage included)


@dataclass(frozen=True)
class Phase:
    """A stretch of the match: a period of play (running clock) or a break."""

    code: str
    start: float
    end: float
    base: int  # elapsed minutes when it starts (0, 45, 90, 105; for breaks, where it stands)
    length: int  # regular minutes of play (0 for breaks)
    stoppage: int

    def clock(self, t: float) -> tuple[int, int | None]:
        """``status.elapsed`` and ``status.extra`` at t."""
        if not self.length:
            return self.base, (self.stoppage or None)
        minute = int((t - self.start) // MINUTE) + 1
        if minute <= self.length:
            return self.base + minute, None
        return self.base + self.length, min(minute - self.length, self.stoppage)


def event_time(raw: dict[str, Any]) -> MatchTime:
    """``time.elapsed`` and ``time.extra`` of one raw event."""
    time = f.obj(raw, "time")
    return f.count(time.get("elapsed"), "time.elapsed"), f.count(time.get("extra"), "time.extra")


def has_extra_time(
    item: dict[str, Any],
    short: str | None,
    elapsed: int | None,
    times: dict[int, MatchTime],
) -> bool:
    """Whether the recorded match went to extra time (FT says it did not, whatever else says)."""
    if short == "FT":
        return False
    if short in ET_CODES:
        return True
    extratime = f.score_pair(f.obj(item, "score"), "extratime")
    late = any(minute is not None and minute > 90 for minute, _ in times.values())
    return extratime is not None or late or (elapsed or 0) > 90


def last_period(short: str | None, elapsed: int | None, periods: int) -> int:
    """Index of the period the recording ends in (its ``status.extra`` belongs to it)."""
    fixed = {"1H": 0, "HT": 0, "2H": 1, "FT": 1}
    if short in fixed:
        return fixed[short]
    if short in ("AET", "PEN", "P"):
        return periods - 1
    index = sum((elapsed or 0) > edge for edge in (45, 90, 105))
    return min(index, periods - 1)


def place(time: MatchTime, skeleton: Skeleton) -> Place:
    """Which period a match time falls in, and how many minutes into it (45+2 is 47 into 1H)."""
    elapsed, extra = time
    if elapsed is None:
        return None
    for index, (_, base, length) in enumerate(skeleton):
        end = base + length
        if elapsed < end:
            return index, max(0, elapsed - base)
        if elapsed == end or index == len(skeleton) - 1:
            return index, length + (elapsed - end) + (extra or 0)
    return None


def stoppages(
    skeleton: Skeleton, placed: dict[int, Place], last: int, extra: int | None
) -> list[int]:
    """Added minutes per period: the latest event in it, the recorded ``extra``, at least 1."""
    added = [1] * len(skeleton)
    for where in placed.values():
        if where is not None:
            index, offset = where
            added[index] = max(added[index], offset - skeleton[index][2])
    if extra:
        added[last] = max(added[last], extra)
    return added


def schedule(skeleton: Skeleton, stoppage: list[int], pens: bool) -> list[Phase]:
    """Periods and breaks in virtual seconds from kick-off, then the shoot-out if any."""
    phases: list[Phase] = []
    t = 0.0
    for index, (code, base, length) in enumerate(skeleton):
        end = t + (length + stoppage[index]) * MINUTE
        phases.append(Phase(code, t, end, base, length, stoppage[index]))
        t = end
        if index + 1 < len(skeleton):
            pause, minutes = BREAKS[index]
            phases.append(Phase(pause, t, t + minutes * MINUTE, base + length, 0, stoppage[index]))
            t += minutes * MINUTE
    if pens:
        _, base, length = skeleton[-1]
        phases.append(Phase("P", t, math.inf, base + length, 0, 0))
    return phases


def end_of_replay(
    phases: list[Phase], short: str | None, now: Place, last: int, kicks: int, pens: bool
) -> float:
    """Virtual second from which the recording itself is served."""
    periods = [p for p in phases if p.length]
    if short in NOT_PLAYED:
        return 0.0
    if short == "P":
        return phases[-1].start + kicks * MINUTE
    if pens and short in ("PEN", "FT", "AET"):
        return phases[-1].start + (kicks + 1) * MINUTE
    if short in ("FT", "AET", "HT", "BT"):
        return periods[last].end
    if now is None:
        return 0.0
    index, offset = now
    return periods[index].start + offset * MINUTE
