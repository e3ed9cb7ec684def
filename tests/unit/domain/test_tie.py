"""``notifier.domain.tie``: first legs, team names, the aggregate, what the trailing side needs."""

from __future__ import annotations

import pytest

from notifier.domain.models import MatchStatus, Score, Side
from notifier.domain.tie import (
    FirstLeg,
    Standing,
    TieRules,
    align,
    needs,
    normalise,
    parse_first_leg,
    same_team,
    standing,
    winner,
)

S = MatchStatus
AWAY_GOALS = TieRules(away_goals=True)
NO_EXTRA_TIME = TieRules(extra_time=False)
NOTHING = TieRules(extra_time=False, penalties=False)


def sc(home: int, away: int) -> Score:
    return Score(home=home, away=away)


# Seed tie seen from the second leg (Atalanta at home): first leg Dortmund 2-0 Atalanta.
SEED = sc(0, 2)
NO_AWAY = sc(0, 0)
# First leg Dortmund 2-1 Atalanta: Atalanta (home now) bring one away goal.
TWO_ONE, ONE_AWAY = sc(1, 2), sc(1, 0)


@pytest.mark.parametrize(
    ("text", "home", "away", "score"),
    [
        ("Borussia Dortmund 2-0 Atalanta", "Borussia Dortmund", "Atalanta", (2, 0)),
        ("Borussia Dortmund 2 - 0 Atalanta", "Borussia Dortmund", "Atalanta", (2, 0)),
        ("  Atalanta 1–3 Club Brugge  ", "Atalanta", "Club Brugge", (1, 3)),
        ("Atalanta 1:1 Real Madrid", "Atalanta", "Real Madrid", (1, 1)),
        ("1. FC Köln 1-0 Schalke 04", "1. FC Köln", "Schalke 04", (1, 0)),
        ("Schalke 04 2-1 1. FC Köln", "Schalke 04", "1. FC Köln", (2, 1)),
        ("1860 München 3-2 Bayern", "1860 München", "Bayern", (3, 2)),
        ("Paris Saint-Germain 10-0 Atalanta", "Paris Saint-Germain", "Atalanta", (10, 0)),
        ("Atlético Madrid 0-0 Bayer 04", "Atlético Madrid", "Bayer 04", (0, 0)),
        ("Team 1 2-0 Team 2", "Team 1", "Team 2", (2, 0)),
    ],
)
def test_parse_first_leg(text: str, home: str, away: str, score: tuple[int, int]) -> None:
    assert parse_first_leg(text) == FirstLeg(home=home, away=away, score=sc(*score))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Dortmund v Atalanta",
        "Dortmund 2-0",
        "2-0 Atalanta",
        "Dortmund 2-0 ",
        "Dortmund two-nil Atalanta",
        "Dortmund2-0 Atalanta",
        "Dortmund 2-0Atalanta",
        "Dortmund 2/0 Atalanta",
    ],
)
def test_parse_first_leg_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="HOME H-A AWAY"):
        parse_first_leg(text)


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Atalanta", "atalanta"),
        ("1. FC Köln", "1 fc koln"),
        ("  Atlético   Madrid ", "atletico madrid"),
        ("Paris Saint-Germain", "paris saint germain"),
        ("BORUSSIA DORTMUND", "borussia dortmund"),
        ("...", ""),
    ],
)
def test_normalise(name: str, folded: str) -> None:
    assert normalise(name) == folded


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Atalanta", "Atalanta", True),
        ("Atalanta", "Atalanta BC", True),
        ("Borussia Dortmund", "Dortmund", True),
        ("Dortmund", "BORUSSIA DORTMUND", True),
        ("1. FC Köln", "1. FC Koln", True),
        ("FC Köln", "1. FC Köln", True),
        ("Atlético Madrid", "Atletico Madrid", True),
        ("Schalke 04", "FC Schalke 04", True),
        ("Real Madrid", "Atletico Madrid", False),
        ("Manchester United", "Manchester City", False),
        ("Inter", "Internacional", False),
        ("Atalanta", "Dortmund", False),
        ("", "Atalanta", False),
        ("...", "Atalanta", False),
        ("", "", False),
    ],
)
def test_same_team(a: str, b: str, same: bool) -> None:
    assert same_team(a, b) is same
    assert same_team(b, a) is same


