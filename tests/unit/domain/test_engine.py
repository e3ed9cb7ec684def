"""``notifier.domain.engine``: folding events into match (and tie) state, and the alerts that
come out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.domain.alerts import Alert, Need
from notifier.domain.diff import diff
from notifier.domain.engine import MatchState, apply, start, view
from notifier.domain.events import Event, GoalCancelled, GoalScored
from notifier.domain.models import MatchSnapshot, Score, Side
from notifier.domain.tie import FirstLeg, TieRules, TieSpec
from tests.unit.strategies import (
    ALIASES,
    KEY,
    SIDES,
    T0,
    TIE,
    TIE_RULES,
    S,
    fold,
    goal,
    goal_ops,
    histories,
    ops_snapshots,
    polls,
    scripted_second_leg,
    snap,
    texts,
)

PROPERTY = settings(max_examples=200, deadline=None)

# What ``notifier demo`` prints for the scripted second leg, line by line.
DEMO = [
    "Lineups: Atalanta (3-4-2-1) Carnesecchi; Kossounou, Djimsiti, Ahanor;"
    " Zappacosta, Ederson, De Roon, Bernasconi; Pasalic, Zalewski; Scamacca",
    "Lineups: Dortmund (3-4-2-1) Kobel; Anton, Schlotterbeck, Bensebaini;"
    " Ryerson, Nmecha, Bellingham, Svensson; Brandt, Beier; Guirassy",
    "Kick-off: Atalanta v Dortmund. Dortmund lead 2-0 from the first leg",
    "GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate."
    " Atalanta need one goal to force extra time",
    "GOAL Atalanta 1-1 Dortmund (Guirassy 38'). Dortmund lead 3-1 on aggregate."
    " Atalanta need two goals to force extra time",
    "Goal ruled out: Guirassy (Dortmund) 38'. Atalanta 1-0 Dortmund."
    " Dortmund lead 2-1 on aggregate. Atalanta need one goal to force extra time",
    "Half-time: Atalanta 1-0 Dortmund. Dortmund lead 2-1 on aggregate."
    " Atalanta need one goal to force extra time",
    "Second half under way: Atalanta 1-0 Dortmund. Dortmund lead 2-1 on aggregate."
    " Atalanta need one goal to force extra time",
    "Red card: Kossounou (Atalanta) 67'. Atalanta down to ten men. Atalanta 1-0 Dortmund."
    " Dortmund lead 2-1 on aggregate",
    "Penalty missed: Guirassy (Dortmund) 71'. Atalanta 1-0 Dortmund."
    " Dortmund lead 2-1 on aggregate",
    "GOAL Atalanta 2-0 Dortmund (Pasalic 84'). 2-2 on aggregate",
    "End of normal time: Atalanta 2-0 Dortmund. 2-2 on aggregate: extra time",
    "GOAL Atalanta 2-1 Dortmund (Beier 104'). Dortmund lead 3-2 on aggregate."
    " Atalanta need one goal to force penalties",
    "Goal ruled out: Beier (Dortmund) 104'. Atalanta 2-0 Dortmund. 2-2 on aggregate",
    "End of extra time: Atalanta 2-0 Dortmund. 2-2 on aggregate: penalties",
    "Penalties under way: Atalanta 2-0 Dortmund. 2-2 on aggregate",
    "Penalties: Atalanta 1-0 Dortmund (Krstovic scores)",
    "Penalties: Atalanta 1-1 Dortmund (Guirassy scores, after one kick each)",
    "Penalties: Atalanta 2-1 Dortmund (Pasalic scores)",
    "Penalties: Atalanta 2-2 Dortmund (Sabitzer scores, after two kicks each)",
    "Penalties: Atalanta 3-2 Dortmund (Samardzic scores)",
    "Penalties: Atalanta 3-3 Dortmund (Adeyemi scores, after three kicks each)",
    "Penalties: Atalanta 4-3 Dortmund (Djimsiti scores)",
    "Penalties: Atalanta 4-4 Dortmund (Gross scores, after four kicks each)",
    "Penalties: Atalanta 5-4 Dortmund (Musah scores)",
    "Penalties: Atalanta 5-4 Dortmund (Svensson misses, after five kicks each)."
    " Atalanta win the shoot-out",
    "Atalanta win 5-4 on penalties (2-2 on aggregate). Atalanta reach the round of 16",
]
DEMO_KINDS = [
    "lineups",
    "lineups",
    "kickoff",
    "goal",
    "goal",
    "goal_cancelled",
    "half_time",
    "second_half",
    "red_card",
    "penalty_missed",
    "goal",
    "full_time",
    "goal",
    "goal_cancelled",
    "extra_time",
    *["shootout"] * 11,
    "result",
]


def scripted() -> tuple[MatchState, list[Alert]]:
    state, alerts = fold(polls(scripted_second_leg()))
    assert state is not None
    return state, alerts


# --- the whole scripted match --------------------------------------------------------------------


def test_scripted_second_leg_gives_the_demo_alerts() -> None:
    _, alerts = scripted()
    assert texts(alerts) == DEMO
    assert [a.kind for a in alerts] == DEMO_KINDS


def test_scripted_second_leg_final_state() -> None:
    state, _ = scripted()
    assert (state.home, state.away, state.tie) == ("Atalanta", "Dortmund", TIE.id)
    assert (state.status, state.score, state.shootout) == (
        S.FINISHED,
        Score(home=2, away=0),
        Score(home=5, away=4),
    )
    assert (state.kicks, state.extra_time_played, state.finished) == (
        Score(home=5, away=5),
        True,
        True,
    )
    assert (state.prior, state.prior_away) == (Score(home=0, away=2), Score(home=0, away=0))


def test_scripted_alerts_carry_the_match_and_the_tie() -> None:
    _, alerts = scripted()
    rows = [(a.kind, a.minute, a.score.home, a.score.away, a.aggregate, a.leader) for a in alerts]
    by_text = dict(zip(DEMO, rows, strict=True))
    agg = {"Atalanta": 1, "Dortmund": 2}
    assert by_text[DEMO[3]] == ("goal", 23, 1, 0, agg, "Dortmund")
    assert by_text[DEMO[4]] == ("goal", 38, 1, 1, {"Atalanta": 1, "Dortmund": 3}, "Dortmund")
    assert by_text[DEMO[5]] == ("goal_cancelled", 38, 1, 0, agg, "Dortmund")
    assert by_text[DEMO[8]] == ("red_card", 67, 1, 0, agg, "Dortmund")
    assert by_text[DEMO[10]] == ("goal", 84, 2, 0, {"Atalanta": 2, "Dortmund": 2}, None)
    assert by_text[DEMO[-1]][4:] == ({"Atalanta": 2, "Dortmund": 2}, "Atalanta")
    assert all(a.match == KEY and a.home == "Atalanta" and a.away == "Dortmund" for a in alerts)
    assert all(a.tie == TIE.id for a in alerts)
    assert alerts[3].needs == "Atalanta need one goal to force extra time"
    assert alerts[3].public()["need"] == {
        "side": "home",
        "team": "Atalanta",
        "goals": 1,
        "to": "extra_time",
    }


def test_alerts_carry_what_the_side_going_out_needs_as_data() -> None:
    """``need`` is ``needs`` as data: the same side, count and aim, on every alert; none once
    the tie is level or the match is over."""
    _, alerts = scripted()
    worded = {
        "one goal to force extra time": (1, "extra_time"),
        "two goals to force extra time": (2, "extra_time"),
        "one goal to force penalties": (1, "penalties"),
    }
    for a in alerts:
        if a.needs is None:
            assert a.need is None and a.public()["need"] is None
            continue
        assert a.need is not None
        team, _, rest = a.needs.partition(" need ")
        assert (a.need.team, a.need.side) == (team, "home" if team == a.home else "away")
        assert (a.need.goals, a.need.to) == worded[rest]
    by_text = dict(zip(DEMO, alerts, strict=True))
    beier = by_text[DEMO[12]]
    assert beier.public()["need"] == {
        "side": "home",
        "team": "Atalanta",
        "goals": 1,
        "to": "penalties",
    }
    assert by_text[DEMO[4]].need == Need(side="home", team="Atalanta", goals=2, to="extra_time")
    assert by_text[DEMO[10]].need is None and alerts[-1].need is None
    assert alerts[3].data == {"side": "home", "goal": goal(23, "home", "Scamacca").model_dump()}
    assert alerts[-1].data == {"winner": "home", "how": "penalties"}
    assert alerts[-1].status == S.FINISHED and alerts[-1].shootout == Score(home=5, away=4)


def test_alert_ids_derive_from_event_ids_and_are_unique() -> None:
    events = polls(scripted_second_leg())
    _, alerts = fold(events)
    ids = [a.id for a in alerts]
    assert len(set(ids)) == len(ids)
    assert {a.event for a in alerts} <= {e.id for e in events}
    home, away = alerts[0], alerts[1]
    assert (home.id, away.id) == (f"{KEY}:lineups", f"{KEY}:lineups#1")
    assert (home.data, away.data) == ({"side": "home"}, {"side": "away"})


def test_alert_timestamps() -> None:
    prev = snap(minute=20)
    cur = snap(score=(1, 0), minute=24, goals=[goal(23, "home", "Scamacca")], updated_at=T0)
    seen = T0 + timedelta(seconds=20)
    events = diff(prev, cur, seen=seen)
    state = start(events[0], TIE, ALIASES)
    now = seen + timedelta(seconds=2)
    _, [alert] = apply(state, events[0], now)
    assert (alert.occurred_at, alert.detected_at, alert.emitted_at) == (T0, seen, now)
    assert all(t.tzinfo is not None for t in (alert.occurred_at, alert.detected_at))


# --- start, aliases, single matches ------------------------------------------------------------


def _first_event(home: str = "Atalanta", away: str = "Borussia Dortmund") -> Event:
    return diff(None, snap(S.FIRST_HALF, minute=1, home=home, away=away), seen=T0)[0]


@pytest.mark.parametrize(
    ("aliases", "home", "away"),
    [
        (ALIASES, "Atalanta", "Dortmund"),
        ({}, "Atalanta", "Borussia Dortmund"),
        ({"Atalanta": "La Dea", "Borussia Dortmund": "BVB"}, "La Dea", "BVB"),
    ],
)
def test_start_maps_aliases_to_display_names(aliases: dict[str, str], home: str, away: str) -> None:
    state = start(_first_event(), TIE, aliases)
    assert (state.home, state.away) == (home, away)
    _, [alert] = apply(state, _first_event(), T0)
    assert alert.text == f"Kick-off: {home} v {away}. {away} lead 2-0 from the first leg"
    assert alert.aggregate == {home: 0, away: 2}


@pytest.mark.parametrize(
    ("first_leg", "home", "away", "prior", "prior_away"),
    [
        (TIE.first_leg, "Atalanta", "Borussia Dortmund", (0, 2), (0, 0)),
        (TIE.first_leg, "Atalanta BC", "Dortmund", (0, 2), (0, 0)),
        (
            FirstLeg(home="Atalanta", away="Dortmund", score=Score(home=1, away=3)),
            "Atalanta",
            "Borussia Dortmund",
            (1, 3),
            (0, 3),
        ),
    ],
)
def test_start_aligns_the_first_leg(
    first_leg: FirstLeg,
    home: str,
    away: str,
    prior: tuple[int, int],
    prior_away: tuple[int, int],
) -> None:
    tie = TIE.model_copy(update={"first_leg": first_leg})
    state = start(_first_event(home, away), tie, {})
    assert state.prior == Score(home=prior[0], away=prior[1])
    assert state.prior_away == Score(home=prior_away[0], away=prior_away[1])
    assert (state.rules, state.next_round, state.tie) == (TieRules(), "the round of 16", TIE.id)


def test_single_match_same_alerts_without_aggregate() -> None:
    _, alerts = fold(polls(scripted_second_leg()), tie=None)
    assert [a.kind for a in alerts] == DEMO_KINDS
    assert all(a.aggregate is None and a.needs is None and a.tie is None for a in alerts)
    assert texts(alerts)[2:6] == [
        "Kick-off: Atalanta v Dortmund",
        "GOAL Atalanta 1-0 Dortmund (Scamacca 23')",
        "GOAL Atalanta 1-1 Dortmund (Guirassy 38')",
        "Goal ruled out: Guirassy (Dortmund) 38'. Atalanta 1-0 Dortmund",
    ]
    assert [a.leader for a in alerts[3:6]] == ["Atalanta", None, "Atalanta"]


def test_single_match_to_penalties() -> None:
    scamacca, guirassy = goal(23, "home", "Scamacca"), goal(38, "away", "Guirassy")
    both = [scamacca, guirassy]
    script = [
        snap(S.FIRST_HALF, minute=1),
        snap(S.FIRST_HALF, (1, 1), minute=40, goals=both),
        snap(S.SECOND_HALF, (1, 1), minute=46, goals=both),
        snap(S.EXTRA_TIME, (1, 1), minute=91, goals=both),
        snap(S.PENALTIES, (1, 1), minute=120, goals=both),
        snap(S.FINISHED, (1, 1), goals=both, shootout=Score(home=4, away=3), winner="home"),
    ]
    _, alerts = fold(polls(script), tie=None)
    assert [a.kind for a in alerts] == [
        "kickoff",
        "goal",
        "goal",
        "second_half",
        "full_time",
        "extra_time",
        "shootout",
        "shootout",
        "result",
    ]
    assert texts(alerts)[3:7] == [
        "Second half under way: Atalanta 1-1 Dortmund",
        "End of normal time: Atalanta 1-1 Dortmund. Level after 90 minutes: extra time",
        "End of extra time: Atalanta 1-1 Dortmund. Level after extra time: penalties",
        "Penalties under way: Atalanta 1-1 Dortmund",
    ]
    assert texts(alerts)[-2:] == [
        "Penalties: Atalanta 4-3 Dortmund",
        "Atalanta win 4-3 on penalties (1-1 after extra time)",
    ]
    assert alerts[-1].leader == "Atalanta" and alerts[-1].aggregate is None


# --- phases ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "score", "kinds"),
    [
        (S.SCHEDULED, S.FIRST_HALF, (0, 0), ["kickoff"]),
        (S.FIRST_HALF, S.HALF_TIME, (0, 0), ["half_time"]),
        (S.HALF_TIME, S.SECOND_HALF, (0, 0), ["second_half"]),
        (S.FIRST_HALF, S.SECOND_HALF, (0, 0), ["second_half"]),
        (S.SECOND_HALF, S.EXTRA_TIME, (2, 0), ["full_time"]),
        (S.SECOND_HALF, S.PENALTIES, (2, 0), ["full_time", "shootout"]),
        (S.SECOND_HALF, S.FINISHED, (1, 0), ["full_time", "result"]),
        (S.EXTRA_TIME, S.PENALTIES, (2, 0), ["extra_time", "shootout"]),
        (S.EXTRA_TIME, S.FINISHED, (3, 0), ["extra_time", "result"]),
        (S.PENALTIES, S.FINISHED, (2, 0), ["result"]),
        (S.SECOND_HALF, S.SUSPENDED, (1, 0), ["status"]),
        (S.SUSPENDED, S.SECOND_HALF, (1, 0), ["status"]),  # "Play resumes: ..."
        (S.SCHEDULED, S.POSTPONED, (0, 0), ["status"]),
        (S.SECOND_HALF, S.ABANDONED, (1, 0), ["status"]),
    ],
)
def test_phase_alerts(before: S, after: S, score: tuple[int, int], kinds: list[str]) -> None:
    prev, cur = snap(before, score, minute=60), snap(after, score, minute=61)
    events = diff(prev, cur, seen=T0)
    state = start(events[0], TIE, ALIASES).model_copy(
        update={"status": before, "score": prev.score}
    )
    _, alerts = fold(events, state=state)
    assert [a.kind for a in alerts] == kinds
    assert all(a.status == after for a in alerts)


@pytest.mark.parametrize(
    ("final", "expected"),
    [
        (snap(S.FINISHED, (1, 1)), "Dortmund win 3-1 on aggregate. Dortmund reach the round of 16"),
        (snap(S.FINISHED, (3, 0)), "Atalanta win 3-2 on aggregate. Atalanta reach the round of 16"),
        (
            snap(S.FINISHED, (2, 0), winner="away"),
            "Dortmund go through (2-2 on aggregate). Dortmund reach the round of 16",
        ),
        (snap(S.FINISHED, (2, 0)), "Atalanta and Dortmund draw 2-2"),
    ],
)
def test_result(final: MatchSnapshot, expected: str) -> None:
    _, alerts = fold(polls([snap(S.SECOND_HALF, minute=50), final]))
    assert alerts[-1].kind == "result"
    assert alerts[-1].text == expected


def test_result_once() -> None:
    done = snap(S.FINISHED, (1, 1), minute=90)
    again = snap(S.FINISHED, (1, 1), minute=91, winner="away")
    state, alerts = fold(polls([snap(S.SECOND_HALF, (1, 1), minute=89), done]))
    assert state is not None and state.finished
    # A corrected full-time (a new event id) does not crown the winner twice.
    _, more = fold(diff(snap(S.PENALTIES, (1, 1)), again, seen=T0), state=state)
    assert [a.kind for a in alerts].count("result") == 1
    assert [a.kind for a in more] == []


def test_first_sight_mid_match_kick_off_states_the_first_leg() -> None:
    cur = snap(S.SECOND_HALF, (1, 0), minute=60, goals=[goal(23, "home", "Scamacca")])
    _, alerts = fold(diff(None, cur, seen=T0))
    assert texts(alerts) == [
        "Kick-off: Atalanta v Dortmund. Dortmund lead 2-0 from the first leg",
        "GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate."
        " Atalanta need one goal to force extra time",
        "Second half under way: Atalanta 1-0 Dortmund. Dortmund lead 2-1 on aggregate."
        " Atalanta need one goal to force extra time",
    ]


def test_first_sight_at_half_time() -> None:
    cur = snap(S.HALF_TIME, (1, 0), minute=45, goals=[goal(23, "home", "Scamacca")])
    _, alerts = fold(diff(None, cur, seen=T0))
    assert [a.kind for a in alerts] == ["kickoff", "goal", "half_time"]
    assert alerts[-1].text.startswith("Half-time: Atalanta 1-0 Dortmund")


# --- properties ---------------------------------------------------------------------------------


def _expected_aggregate(alert: Alert, first_leg: FirstLeg) -> dict[str, int]:
    """Each team's goals over both legs, from the first leg's result and this alert's score."""
    display = {"Atalanta": "Atalanta", "Borussia Dortmund": "Dortmund"}
    leg1 = {
        display[first_leg.home]: first_leg.score.home,
        display[first_leg.away]: first_leg.score.away,
    }
    return {
        alert.home: leg1[alert.home] + alert.score.home,
        alert.away: leg1[alert.away] + alert.score.away,
    }


