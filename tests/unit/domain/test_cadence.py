"""The live interval chosen from the plan's budget: properties over every plan and load."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from notifier.domain.cadence import (
    LIVE_SPAN_S,
    Load,
    Plan,
    horizon,
    live_interval,
    requests_per_cycle,
    reserve_for,
)

FLOOR, CEILING = 2.0, 15.0

plans = st.builds(
    Plan,
    per_minute=st.integers(1, 10_000),
    per_day=st.integers(1, 1_000_000),
    groups=st.integers(1, 16),
    headroom=st.floats(0.1, 1.0),
)
loads = st.builds(
    Load,
    live=st.integers(0, 5_000),
    bulk=st.integers(1, 100),
    used_today=st.integers(0, 1_000_000),
    reserve=st.integers(0, 100_000),
    horizon_s=st.floats(1.0, LIVE_SPAN_S),
)
bounds = st.tuples(st.floats(0.1, 30.0), st.floats(0.1, 120.0))


@given(plans, loads, bounds)
def test_within_floor_and_ceiling(plan: Plan, load: Load, fc: tuple[float, float]) -> None:
    floor, ceiling = fc
    got = live_interval(plan, load, floor, ceiling)
    assert min(floor, ceiling) <= got.interval_s <= ceiling
    assert got.reason in {"floor", "minute_budget", "day_budget", "ceiling"}


@given(plans, loads)
def test_never_exceeds_the_budget_below_the_ceiling(plan: Plan, load: Load) -> None:
    """Unless even today's interval is too fast for the plan (then it is today's interval and
    the shared budget refuses the excess), the group's share of the plan is never exceeded."""
    got = live_interval(plan, load, FLOOR, CEILING)
    if got.reason == "ceiling":
        return
    per_minute = got.requests_per_cycle * 60.0 / got.interval_s
    assert per_minute <= plan.per_minute * plan.headroom / plan.groups * (1 + 1e-9)
    left = (plan.per_day - load.used_today - load.reserve) / plan.groups
    assert got.requests_per_cycle * load.horizon_s / got.interval_s <= left * (1 + 1e-9)


@given(plans, loads, st.integers(0, 5_000), st.integers(0, 5_000))
def test_monotonic_in_live_matches(plan: Plan, load: Load, a: int, b: int) -> None:
    fewer, more = sorted((a, b))
    low = live_interval(plan, Load(**{**load.__dict__, "live": fewer}), FLOOR, CEILING)
    high = live_interval(plan, Load(**{**load.__dict__, "live": more}), FLOOR, CEILING)
    assert low.interval_s <= high.interval_s


@given(plans, loads, st.integers(0, 100_000), st.integers(0, 100_000))
def test_monotonic_in_what_the_day_has_used(plan: Plan, load: Load, a: int, b: int) -> None:
    less, more = sorted((a, b))
    early = live_interval(plan, Load(**{**load.__dict__, "used_today": less}), FLOOR, CEILING)
    late = live_interval(plan, Load(**{**load.__dict__, "used_today": more}), FLOOR, CEILING)
    assert early.interval_s <= late.interval_s


def test_few_matches_on_a_big_plan_poll_at_the_floor() -> None:
    got = live_interval(Plan(300, 7_500), Load(live=5, bulk=20), FLOOR, CEILING)
    assert (got.interval_s, got.reason, got.requests_per_cycle) == (FLOOR, "floor", 1)


def test_many_matches_go_back_to_the_minute_budget() -> None:
    got = live_interval(Plan(300, 75_000), Load(live=1000, bulk=20), FLOOR, CEILING)
    assert got.reason == "minute_budget"
    assert math.isclose(got.interval_s, 50 * 60 / 240)


def test_a_spent_day_polls_at_todays_interval() -> None:
    got = live_interval(Plan(300, 7_500), Load(live=5, bulk=20, used_today=7_500), FLOOR, CEILING)
    assert (got.interval_s, got.reason) == (CEILING, "ceiling")


def test_the_days_rest_bounds_a_small_daily_plan() -> None:
    got = live_interval(Plan(300, 1_000), Load(live=40, bulk=20, horizon_s=3600), FLOOR, CEILING)
    assert got.reason == "day_budget"
    assert math.isclose(got.interval_s, 2 * 3600 / 1000)


def test_reserve_and_horizon() -> None:
    assert reserve_for(0, 20, CEILING) == 0
    assert reserve_for(21, 20, CEILING) == 2 * 600
    assert requests_per_cycle(0, 20) == 1
    assert horizon(0.0) == LIVE_SPAN_S
    assert horizon(86_400.0 - 60) == 60
