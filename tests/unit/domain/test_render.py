"""``notifier.domain.render``: every alert text, for the seed tie (first leg Dortmund 2-0 Atalanta)
and for single matches, as DESIGN.md's table writes them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from notifier.domain import render
from notifier.domain.models import Goal, Lineup, LineupPlayer, MatchStatus, Score, Side
from notifier.domain.render import View
from notifier.domain.render_lineup import lineup
from notifier.domain.texts import Parts, to_text
from notifier.domain.tie import TieRules, needs, standing, winner
from tests.unit.strategies import LINEUPS, goal, incident

S = MatchStatus
SEED = Score(home=0, away=2)


def view(
    home: int = 0,
    away: int = 0,
    *,
    prior: Score | None = SEED,
    prior_away: Score | None = None,
    rules: TieRules | None = None,
    status: MatchStatus = S.SECOND_HALF,
    shootout: tuple[int, int] | None = None,
    kicks: tuple[int, int] | None = None,
    next_round: str | None = None,
    extra_time: bool = False,
) -> View:
    """What the engine would hand the renderer for Atalanta v Dortmund at this score."""
    score, rules = Score(home=home, away=away), rules or TieRules()
    if prior is not None and prior_away is None:
        prior_away = Score()
    so = Score(home=shootout[0], away=shootout[1]) if shootout else None
    return View(
        home="Atalanta",
        away="Dortmund",
        score=score,
        standing=standing(score, prior, prior_away, rules, so),
        needs=needs(score, prior, prior_away, rules, status),
        next_round=next_round,
        shootout=so,
        kicks=Score(home=kicks[0], away=kicks[1]) if kicks else None,
        extra_time_played=extra_time,
    )


def single(
    home: int = 0,
    away: int = 0,
    *,
    status: MatchStatus = S.SECOND_HALF,
    shootout: tuple[int, int] | None = None,
    next_round: str | None = None,
    extra_time: bool = False,
) -> View:
    """A single match (no tie): no aggregate anywhere."""
    return view(
        home,
        away,
        prior=None,
        status=status,
        shootout=shootout,
        next_round=next_round,
        extra_time=extra_time,
    )


def en(parts: Parts) -> str:
    """Parts in English, for Atalanta v Dortmund."""
    return to_text(parts, "en", {"home": "Atalanta", "away": "Dortmund"})


def result(v: View, provider: Side | None = None) -> Parts:
    """The result sentence, with the outcome decided as the engine decides it (rules: default)."""
    agg = v.standing.aggregate
    prior = prior_away = None
    if agg is not None:
        prior = Score(home=agg.home - v.score.home, away=agg.away - v.score.away)
        prior_away = Score()
    final = winner(v.score, prior, prior_away, TieRules(), v.shootout, provider)
    return render.result(v, final)


SCAMACCA = goal(23, "home", "Scamacca")
GUIRASSY_PEN = goal(71, "away", "Guirassy", kind="penalty")
OWN_GOAL = goal(23, "away", "Kossounou", kind="own_goal")
STOPPAGE = goal(45, "home", "Scamacca", added=2)
NAMELESS = goal(90, "home", added=3)

# (id, text, expected): texts for the seed tie, most straight from DESIGN.md's table.
TEXTS: list[tuple[str, Callable[[], Parts], str]] = [
    (
        "kickoff",
        lambda: render.kickoff(view(status=S.SCHEDULED)),
        "Kick-off: Atalanta v Dortmund. Dortmund lead 2-0 from the first leg",
    ),
    (
        "kickoff-first-leg-level",
        lambda: render.kickoff(view(prior=Score(home=1, away=1))),
        "Kick-off: Atalanta v Dortmund. The first leg ended 1-1",
    ),
    (
        "kickoff-away-goals",
        lambda: render.kickoff(
            view(
                prior=Score(home=1, away=1),
                prior_away=Score(home=1, away=0),
                rules=TieRules(away_goals=True),
            )
        ),
        "Kick-off: Atalanta v Dortmund. Atalanta lead on away goals from the first leg",
    ),
    ("kickoff-single", lambda: render.kickoff(single()), "Kick-off: Atalanta v Dortmund"),
    (
        "goal",
        lambda: render.goal(view(1, 0), SCAMACCA, 23, None),
        "GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate."
        " Atalanta need one goal to force extra time",
    ),
    (
        "goal-levels-the-tie",
        lambda: render.goal(view(2, 0), goal(84, "home", "Pasalic"), 84, None),
        "GOAL Atalanta 2-0 Dortmund (Pasalic 84'). 2-2 on aggregate",
    ),
    (
        "goal-added-time",
        lambda: render.goal(view(1, 0, status=S.FIRST_HALF), STOPPAGE, 45, 2),
        "GOAL Atalanta 1-0 Dortmund (Scamacca 45+2'). Dortmund lead 2-1 on aggregate."
        " Atalanta need one goal to force extra time",
    ),
    (
        "goal-own-goal",
        lambda: render.goal(view(0, 1), OWN_GOAL, 23, None),
        "GOAL Atalanta 0-1 Dortmund (Kossounou 23' og). Dortmund lead 3-0 on aggregate."
        " Atalanta need three goals to force extra time",
    ),
    (
        "goal-penalty",
        lambda: render.goal(view(0, 1), GUIRASSY_PEN, 71, None),
        "GOAL Atalanta 0-1 Dortmund (Guirassy 71' pen). Dortmund lead 3-0 on aggregate."
        " Atalanta need three goals to force extra time",
    ),
    (
        "goal-no-details",
        lambda: render.goal(view(1, 0), None, 23, None),
        "GOAL Atalanta 1-0 Dortmund (23', scorer not given by the feed)."
        " Dortmund lead 2-1 on aggregate. Atalanta need one goal to force extra time",
    ),
    (
        "goal-nameless-in-added-time",
        lambda: render.goal(view(3, 0), NAMELESS, 90, 3),
        "GOAL Atalanta 3-0 Dortmund (90+3', scorer not given by the feed)."
        " Atalanta lead 3-2 on aggregate. Dortmund need one goal to force extra time",
    ),
    (
        "goal-no-minute",
        lambda: render.goal(view(1, 0), None, None, None),
        "GOAL Atalanta 1-0 Dortmund (scorer not given by the feed)."
        " Dortmund lead 2-1 on aggregate. Atalanta need one goal to force extra time",
    ),
    (
        "goal-in-extra-time",
        lambda: render.goal(view(2, 1, status=S.EXTRA_TIME), goal(104, "away", "Beier"), 104, None),
        "GOAL Atalanta 2-1 Dortmund (Beier 104'). Dortmund lead 3-2 on aggregate."
        " Atalanta need one goal to force penalties",
    ),
    (
        "goal-away-goals-rule",
        lambda: render.goal(
            view(
                1,
                0,
                prior=Score(home=1, away=2),
                prior_away=Score(home=1, away=0),
                rules=TieRules(away_goals=True),
            ),
            SCAMACCA,
            23,
            None,
        ),
        "GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Atalanta lead on away goals"
        " (2-2 on aggregate). Dortmund need one goal to go through",
    ),
    (
        "goal-single",
        lambda: render.goal(single(1, 0), SCAMACCA, 23, None),
        "GOAL Atalanta 1-0 Dortmund (Scamacca 23')",
    ),
    (
        "goal-cancelled",
        lambda: render.goal_cancelled(view(0, 0), "home", SCAMACCA, 23, None),
        "Goal ruled out: Scamacca (Atalanta) 23'. Atalanta 0-0 Dortmund."
        " Dortmund lead 2-0 on aggregate. Atalanta need two goals to force extra time",
    ),
    (
        "goal-cancelled-restates-level",
        lambda: render.goal_cancelled(
            view(2, 0, status=S.EXTRA_TIME), "away", goal(104, "away", "Beier"), 104, None
        ),
        "Goal ruled out: Beier (Dortmund) 104'. Atalanta 2-0 Dortmund. 2-2 on aggregate",
    ),
    (
        "goal-cancelled-score-only",
        lambda: render.goal_cancelled(view(1, 0), "away", None, 40, None),
        "Goal ruled out: Dortmund goal 40'. Atalanta 1-0 Dortmund."
        " Dortmund lead 2-1 on aggregate. Atalanta need one goal to force extra time",
    ),
    (
        "goal-cancelled-own-goal-no-scorer",
        lambda: render.goal_cancelled(
            view(1, 0), "home", goal(23, "home", None, kind="own_goal"), 23, None
        ),
        "Goal ruled out: own goal for Atalanta 23'. Atalanta 1-0 Dortmund."
        " Dortmund lead 2-1 on aggregate. Atalanta need one goal to force extra time",
    ),
    (
        "goal-cancelled-no-minute",
        lambda: render.goal_cancelled(single(0, 0), "home", None, None, None),
        "Goal ruled out: Atalanta goal. Atalanta 0-0 Dortmund",
    ),
    (
        "goal-cancelled-single",
        lambda: render.goal_cancelled(single(0, 0), "home", SCAMACCA, 23, None),
        "Goal ruled out: Scamacca (Atalanta) 23'. Atalanta 0-0 Dortmund",
    ),
    (
        "red-card",
        lambda: render.card_text(view(1, 0), incident(67, "home", "Kossounou")),
        "Red card: Kossounou (Atalanta) 67'. Atalanta down to ten men. Atalanta 1-0 Dortmund."
        " Dortmund lead 2-1 on aggregate",
    ),
    (
        "red-card-unnamed-added-time",
        lambda: render.card_text(view(), incident(90, "away").model_copy(update={"added": 4})),
        "Red card: a player (Dortmund) 90+4'. Dortmund down to ten men. Atalanta 0-0 Dortmund."
        " Dortmund lead 2-0 on aggregate",
    ),
    (
        "penalty-missed",
        lambda: render.penalty_missed(view(1, 0), incident(71, "away", "Guirassy")),
        "Penalty missed: Guirassy (Dortmund) 71'. Atalanta 1-0 Dortmund."
        " Dortmund lead 2-1 on aggregate",
    ),
    (
        "half-time",
        lambda: render.phase(view(1, 0, status=S.HALF_TIME), "half_time"),
        "Half-time: Atalanta 1-0 Dortmund. Dortmund lead 2-1 on aggregate."
        " Atalanta need one goal to force extra time",
    ),
    (
        "half-time-single",
        lambda: render.phase(single(1, 0, status=S.HALF_TIME), "half_time"),
        "Half-time: Atalanta 1-0 Dortmund",
    ),
    (
        "second-half",
        lambda: render.phase(view(1, 0), "second_half"),
        "Second half under way: Atalanta 1-0 Dortmund. Dortmund lead 2-1 on aggregate."
        " Atalanta need one goal to force extra time",
    ),
    (
        "resumed",
        lambda: render.phase(view(1, 0), "resumed"),
        "Play resumes: Atalanta 1-0 Dortmund. Dortmund lead 2-1 on aggregate."
        " Atalanta need one goal to force extra time",
    ),
    (
        "full-time-extra-time",
        lambda: render.end_of_play(view(2, 0), "end_of_normal_time", S.EXTRA_TIME),
        "End of normal time: Atalanta 2-0 Dortmund. 2-2 on aggregate: extra time",
    ),
    (
        "full-time-penalties",
        lambda: render.end_of_play(
            view(2, 0, rules=TieRules(extra_time=False)), "end_of_normal_time", S.PENALTIES
        ),
        "End of normal time: Atalanta 2-0 Dortmund. 2-2 on aggregate: penalties",
    ),
    (
        "full-time-over",
        lambda: render.end_of_play(view(1, 1, status=S.FINISHED), "full_time", None),
        "Full-time: Atalanta 1-1 Dortmund. 1-3 on aggregate",
    ),
    (
        "full-time-single",
        lambda: render.end_of_play(single(1, 0, status=S.FINISHED), "full_time", None),
        "Full-time: Atalanta 1-0 Dortmund",
    ),
    (
        "full-time-single-extra-time",
        lambda: render.end_of_play(single(1, 1), "end_of_normal_time", S.EXTRA_TIME),
        "End of normal time: Atalanta 1-1 Dortmund. Level after 90 minutes: extra time",
    ),
    (
        "end-of-extra-time-penalties",
        lambda: render.end_of_play(view(2, 0, extra_time=True), "end_of_extra_time", S.PENALTIES),
        "End of extra time: Atalanta 2-0 Dortmund. 2-2 on aggregate: penalties",
    ),
    (
        "end-of-extra-time-over",
        lambda: render.end_of_play(view(3, 0, extra_time=True), "end_of_extra_time", None),
        "End of extra time: Atalanta 3-0 Dortmund. 3-2 on aggregate",
    ),
    (
        "end-of-extra-time-single",
        lambda: render.end_of_play(single(1, 1, extra_time=True), "end_of_extra_time", S.PENALTIES),
        "End of extra time: Atalanta 1-1 Dortmund. Level after extra time: penalties",
    ),
    (
        "shootout-kick",
        lambda: render.shootout(
            view(2, 0, shootout=(3, 2), kicks=(3, 2)), "Samardzic", True, "home"
        ),
        "Penalties: Atalanta 3-2 Dortmund (Samardzic scores)",
    ),
    (
        "shootout-after-kicks-each",
        lambda: render.shootout(
            view(2, 0, shootout=(5, 4), kicks=(5, 5)), "Svensson", False, "away"
        ),
        "Penalties: Atalanta 5-4 Dortmund (Svensson misses, after five kicks each)",
    ),
    (
        "shootout-after-one-kick-each",
        lambda: render.shootout(
            view(2, 0, shootout=(1, 1), kicks=(1, 1)), "Guirassy", True, "away"
        ),
        "Penalties: Atalanta 1-1 Dortmund (Guirassy scores, after one kick each)",
    ),
    (
        "shootout-unnamed-kicker",
        lambda: render.shootout(view(2, 0, shootout=(0, 0), kicks=(0, 1)), None, False, "away"),
        "Penalties: Atalanta 0-0 Dortmund (Dortmund misses)",
    ),
    (
        "shootout-score-only",
        lambda: render.shootout(view(2, 0, shootout=(3, 2)), None, None, None),
        "Penalties: Atalanta 3-2 Dortmund",
    ),
    (
        "result",
        lambda: result(view(1, 1, status=S.FINISHED, next_round="the round of 16")),
        "Dortmund win 3-1 on aggregate. Dortmund reach the round of 16",
    ),
    ("result-no-next-round", lambda: result(view(1, 1)), "Dortmund win 3-1 on aggregate"),
    (
        "result-after-extra-time",
        lambda: result(view(3, 0, extra_time=True, next_round="the round of 16")),
        "Atalanta win 3-2 on aggregate after extra time. Atalanta reach the round of 16",
    ),
    (
        "result-penalties",
        lambda: result(view(2, 0, shootout=(5, 4), extra_time=True)),
        "Atalanta win 5-4 on penalties (2-2 on aggregate)",
    ),
    (
        "result-penalties-next-round",
        lambda: result(view(2, 0, shootout=(4, 5), extra_time=True, next_round="the round of 16")),
        "Dortmund win 5-4 on penalties (2-2 on aggregate). Dortmund reach the round of 16",
    ),
    (
        "result-provider-decides",
        lambda: result(view(2, 0, extra_time=True), provider="away"),
        "Dortmund go through (2-2 on aggregate)",
    ),
    (
        "result-away-goals",
        lambda: render.result(
            view(1, 0, prior=Score(home=1, away=2), prior_away=Score(home=1, away=0)),
            winner(
                Score(home=1, away=0),
                Score(home=1, away=2),
                Score(home=1, away=0),
                TieRules(away_goals=True),
                None,
                None,
            ),
        ),
        "Atalanta win on away goals (2-2 on aggregate)",
    ),
    ("result-single", lambda: result(single(2, 1)), "Atalanta beat Dortmund 2-1"),
    ("result-single-away-win", lambda: result(single(0, 3)), "Dortmund beat Atalanta 3-0"),
    (
        "result-single-after-extra-time",
        lambda: result(single(1, 2, extra_time=True, next_round="the final")),
        "Dortmund beat Atalanta 2-1 after extra time. Dortmund reach the final",
    ),
    (
        "result-single-penalties",
        lambda: result(single(1, 1, shootout=(4, 3), extra_time=True)),
        "Atalanta win 4-3 on penalties (1-1 after extra time)",
    ),
    (
        "result-single-penalties-no-extra-time",
        lambda: result(single(1, 1, shootout=(2, 4))),
        "Dortmund win 4-2 on penalties (1-1 at full-time)",
    ),
    ("result-single-draw", lambda: result(single(1, 1)), "Atalanta and Dortmund draw 1-1"),
    (
        "result-single-provider-decides",
        lambda: result(single(1, 1, extra_time=True), provider="home"),
        "Atalanta go through (1-1)",
    ),
    (
        "status-suspended",
        lambda: render.status(view(1, 0), S.SUSPENDED, 67),
        "Atalanta v Dortmund suspended at 67' (1-0)",
    ),
    (
        "status-abandoned",
        lambda: render.status(view(1, 0), S.ABANDONED, 80),
        "Atalanta v Dortmund abandoned at 80' (1-0)",
    ),
    (
        "status-postponed",
        lambda: render.status(view(), S.POSTPONED, None),
        "Atalanta v Dortmund postponed",
    ),
    (
        "status-cancelled",
        lambda: render.status(view(), S.CANCELLED, 10),
        "Atalanta v Dortmund cancelled",
    ),
]


@pytest.mark.parametrize(("make", "expected"), [t[1:] for t in TEXTS], ids=[t[0] for t in TEXTS])
def test_text(make: Callable[[], Parts], expected: str) -> None:
    assert en(make()) == expected


@pytest.mark.parametrize(
    ("text", "design"),
    [
        (
            render.goal(view(1, 0), SCAMACCA, 23, None),
            "GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate",
        ),
        (
            render.goal_cancelled(view(0, 0), "home", SCAMACCA, 23, None),
            "Goal ruled out: Scamacca (Atalanta) 23'. Atalanta 0-0 Dortmund."
            " Dortmund lead 2-0 on aggregate",
        ),
        (
            render.shootout(view(2, 0, shootout=(3, 2), kicks=(5, 5)), None, None, None),
            "Penalties: Atalanta 3-2 Dortmund (after five kicks each)",
        ),
    ],
)
def test_design_table_texts_are_prefixes(text: Parts, design: str) -> None:
    """DESIGN.md's examples stop before the 'needs' sentence that follows them."""
    assert en(text).startswith(design)