@PROPERTY
@given(
    goal_ops(),
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=0, max_value=5),
    st.booleans(),
    TIE_RULES,
)
def test_aggregate_is_first_leg_plus_second_leg(
    ops: list[tuple[str, Side]], h: int, a: int, reverse: bool, rules: TieRules
) -> None:
    """After every alert, whatever the goals and cancellations, both legs add up."""
    teams = ("Borussia Dortmund", "Atalanta") if reverse else ("Atalanta", "Borussia Dortmund")
    first_leg = FirstLeg(home=teams[0], away=teams[1], score=Score(home=h, away=a))
    tie = TieSpec(id="t", first_leg=first_leg, rules=rules)
    _, alerts = fold(polls(ops_snapshots(ops)), tie=tie)
    assert alerts
    for alert in alerts:
        assert alert.aggregate == _expected_aggregate(alert, first_leg)


def _goal_event(state: MatchState, side: Side, n: int, cancel: bool) -> Event:
    fields = {
        "id": f"{KEY}:{'cancel' if cancel else 'goal'}:{side}:test-{n}",
        "match": KEY,
        "at": T0,
        "seen": T0,
        "home": "Atalanta",
        "away": "Borussia Dortmund",
        "status": state.status,
        "minute": 50 + n,
        "side": side,
    }
    score = state.score.plus(side, -1 if cancel else 1)
    if cancel:
        return GoalCancelled(**fields, score=score)
    return GoalScored(**fields, score=score)