@pytest.mark.parametrize(
    ("first_leg", "home", "away", "prior", "prior_away"),
    [
        # The usual case: the first leg's home side is the away side now.
        ("Borussia Dortmund 2-0 Atalanta", "Atalanta", "Borussia Dortmund", (0, 2), (0, 0)),
        ("Borussia Dortmund 2-0 Atalanta", "Atalanta BC", "Dortmund", (0, 2), (0, 0)),
        ("Borussia Dortmund 2-1 Atalanta", "Atalanta", "Borussia Dortmund", (1, 2), (1, 0)),
        ("Atalanta 3-1 Dortmund", "Dortmund", "Atalanta", (1, 3), (1, 0)),
        # The unusual straight case (both legs with the same home side, e.g. a ground swap).
        ("Atalanta 1-2 Borussia Dortmund", "Atalanta", "Dortmund", (1, 2), (0, 2)),
        ("Atalanta 0-0 Dortmund", "Atalanta", "Dortmund", (0, 0), (0, 0)),
        # Names the first leg does not know: taken as the usual case.
        ("Foo 3-1 Bar", "Atalanta", "Dortmund", (1, 3), (1, 0)),
    ],
)
def test_align(
    first_leg: str,
    home: str,
    away: str,
    prior: tuple[int, int],
    prior_away: tuple[int, int],
) -> None:
    assert align(parse_first_leg(first_leg), home, away) == (sc(*prior), sc(*prior_away))


Pair = tuple[int, int]
DEFAULT = TieRules()
ON = AWAY_GOALS


def opt(pair: Pair | None) -> Score | None:
    return None if pair is None else sc(*pair)


# (score, first-leg goals, away goals brought, rules, shoot-out) -> (aggregate, leader, how, away)
Outcome = tuple[Pair | None, Side | None, str | None, Pair | None]
STANDINGS: list[tuple[str, Pair, Pair | None, Pair | None, TieRules, Pair | None, Outcome]] = [
    ("single-home-leads", (1, 0), None, None, DEFAULT, None, (None, "home", "score", None)),
    ("single-away-leads", (0, 2), None, None, DEFAULT, None, (None, "away", "score", None)),
    ("single-level", (1, 1), None, None, DEFAULT, None, (None, None, None, None)),
    ("single-shootout", (1, 1), None, None, DEFAULT, (4, 5), (None, "away", "penalties", None)),
    ("single-shootout-level", (1, 1), None, None, DEFAULT, (2, 2), (None, None, None, None)),
    ("seed-kick-off", (0, 0), (0, 2), (0, 0), DEFAULT, None, ((0, 2), "away", "aggregate", (0, 0))),
    ("seed-1-0", (1, 0), (0, 2), (0, 0), DEFAULT, None, ((1, 2), "away", "aggregate", (0, 0))),
    ("seed-3-0", (3, 0), (0, 2), (0, 0), DEFAULT, None, ((3, 2), "home", "aggregate", (0, 0))),
    ("seed-level", (2, 0), (0, 2), (0, 0), DEFAULT, None, ((2, 2), None, None, (0, 0))),
    ("seed-2-1", (2, 1), (0, 2), (0, 0), DEFAULT, None, ((2, 3), "away", "aggregate", (0, 1))),
    # Atalanta brought one away goal from Dortmund: level on aggregate, they lead on away goals.
    ("ag-on", (1, 0), (1, 2), (1, 0), ON, None, ((2, 2), "home", "away_goals", (1, 0))),
    ("ag-off", (1, 0), (1, 2), (1, 0), DEFAULT, None, ((2, 2), None, None, (1, 0))),
    ("ag-level", (2, 1), (1, 2), (1, 0), ON, None, ((3, 3), None, None, (1, 1))),
    # 0-0 first leg, 1-1 after extra time: the away side's extra-time goal counts double.
    ("et-away-goal", (1, 1), (0, 0), (0, 0), ON, None, ((1, 1), "away", "away_goals", (0, 1))),
    ("et-rule-off", (1, 1), (0, 0), (0, 0), DEFAULT, None, ((1, 1), None, None, (0, 1))),
    # The shoot-out decides only what the aggregate (and away goals) leave level.
    ("shootout", (2, 0), (0, 2), (0, 0), DEFAULT, (5, 4), ((2, 2), "home", "penalties", (0, 0))),
    ("shootout-level", (2, 0), (0, 2), (0, 0), DEFAULT, (3, 3), ((2, 2), None, None, (0, 0))),
    ("ag-first", (1, 1), (0, 0), (0, 0), ON, (5, 4), ((1, 1), "away", "away_goals", (0, 1))),
    ("agg-first", (3, 0), (0, 2), (0, 0), DEFAULT, (0, 5), ((3, 2), "home", "aggregate", (0, 0))),
]


@pytest.mark.parametrize(
    ("score", "prior", "prior_away", "rules", "shootout", "expected"),
    [row[1:] for row in STANDINGS],
    ids=[row[0] for row in STANDINGS],
)
def test_standing(
    score: Pair,
    prior: Pair | None,
    prior_away: Pair | None,
    rules: TieRules,
    shootout: Pair | None,
    expected: Outcome,
) -> None:
    agg, leader, how, away = expected
    got = standing(sc(*score), opt(prior), opt(prior_away), rules, opt(shootout))
    assert got == Standing(opt(agg), leader, how, opt(away))


