"""The live poll interval of one provider group, chosen from the plan's request budget. Pure.

A fixed live interval (``poll.live_s``) is both too slow and too fast: on a 300 requests/minute
plan three followed matches could be looked at every second, while a thousand need every request
the plan has. So each group's interval is the shortest one that

* keeps the group's share of the per-minute plan (``headroom`` of it: the rest is for detail
  requests, lineups, discovery and a scheduler tick that comes early),
* keeps the group's share of what is left of the day's plan, after the requests kept back for the
  day's followed matches that have not started yet, over the time its live matches still need,

and lies between ``floor_s`` (the fastest pace we ever poll at) and ``ceiling_s`` (today's fixed
interval: a plan too small for its matches never makes us poll slower than before; the shared
budget then refuses the excess, which costs freshness, never a 429). One cycle of a group costs
``ceil(live / bulk)`` requests (at least one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LIVE_SPAN_S = 9000.0  # a match's live polling: 90' + half-time + stoppage, extra time, shoot-out
DAY_S = 86400.0


@dataclass(frozen=True)
class Plan:
    """A provider's plan as one of its ``groups`` lease groups may use it."""

    per_minute: int
    per_day: int
    groups: int = 1
    headroom: float = 0.8  # share of the per-minute plan the live pace may plan for


@dataclass(frozen=True)
class Load:
    """What a group polls now and what the day still holds."""

    live: int  # matches polled at live pace in the group
    bulk: int  # matches one request covers
    used_today: int = 0  # requests the provider has counted today (every group)
    reserve: int = 0  # requests kept for the day's followed matches not live yet
    horizon_s: float = LIVE_SPAN_S  # how long the live matches still need polls today


@dataclass(frozen=True)
class Cadence:
    """The chosen interval, what bound it, and the requests one cycle makes."""

    interval_s: float
    reason: str  # floor | minute_budget | day_budget | ceiling
    requests_per_cycle: int


def requests_per_cycle(live: int, bulk: int) -> int:
    """Requests that cover ``live`` matches, ``bulk`` to a request (at least one)."""
    return max(1, math.ceil(live / max(1, bulk)))


def reserve_for(upcoming: int, bulk: int, ceiling_s: float, span_s: float = LIVE_SPAN_S) -> int:
    """Requests to keep for ``upcoming`` followed matches of the day: their live span, polled in
    bulk at today's fixed interval (the slowest we would poll them)."""
    if upcoming <= 0:
        return 0
    return requests_per_cycle(upcoming, bulk) * math.ceil(span_s / ceiling_s)


def horizon(seconds_into_day: float, span_s: float = LIVE_SPAN_S) -> float:
    """How long today's live matches still need polls out of today's budget: their span, or
    until midnight UTC, when the day's counter starts again."""
    return max(1.0, min(span_s, DAY_S - seconds_into_day))


def live_interval(plan: Plan, load: Load, floor_s: float, ceiling_s: float) -> Cadence:
    """The group's live interval in [floor, ceiling], from the budget; see the module doc."""
    floor = min(floor_s, ceiling_s)
    cycle = requests_per_cycle(load.live, load.bulk)
    per_minute = plan.per_minute * plan.headroom / max(1, plan.groups)
    by_minute = cycle * 60.0 / per_minute
    left = (plan.per_day - load.used_today - load.reserve) / max(1, plan.groups)
    by_day = cycle * load.horizon_s / left if left > 0 else math.inf
    candidates = (("floor", floor), ("minute_budget", by_minute), ("day_budget", by_day))
    reason, interval = max(candidates, key=lambda c: c[1])
    if interval >= ceiling_s:
        return Cadence(ceiling_s, "ceiling", cycle)
    return Cadence(interval, reason, cycle)