def _essence(state: MatchState) -> tuple[object, ...]:
    """Everything a goal and its cancellation must leave as it was."""
    v = view(state)
    return (state.score, state.status, state.shootout, state.finished, v.standing, v.needs)


@PROPERTY
@given(goal_ops(), st.sampled_from(["home", "away"]), TIE_RULES, st.booleans())
def test_goal_then_its_cancellation_changes_nothing(
    ops: list[tuple[str, Side]], side: Side, rules: TieRules, extra_time: bool
) -> None:
    tie = TIE.model_copy(update={"rules": rules})
    script = ops_snapshots(ops, finish=False)
    if extra_time:
        script.append(script[-1].model_copy(update={"status": S.EXTRA_TIME, "minute": 95}))
    state, before_alerts = fold(polls(script), tie=tie)
    assert state is not None
    scored = _goal_event(state, side, 1, cancel=False)
    after_goal, [goal_alert] = apply(state, scored, T0)
    after, [cancel_alert] = apply(after_goal, _goal_event(after_goal, side, 2, cancel=True), T0)
    assert _essence(after) == _essence(state)
    assert goal_alert.kind == "goal" and cancel_alert.kind == "goal_cancelled"
    last = before_alerts[-1]
    assert (cancel_alert.aggregate, cancel_alert.leader) == (last.aggregate, last.leader)


