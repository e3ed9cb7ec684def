"""The spoiler delay's rule: what a subscriber behind receives is the match as it stood then."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.domain.alerts import Alert
from notifier.domain.holdback import HeldLine, before, due_ms, mark, undoes
from notifier.domain.models import Score
from tests.unit.strategies import T0, fold, goal_ops, ops_snapshots, polls

SCORED = ("goal", "goal_cancelled")


def _alerts(ops: Sequence[tuple[str, str]]) -> list[Alert]:
    """The real engine's alerts for a match of these goals and cancellations, one a minute."""
    _, alerts = fold(polls(ops_snapshots(ops)))  # type: ignore[arg-type]
    return [a for a in alerts if a.kind != "status"]


def _receive(alerts: Sequence[Alert], delay_s: int, at: Sequence[int]) -> list[Alert]:
    """What a subscriber ``delay_s`` behind gets when releases run at the times ``at`` (and as
    each alert comes in: what is due by then goes first)."""
    line, out = HeldLine(), []
    timeline = [(int(a.emitted_at.timestamp() * 1000), 1, i) for i, a in enumerate(alerts)]
    timeline += [(t, 0, -1) for t in at]
    for now, is_alert, i in sorted(timeline):
        out += line.release(now)
        if is_alert:
            line.hold(alerts[i], due_ms(alerts[i].emitted_at, delay_s))
    return out + line.release(2**62)


def _consistent(alerts: Sequence[Alert]) -> bool:
    """Every alert's score is the one the goals and cancellations before it make."""
    running = Score()
    for a in alerts:
        if a.kind in SCORED:
            if before(a) != running:
                return False
            running = a.score
        elif a.score != running:
            return False
    return True


def test_a_goal_ruled_out_within_the_delay_is_never_sent_nor_its_cancellation() -> None:
    alerts = _alerts([("goal", "away"), ("goal", "home"), ("cancel", "home")])
    kinds = [a.kind for a in alerts]
    c = kinds.index("goal_cancelled")
    assert kinds[c - 1] == "goal"
    got = _receive(alerts, delay_s=120, at=[])
    assert [a.id for a in got] == [a.id for i, a in enumerate(alerts) if i not in (c - 1, c)]
    assert [a.score for a in got if a.kind == "goal"] == [Score(home=0, away=1)]
    assert got[-1].text == alerts[-1].text


def test_a_cancellation_after_the_goal_was_sent_is_sent() -> None:
    alerts = _alerts([("goal", "home"), ("cancel", "home")])
    got = _receive(alerts, delay_s=30, at=[])  # a minute apart: the goal went first
    assert [a.kind for a in got].count("goal_cancelled") == 1


def test_marks_name_the_alert_taken_back() -> None:
    alerts = _alerts([("goal", "away"), ("cancel", "away")])
    goal, cancel = (next(a for a in alerts if a.kind == k) for k in ("goal", "goal_cancelled"))
    assert mark(goal) == "goal:away:0-0>0-1" == undoes(cancel)
    assert undoes(goal) == "goal_cancelled:away:0-1>0-0"
    assert mark(_alerts([])[0]) == ""


def test_the_due_time_runs_on_the_match_clock() -> None:
    assert due_ms(T0, 60) - due_ms(T0, 0) == 60_000
    assert due_ms(T0, 60, rate=60) - due_ms(T0, 0) == 1000


@settings(max_examples=150, deadline=None)
@given(
    goal_ops(),
    st.integers(min_value=0, max_value=900),
    st.lists(st.integers(min_value=0, max_value=20 * 60_000), max_size=8),
)
def test_what_a_subscriber_behind_gets_is_a_consistent_match(
    ops: list[tuple[str, str]], delay_s: int, offsets: list[int]
) -> None:
    alerts = _alerts(ops)
    assert _consistent(alerts)
    start = T0.timestamp() * 1000
    got = _receive(alerts, delay_s, [int(start) + o for o in offsets])
    assert _consistent(got)  # no jump: each score follows from what was sent before it
    assert got[-1].score == alerts[-1].score  # and it ends where the match ended
    ids = [a.id for a in alerts]
    assert [i for i in ids if i in {a.id for a in got}] == [a.id for a in got]  # in order
    assert len({a.id for a in got}) == len(got)  # once each
    if delay_s == 0:
        assert got == alerts


def test_an_alert_between_the_pair_keeps_it() -> None:
    alerts = _alerts([("goal", "home"), ("goal", "away"), ("cancel", "home")])
    got = _receive(alerts, delay_s=900, at=[])
    # The away goal's alert says 1-1: the home goal it counts was sent, and so is its end.
    assert [a.kind for a in got] == [a.kind for a in alerts]
    assert timedelta(0) <= got[-1].emitted_at - alerts[0].emitted_at


def test_alerts_of_another_match_between_the_pair_do_not_keep_it() -> None:
    alerts = _alerts([("goal", "away"), ("goal", "home"), ("cancel", "home")])
    c = [a.kind for a in alerts].index("goal_cancelled")
    at = alerts[c].emitted_at  # the same moment as the cancellation, just before it
    other = alerts[0].model_copy(update={"id": "x:1", "match": "other", "emitted_at": at})
    mixed = [*alerts[:c], other, *alerts[c:]]
    got = _receive(mixed, delay_s=120, at=[])
    assert [a.id for a in got] == [a.id for i, a in enumerate(mixed) if i not in (c - 1, c + 1)]


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(0, 900),
    st.sampled_from([1.0, 2.0, 30.0, 40.0, 60.0]),
)
def test_an_alert_is_never_due_before_its_delay_is_over(
    emitted: datetime, delay_s: int, rate: float
) -> None:
    due = due_ms(emitted, delay_s, rate)
    assert due / 1000 >= emitted.timestamp() + delay_s / rate - 1e-6  # float's own slack
    assert due / 1000 < emitted.timestamp() + delay_s / rate + 0.001  # and at most 1 ms after