@pytest.mark.parametrize(
    ("m", "added", "text"),
    [
        (None, None, ""),
        (None, 2, ""),
        (23, None, "23'"),
        (45, 2, "45+2'"),
        (90, 0, "90'"),
        (0, None, "0'"),
    ],
)
def test_minute(m: int | None, added: int | None, text: str) -> None:
    assert render.minute(m, added) == text


@pytest.mark.parametrize(
    ("v", "text"),
    [
        (view(0, 0), "Atalanta need two goals to force extra time"),
        (view(0, 3), "Atalanta need five goals to force extra time"),
        (view(3, 0), "Dortmund need one goal to force extra time"),
        (view(2, 1, status=S.EXTRA_TIME), "Atalanta need one goal to force penalties"),
        (
            view(1, 0, rules=TieRules(extra_time=False, penalties=False)),
            "Atalanta need one goal to force a replay",
        ),
        (
            view(
                0,
                0,
                prior=Score(home=1, away=2),
                rules=TieRules(away_goals=True),
                prior_away=Score(home=1, away=0),
            ),
            "Atalanta need one goal to go through",
        ),
        (view(2, 0), None),
        (view(1, 0, status=S.FINISHED), None),
        (single(0, 1), None),
    ],
)
def test_needs_sentence(v: View, text: str | None) -> None:
    assert render.needs(v) == text