@PROPERTY
@given(histories())
def test_reapplying_an_event_changes_nothing(script: list[MatchSnapshot]) -> None:
    events = polls(script)
    state: MatchState | None = None
    for event in events:
        if state is None:
            state = start(event, TIE, ALIASES)
        state, _ = apply(state, event, T0)
        again, alerts = apply(state, event, T0 + timedelta(hours=1))
        assert (again, alerts) == (state, [])
    if state is not None:
        for event in events:
            assert apply(state, event, T0) == (state, [])


@PROPERTY
@given(histories())
def test_folding_a_history_ends_on_the_feeds_score(script: list[MatchSnapshot]) -> None:
    state, alerts = fold(polls(script))
    last = script[-1]
    final = state.score if state is not None else Score()
    assert final == last.score
    for side in SIDES:
        scored = sum(a.kind == "goal" and a.data["side"] == side for a in alerts)
        ruled_out = sum(a.kind == "goal_cancelled" and a.data["side"] == side for a in alerts)
        assert scored - ruled_out == last.score.of(side)
    for alert in alerts:
        assert alert.aggregate == _expected_aggregate(alert, TIE.first_leg)


def test_goal_reinstated_after_cancellation_is_announced_again() -> None:
    """VAR takes a goal off and the feed then puts it back: the reinstatement is a new event
    with its own id (the stored snapshot counts corrections), so it is announced again."""
    scamacca = goal(23, "home", "Scamacca")
    script = [
        snap(S.FIRST_HALF, minute=20),
        snap(S.FIRST_HALF, (1, 0), minute=24, goals=[scamacca]),
        snap(S.FIRST_HALF, (0, 0), minute=26),
        snap(S.FIRST_HALF, (1, 0), minute=28, goals=[scamacca]),
    ]
    state, alerts = fold(polls(script))
    assert state is not None
    assert [a.kind for a in alerts] == ["kickoff", "goal", "goal_cancelled", "goal"]
    assert state.score == Score(home=1, away=0)


def _as_validated(model: MatchState | Alert) -> None:
    """The engine builds states and alerts without validating them again (their values come
    from validated events and states): each must be exactly what validation would give."""
    again = type(model).model_validate(model.model_dump(exclude_unset=True))
    assert again == model
    assert again.model_fields_set == model.model_fields_set
    assert again.model_dump_json() == model.model_dump_json()
    assert type(model).model_validate_json(model.model_dump_json()) == model


@PROPERTY
@given(histories())
def test_states_and_alerts_built_unvalidated_are_valid(script: list[MatchSnapshot]) -> None:
    state: MatchState | None = None
    for event in polls(script):
        if state is None:
            state = start(event, TIE, ALIASES)
        state, alerts = apply(state, event, T0)
        _as_validated(state)
        for alert in alerts:
            _as_validated(alert)


def test_the_scripted_match_builds_valid_states_and_alerts() -> None:
    state, alerts = scripted()
    _as_validated(state)
    for alert in alerts:
        _as_validated(alert)