@pytest.mark.parametrize(
    ("score", "prior", "prior_away", "rules", "status", "expected"),
    [
        (sc(0, 0), SEED, NO_AWAY, TieRules(), S.FIRST_HALF, ("home", 2, "extra_time")),
        (sc(1, 0), SEED, NO_AWAY, TieRules(), S.SECOND_HALF, ("home", 1, "extra_time")),
        (sc(0, 1), SEED, NO_AWAY, TieRules(), S.SECOND_HALF, ("home", 3, "extra_time")),
        (sc(1, 0), SEED, NO_AWAY, TieRules(), S.HALF_TIME, ("home", 1, "extra_time")),
        (sc(2, 0), SEED, NO_AWAY, TieRules(), S.SECOND_HALF, None),
        (sc(3, 0), SEED, NO_AWAY, TieRules(), S.SECOND_HALF, ("away", 1, "extra_time")),
        (sc(2, 1), SEED, NO_AWAY, TieRules(), S.EXTRA_TIME, ("home", 1, "penalties")),
        (sc(2, 0), SEED, NO_AWAY, TieRules(), S.EXTRA_TIME, None),
        (sc(1, 0), SEED, NO_AWAY, NO_EXTRA_TIME, S.SECOND_HALF, ("home", 1, "penalties")),
        (sc(1, 0), SEED, NO_AWAY, NOTHING, S.SECOND_HALF, ("home", 1, "replay")),
        # Away goals on: one goal for Atalanta is enough to go through, not to draw level.
        (sc(0, 0), TWO_ONE, ONE_AWAY, AWAY_GOALS, S.SECOND_HALF, ("home", 1, "win")),
        (sc(0, 0), TWO_ONE, ONE_AWAY, TieRules(), S.SECOND_HALF, ("home", 1, "extra_time")),
        # Away goals on, Dortmund scored away: 3-3 would still be theirs, so Atalanta need four.
        (sc(0, 1), SEED, NO_AWAY, AWAY_GOALS, S.SECOND_HALF, ("home", 4, "win")),
        # Level on aggregate but behind on away goals: one goal wins it.
        (sc(1, 1), NO_AWAY, NO_AWAY, AWAY_GOALS, S.SECOND_HALF, ("home", 1, "win")),
        # Not while the ball is not in play, not for single matches, not beyond ten goals.
        (sc(0, 0), SEED, NO_AWAY, TieRules(), S.SCHEDULED, None),
        (sc(0, 0), SEED, NO_AWAY, TieRules(), S.PENALTIES, None),
        (sc(0, 0), SEED, NO_AWAY, TieRules(), S.FINISHED, None),
        (sc(0, 0), SEED, NO_AWAY, TieRules(), S.SUSPENDED, None),
        (sc(0, 1), None, None, TieRules(), S.SECOND_HALF, None),
        (sc(0, 0), sc(0, 10), NO_AWAY, TieRules(), S.SECOND_HALF, ("home", 10, "extra_time")),
        (sc(0, 0), sc(0, 11), NO_AWAY, TieRules(), S.SECOND_HALF, None),
    ],
)
def test_needs(
    score: Score,
    prior: Score | None,
    prior_away: Score | None,
    rules: TieRules,
    status: MatchStatus,
    expected: tuple[Side, int, str] | None,
) -> None:
    assert needs(score, prior, prior_away, rules, status) == expected


@pytest.mark.parametrize(
    ("score", "prior", "rules", "shootout", "provider", "leader", "how"),
    [
        (sc(1, 1), SEED, TieRules(), None, None, "away", "aggregate"),
        (sc(3, 0), SEED, TieRules(), None, "away", "home", "aggregate"),  # the rules outrank it
        (sc(2, 0), SEED, TieRules(), sc(5, 4), None, "home", "penalties"),
        (sc(2, 0), SEED, TieRules(), sc(5, 4), "away", "home", "penalties"),
        (sc(2, 0), SEED, TieRules(), None, "away", "away", "provider"),  # shoot-out not in feed
        (sc(2, 0), SEED, TieRules(), None, None, None, None),
        (sc(1, 1), NO_AWAY, AWAY_GOALS, None, "home", "away", "away_goals"),
        (sc(1, 1), None, TieRules(), None, "home", "home", "provider"),
        (sc(2, 1), None, TieRules(), None, None, "home", "score"),
        (sc(1, 1), None, TieRules(), None, None, None, None),
    ],
)
def test_winner(
    score: Score,
    prior: Score | None,
    rules: TieRules,
    shootout: Score | None,
    provider: Side | None,
    leader: Side | None,
    how: str | None,
) -> None:
    prior_away = NO_AWAY if prior is not None else None
    final = winner(score, prior, prior_away, rules, shootout, provider)
    assert (final.leader, final.how) == (leader, how)
    assert final.aggregate == standing(score, prior, prior_away, rules).aggregate