@pytest.mark.parametrize(
    ("v", "text"),
    [
        (view(0, 0), "Dortmund lead 2-0 on aggregate"),
        (view(3, 0), "Atalanta lead 3-2 on aggregate"),
        (view(2, 0), "2-2 on aggregate"),
        (view(2, 0, shootout=(5, 4)), "2-2 on aggregate"),
        (single(1, 0), None),
    ],
)
def test_aggregate_sentence(v: View, text: str | None) -> None:
    assert render.aggregate(v) == text


def test_lineups_grouped_by_formation_lines() -> None:
    assert en(lineup("home", LINEUPS.home)) == (
        "Lineups: Atalanta (3-4-2-1) Carnesecchi; Kossounou, Djimsiti, Ahanor;"
        " Zappacosta, Ederson, De Roon, Bernasconi; Pasalic, Zalewski; Scamacca"
    )
    assert en(lineup("away", LINEUPS.away)) == (
        "Lineups: Dortmund (3-4-2-1) Kobel; Anton, Schlotterbeck, Bensebaini;"
        " Ryerson, Nmecha, Bellingham, Svensson; Brandt, Beier; Guirassy"
    )


def test_lineups_grid_wins_over_feed_order() -> None:
    shuffled = Lineup(formation="3-4-2-1", start=tuple(reversed(LINEUPS.home.start)))
    assert en(lineup("home", shuffled)) == en(lineup("home", LINEUPS.home))


