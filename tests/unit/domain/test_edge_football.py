"""Football the recordings do not cover: poll gaps over whole phases, shoot-outs whose feed lags,
awarded results, a goal ruled out and another scored between two polls, own goals taken back."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.domain.events import GoalCancelled, GoalScored, PhaseChanged, ShootoutKickTaken
from notifier.domain.models import Goal, MatchSnapshot, Score, ShootoutKick, Side
from notifier.domain.shootout import decided_at
from notifier.domain.tie import TieSpec, parse_first_leg
from tests.unit.strategies import S, fold, goal, incident, polls, snap, texts

TWO_NIL = TieSpec(
    id="t",
    first_leg=parse_first_leg("Borussia Dortmund 2-0 Atalanta"),
    next_round="the final",
)
SCAMACCA, PASALIC = goal(23, "home", "Scamacca"), goal(84, "home", "Pasalic")
LEVEL = [SCAMACCA, PASALIC]  # 2-0 in the second leg: 2-2 on aggregate
KICKOFF = snap(S.FIRST_HALF, minute=1)
IN_2H = snap(S.SECOND_HALF, (2, 0), minute=84, goals=LEVEL)
IN_ET = snap(S.EXTRA_TIME, (2, 0), minute=95, goals=LEVEL)


def kicks(*scored: bool) -> tuple[ShootoutKick, ...]:
    """Kicks taken in turn, Atalanta first."""
    sides: tuple[Side, Side] = ("home", "away")
    return tuple(
        ShootoutKick(order=n, side=sides[(n - 1) % 2], player=f"K{n}", scored=s)
        for n, s in enumerate(scored, start=1)
    )


def alerts_of(*script: MatchSnapshot, tie: TieSpec | None = TWO_NIL) -> list[tuple[str, str]]:
    _, alerts = fold(polls(script), tie=tie)
    return [(a.kind, a.text) for a in alerts]


# --- a poll gap over whole phases ------------------------------------------------------------

LATE = goal(110, "home", "Lookman")
PENS = Score(home=4, away=3)


@pytest.mark.parametrize(
    ("last_two", "tail"),
    [
        # 2H, then AET (elapsed 120): extra time was played, the goal in it needs its sentence.
        (
            [IN_2H, snap(S.FINISHED, (3, 0), minute=120, goals=[*LEVEL, LATE], winner="home")],
            [
                (
                    "full_time",
                    "End of normal time: Atalanta 2-0 Dortmund. 2-2 on aggregate: extra time",
                ),
                (
                    "goal",
                    "GOAL Atalanta 3-0 Dortmund (Lookman 110'). Atalanta lead 3-2 on aggregate."
                    " Dortmund need one goal to force penalties",
                ),
                ("extra_time", "End of extra time: Atalanta 3-0 Dortmund. 3-2 on aggregate"),
                (
                    "result",
                    "Atalanta win 3-2 on aggregate after extra time. Atalanta reach the final",
                ),
            ],
        ),
        # 2H, then PEN: extra time and a shoot-out, in that order, and one kick alert.
        (
            [IN_2H, snap(S.FINISHED, (2, 0), minute=120, goals=LEVEL, shootout=PENS)],
            [
                (
                    "full_time",
                    "End of normal time: Atalanta 2-0 Dortmund. 2-2 on aggregate: extra time",
                ),
                (
                    "extra_time",
                    "End of extra time: Atalanta 2-0 Dortmund. 2-2 on aggregate: penalties",
                ),
                ("shootout", "Penalties under way: Atalanta 2-0 Dortmund. 2-2 on aggregate"),
                ("shootout", "Penalties: Atalanta 4-3 Dortmund"),
                (
                    "result",
                    "Atalanta win 4-3 on penalties (2-2 on aggregate). Atalanta reach the final",
                ),
            ],
        ),
        # ET, then PEN with no P in between: the end of extra time comes before the kicks.
        (
            [IN_ET, snap(S.FINISHED, (2, 0), minute=120, goals=LEVEL, shootout=PENS)],
            [
                (
                    "extra_time",
                    "End of extra time: Atalanta 2-0 Dortmund. 2-2 on aggregate: penalties",
                ),
                ("shootout", "Penalties under way: Atalanta 2-0 Dortmund. 2-2 on aggregate"),
                ("shootout", "Penalties: Atalanta 4-3 Dortmund"),
                (
                    "result",
                    "Atalanta win 4-3 on penalties (2-2 on aggregate). Atalanta reach the final",
                ),
            ],
        ),
        # 2H straight to P at 90 (no extra time in this competition): no extra time made up.
        (
            [IN_2H, snap(S.PENALTIES, (2, 0), minute=90, goals=LEVEL, shootout=Score())],
            [
                (
                    "full_time",
                    "End of normal time: Atalanta 2-0 Dortmund. 2-2 on aggregate: penalties",
                ),
                ("shootout", "Penalties under way: Atalanta 2-0 Dortmund. 2-2 on aggregate"),
            ],
        ),
        # 2H, then FT on a clock that counts stoppage time on (98'): no extra time made up.
        (
            [
                snap(S.SECOND_HALF, (1, 0), minute=80, goals=[SCAMACCA]),
                snap(S.FINISHED, (1, 0), minute=98, goals=[SCAMACCA]),
            ],
            [
                ("full_time", "Full-time: Atalanta 1-0 Dortmund. 1-2 on aggregate"),
                ("result", "Dortmund win 2-1 on aggregate. Dortmund reach the final"),
            ],
        ),
        # 2H, then FT at 90+4: nothing made up.
        (
            [
                snap(S.SECOND_HALF, (1, 0), minute=80, goals=[SCAMACCA]),
                snap(S.FINISHED, (1, 0), minute=90, added=4, goals=[SCAMACCA]),
            ],
            [
                ("full_time", "Full-time: Atalanta 1-0 Dortmund. 1-2 on aggregate"),
                ("result", "Dortmund win 2-1 on aggregate. Dortmund reach the final"),
            ],
        ),
    ],
)
def test_phases_a_poll_gap_hid_are_told_in_order(
    last_two: list[MatchSnapshot], tail: list[tuple[str, str]]
) -> None:
    got = alerts_of(KICKOFF, *last_two)
    before = alerts_of(KICKOFF, last_two[0])
    assert got[len(before) :] == tail


def test_made_up_phases_have_their_own_ids_and_clock() -> None:
    events = polls([IN_2H, snap(S.FINISHED, (2, 0), minute=120, goals=LEVEL, shootout=PENS)])
    phases = [e for e in events if isinstance(e, PhaseChanged)]
    assert [(e.previous, e.status, e.minute) for e in phases][-3:] == [
        (S.SECOND_HALF, S.EXTRA_TIME, 90),
        (S.EXTRA_TIME, S.PENALTIES, 120),
        (S.PENALTIES, S.FINISHED, 120),
    ]
    assert len({e.id for e in events}) == len(events)


# --- shoot-outs ------------------------------------------------------------------------------


def test_shootout_score_lagging_its_kicks_does_not_go_backwards() -> None:
    """score.penalty still 0-0 while the kicks are listed: each alert counts the kicks."""
    decided = kicks(True, False, True, False, True, False)  # 3-0 after three each
    got = alerts_of(
        IN_ET,
        snap(
            S.PENALTIES,
            (2, 0),
            minute=120,
            goals=LEVEL,
            shootout=Score(),
            shootout_kicks=decided[:5],
        ),
        snap(
            S.PENALTIES, (2, 0), minute=120, goals=LEVEL, shootout=Score(), shootout_kicks=decided
        ),
        snap(
            S.FINISHED,
            (2, 0),
            minute=120,
            goals=LEVEL,
            shootout=Score(home=3),
            shootout_kicks=decided,
            winner="home",
        ),
    )
    shots = [text for kind, text in got if kind == "shootout"]
    assert shots[-2:] == [
        "Penalties: Atalanta 3-0 Dortmund (K5 scores)",
        "Penalties: Atalanta 3-0 Dortmund (K6 misses, after three kicks each)."
        " Atalanta win the shoot-out",
    ]
    assert got[-1] == (
        "result",
        "Atalanta win 3-0 on penalties (2-2 on aggregate). Atalanta reach the final",
    )


def test_kicks_told_by_the_score_first_are_not_told_again_when_the_list_catches_up() -> None:
    pens = snap(S.PENALTIES, (2, 0), minute=120, goals=LEVEL, shootout=Score())
    told = snap(S.PENALTIES, (2, 0), minute=120, goals=LEVEL, shootout=Score(home=1))
    listed = told.model_copy(update={"shootout_kicks": kicks(True, False)})
    shots = [e for e in polls([pens, told, listed]) if isinstance(e, ShootoutKickTaken)]
    assert [(e.shootout, e.kick.player if e.kick else None) for e in shots] == [
        (Score(home=1), None),
        (Score(home=1), "K2"),
    ]


def test_a_shootout_seen_only_at_its_end_is_one_alert_not_an_invented_sequence() -> None:
    """Feeds without kicks (ESPN lists scored kicks only, football-data free tier none)."""
    pens = snap(S.PENALTIES, (2, 0), minute=120, goals=LEVEL, shootout=Score())
    done = snap(S.PENALTIES, (2, 0), minute=120, goals=LEVEL, shootout=Score(home=4, away=3))
    shots = [e.shootout for e in polls([pens, done]) if isinstance(e, ShootoutKickTaken)]
    assert shots == [Score(home=4, away=3)]  # never "4-0": four kicks in a row by one side


@settings(max_examples=200, deadline=None)
@given(
    scored=st.lists(st.booleans(), min_size=1, max_size=16),
    cuts=st.lists(st.integers(min_value=0, max_value=16), max_size=6),
    lag=st.booleans(),
)
def test_shootout_running_score_never_goes_backwards(
    scored: list[bool], cuts: list[int], lag: bool
) -> None:
    """Kicks revealed in any chunks, with the feed's shoot-out score a poll behind or not
    (a shoot-out ends at the kick that decides it)."""
    every = kicks(*scored)
    end = decided_at(every)
    every = every if end is None else every[: end + 1]
    shown = sorted({min(c, len(every)) for c in cuts} | {len(every)})
    script, behind = [], Score()
    for n in shown:
        now = _count(every[:n])
        script.append(
            snap(
                S.PENALTIES, (2, 0), minute=120, goals=LEVEL, shootout=behind if lag else now
            ).model_copy(update={"shootout_kicks": every[:n]})
        )
        behind = now
    events = [e for e in polls(script, first=IN_ET) if isinstance(e, ShootoutKickTaken)]
    runs = [e.shootout for e in events]
    assert all(a.home <= b.home and a.away <= b.away for a, b in pairwise(runs))
    assert runs[-1] == _count(every)


def _count(ks: tuple[ShootoutKick, ...]) -> Score:
    return Score(
        home=sum(k.scored and k.side == "home" for k in ks),
        away=sum(k.scored and k.side == "away" for k in ks),
    )


# --- awarded results (API-Football AWD / WO, football-data AWARDED) -----------------------------


@pytest.mark.parametrize(
    "before",
    [
        snap(S.SCHEDULED),
        snap(S.POSTPONED),
        snap(S.SUSPENDED, (0, 1), minute=30, goals=[goal(30, "away", "Guirassy")]),
    ],
)
def test_an_awarded_result_announces_no_goals(before: MatchSnapshot) -> None:
    awarded = snap(S.FINISHED, (3, 0), winner="home")
    events = polls([awarded], first=before)
    assert not [e for e in events if isinstance(e, GoalScored | GoalCancelled)]
    _, alerts = fold([*polls([before]), *events], tie=TWO_NIL)
    assert texts(alerts)[-1] == "Atalanta win 3-2 on aggregate. Atalanta reach the final"


def test_a_match_resumed_and_finished_between_polls_keeps_its_listed_goals() -> None:
    suspended = snap(S.SUSPENDED, (1, 0), minute=60, goals=[SCAMACCA])
    over = snap(S.FINISHED, (2, 0), minute=90, goals=LEVEL)
    assert [e.type for e in polls([over], first=suspended)] == ["goal", "phase"]


# --- a goal ruled out and another scored between two polls ------------------------------------


def test_goal_ruled_out_and_another_scored_between_polls_are_both_told() -> None:
    got = alerts_of(
        KICKOFF,
        snap(S.FIRST_HALF, (1, 0), minute=23, goals=[SCAMACCA]),
        snap(
            S.FIRST_HALF,
            (1, 0),
            minute=30,
            goals=[goal(29, "home", "Pasalic")],
            cancelled_goals=[incident(24, "home", "Scamacca", "Goal cancelled")],
        ),
    )
    assert got[-2:] == [
        (
            "goal_cancelled",
            "Goal ruled out: Scamacca (Atalanta) 23'. Atalanta 0-0 Dortmund."
            " Dortmund lead 2-0 on aggregate. Atalanta need two goals to force extra time",
        ),
        (
            "goal",
            "GOAL Atalanta 1-0 Dortmund (Pasalic 29'). Dortmund lead 2-1 on aggregate."
            " Atalanta need one goal to force extra time",
        ),
    ]


@pytest.mark.parametrize(
    "now",
    [
        [goal(24, "home", "Scamacca")],  # re-timed, no VAR decision: the same goal
        [goal(23, "home", "Pasalic")],  # re-credited, no VAR decision: the same goal
    ],
)
def test_a_re_timed_or_re_credited_goal_is_no_swap(now: list[Goal]) -> None:
    before = snap(S.FIRST_HALF, (1, 0), minute=23, goals=[SCAMACCA])
    assert polls([snap(S.FIRST_HALF, (1, 0), minute=30, goals=now)], first=before) == []


# --- own goals taken back ------------------------------------------------------------------------


def test_own_goal_ruled_out_names_the_side_it_counted_for() -> None:
    og = goal(23, "home", "Anton", kind="own_goal")  # a Dortmund player, for Atalanta
    got = alerts_of(
        KICKOFF,
        snap(S.FIRST_HALF, (1, 0), minute=23, goals=[og]),
        snap(S.FIRST_HALF, (0, 0), minute=25),
    )
    assert got[-2:] == [
        (
            "goal",
            "GOAL Atalanta 1-0 Dortmund (Anton 23' og). Dortmund lead 2-1 on aggregate."
            " Atalanta need one goal to force extra time",
        ),
        (
            "goal_cancelled",
            "Goal ruled out: Anton (own goal for Atalanta) 23'. Atalanta 0-0 Dortmund."
            " Dortmund lead 2-0 on aggregate. Atalanta need two goals to force extra time",
        ),
    ]


# --- after a suspension, after the whistle ------------------------------------------------------


def test_play_resuming_after_a_suspension_is_told() -> None:
    got = alerts_of(
        snap(S.SECOND_HALF, (1, 0), minute=60, goals=[SCAMACCA]),
        snap(S.SUSPENDED, (1, 0), minute=61, goals=[SCAMACCA]),
        snap(S.SECOND_HALF, (1, 0), minute=62, goals=[SCAMACCA]),
    )
    assert got[-1] == (
        "status",
        "Play resumes: Atalanta 1-0 Dortmund. Dortmund lead 2-1 on aggregate."
        " Atalanta need one goal to force extra time",
    )


def test_a_goal_taken_back_after_the_result_restates_the_result() -> None:
    over = snap(S.FINISHED, (1, 0), minute=90, added=4, goals=[SCAMACCA])
    got = alerts_of(
        snap(S.SECOND_HALF, (1, 0), minute=80, goals=[SCAMACCA]),
        over,
        snap(S.FINISHED, (0, 0), minute=90, added=4),
    )
    assert got[-3][0] == "result"
    assert [kind for kind, _ in got[-2:]] == ["goal_cancelled", "result"]
    assert got[-1][1] == "Correction: Dortmund win 2-0 on aggregate. Dortmund reach the final"