def _p(name: str, position: str | None = None, grid: str | None = None) -> LineupPlayer:
    return LineupPlayer(name=name, position=position, grid=grid)


@pytest.mark.parametrize(
    ("lu", "text"),
    [
        # No grid: lines by position (G, D, M, F), feed order within a line.
        (
            Lineup(
                formation="4-4-2",
                start=(
                    _p("F1", "F"),
                    _p("D1", "D"),
                    _p("G", "G"),
                    _p("M1", "M"),
                    _p("D2", "Defender"),
                    _p("M2", "M"),
                    _p("F2", "F"),
                    _p("D3", "D"),
                    _p("M3", "M"),
                    _p("D4", "D"),
                    _p("M4", "M"),
                ),
            ),
            "Lineups: Atalanta (4-4-2) G; D1, D2, D3, D4; M1, M2, M3, M4; F1, F2",
        ),
        # Unknown position: midfield.
        (Lineup(start=(_p("G", "G"), _p("X"))), "Lineups: Atalanta G; X"),
        # Bad grids fall back to positions.
        (Lineup(start=(_p("X", "F", "nonsense"), _p("G", "G", "1"))), "Lineups: Atalanta G; X"),
        (Lineup(formation="4-3-3"), "Lineups: Atalanta (4-3-3)"),
        (Lineup(), "Lineups: Atalanta"),
    ],
)
def test_lineup_without_grid(lu: Lineup, text: str) -> None:
    assert en(lineup("home", lu)) == text


def test_scorer_own_goal_and_penalty_markers() -> None:
    kinds = {
        k: en(render.goal(view(1, 0), Goal(minute=9, side="home", player="X", kind=k), 9, None))
        for k in ("normal", "penalty", "own_goal")
    }
    assert [kinds[k].split(". ")[0] for k in ("normal", "penalty", "own_goal")] == [
        "GOAL Atalanta 1-0 Dortmund (X 9')",
        "GOAL Atalanta 1-0 Dortmund (X 9' pen)",
        "GOAL Atalanta 1-0 Dortmund (X 9' og)",
    ]


def test_told_is_memoised_equal_to_a_fresh_rendering_and_bypassed_by_an_english_catalogue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from babel.messages.catalog import Catalog

    from notifier.domain import texts
    from notifier.domain.told import told

    v = view(1, 0)
    parts = (render.score_line(v), *render.standing_parts(v))
    names = {"home": v.home, "away": v.away}
    fresh = (to_text(parts, "en", names), texts.dump(parts))
    assert told(parts, v) == fresh
    assert told(parts, v) is told(parts, v)  # remembered
    other = v._replace(home="Bergamo")  # other names: another text
    assert told(parts, other)[0] == to_text(parts, "en", {**names, "home": "Bergamo"})
    english = Catalog(locale="en", domain="notifier")
    english.add(parts[0].id, "Score: {hs}-{as}")
    monkeypatch.setitem(texts._EXTRA, "en", english)  # a deployment's own English
    assert told(parts, v)[0].startswith("Score: 1-0")


@pytest.mark.parametrize("home", [0, 1, 2, 4])
@pytest.mark.parametrize("status", [S.SECOND_HALF, S.EXTRA_TIME, S.FINISHED])
def test_needs_text_is_render_needs_remembered(home: int, status: MatchStatus) -> None:
    from notifier.domain.told import needs_text

    for v in (view(home, 1, status=status), view(home, 1, status=status, prior=None)):
        assert needs_text(v) == render.needs(v)
        assert needs_text(v) == render.needs(v)  # from the memo now
    renamed = view(home, 1, status=status)._replace(home="Bergamo")
    assert needs_text(renamed) == render.needs(renamed)  # other names, another text
