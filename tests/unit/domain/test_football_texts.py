"""Football as people tell it: cards in context, extra time with no first leg known, one
end-of-match alert for a single match, hat-tricks. Snapshots polled and folded (pure)."""

from __future__ import annotations

from notifier.domain.models import MatchStatus, Score, ShootoutKick
from tests.unit.strategies import fold, goal, incident, polls, snap

S = MatchStatus
SINGLE = {"tie": None, "aliases": {}}


def kinds_texts(snaps: list, **kw: object) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    """The alerts of a match followed from before kick-off, less its kick-off and second half."""
    start = [snap(S.SCHEDULED), snap(S.FIRST_HALF, minute=1)]
    _, alerts = fold(polls([*start, *snaps]), **kw)  # type: ignore[arg-type]
    skip = ("kickoff", "second_half", "goal")
    return [(a.kind, a.text) for a in alerts if a.kind not in skip or "Hat" in a.text]


def test_a_second_yellow_is_told_as_one_and_counts_the_men_left() -> None:
    booked = incident(45, "away", "Sviatchenko")
    red = incident(68, "away", "Sviatchenko", "Red Card")
    straight = incident(80, "away", "Bassi", "Red Card")
    snaps = [
        snap(S.FIRST_HALF, (1, 0), minute=45, goals=[goal(30, "home", "Scamacca")]),
        snap(
            S.FIRST_HALF,
            (1, 0),
            minute=45,
            goals=[goal(30, "home", "Scamacca")],
            yellow_cards=(booked,),
        ),
        snap(
            S.SECOND_HALF,
            (1, 0),
            minute=68,
            goals=[goal(30, "home", "Scamacca")],
            yellow_cards=(booked,),
            red_cards=(red,),
        ),
        snap(
            S.SECOND_HALF,
            (1, 0),
            minute=80,
            goals=[goal(30, "home", "Scamacca")],
            yellow_cards=(booked,),
            red_cards=(red, straight),
        ),
    ]
    _, alerts = fold(polls(snaps))
    cards = [a for a in alerts if a.kind in ("yellow_card", "red_card")]
    assert [(a.kind, a.data["card"], a.data["players_left"]) for a in cards] == [
        ("yellow_card", "yellow", None),
        ("red_card", "second_yellow", 10),
        ("red_card", "red", 9),
    ]
    assert cards[1].text == (
        "Second yellow card: Sviatchenko (Dortmund) 68'. Dortmund down to ten men."
        " Atalanta 1-0 Dortmund. Dortmund lead 2-1 on aggregate"
    )
    assert cards[2].text.startswith("Red card: Bassi (Dortmund) 80'. Dortmund down to nine men.")
    assert cards[1].aggregate is not None and cards[1].score == Score(home=1, away=0)


def test_the_feed_saying_second_yellow_is_enough() -> None:
    red = incident(75, "away", "Ryerson", "Second Yellow card")
    snaps = [snap(S.SECOND_HALF, minute=70), snap(S.SECOND_HALF, minute=75, red_cards=(red,))]
    texts = [t for k, t in kinds_texts(snaps) if k == "red_card"]
    assert texts == [
        "Second yellow card: Ryerson (Dortmund) 75'. Dortmund down to ten men."
        " Atalanta 0-0 Dortmund. Dortmund lead 2-0 on aggregate"
    ]


def test_no_first_leg_known_level_after_90_then_the_shoot_out_names_the_winner() -> None:
    """A followed match that goes to extra time with no tie linked (the issue's case)."""
    kicks = tuple(
        ShootoutKick(order=n, side="home" if n % 2 else "away", player=f"K{n}", scored=n != 10)
        for n in range(1, 11)
    )
    snaps = [
        snap(S.SECOND_HALF, (1, 1), minute=80),
        snap(S.EXTRA_TIME, (1, 1), minute=91),
        snap(S.PENALTIES, (1, 1), minute=120, shootout=Score()),
        snap(
            S.FINISHED,
            (1, 1),
            minute=120,
            shootout=Score(home=5, away=4),
            shootout_kicks=kicks,
            winner="home",
        ),
    ]
    got = kinds_texts(snaps, **SINGLE)
    assert got[0] == (
        "full_time",
        "End of normal time: Atalanta 1-1 Borussia Dortmund. Level after 90 minutes: extra time",
    )
    assert got[1] == (
        "extra_time",
        "End of extra time: Atalanta 1-1 Borussia Dortmund. Level after extra time: penalties",
    )
    assert got[-2][1].endswith("Atalanta win the shoot-out")
    assert got[-1] == (
        "result",
        "Atalanta win 5-4 on penalties (1-1 after extra time)",
    )
    assert not any(t.startswith("Full-time") for _, t in got)


def test_a_score_not_level_with_a_shoot_out_means_a_first_leg_nobody_told_us() -> None:
    snaps = [
        snap(S.SECOND_HALF, (2, 0), minute=80),
        snap(S.EXTRA_TIME, (2, 0), minute=91),
        snap(S.PENALTIES, (2, 0), minute=120, shootout=Score()),
        snap(S.FINISHED, (2, 0), minute=120, shootout=Score(home=4, away=5), winner="away"),
    ]
    got = kinds_texts(snaps, **SINGLE)
    assert got[0] == (
        "full_time",
        "End of normal time: Atalanta 2-0 Borussia Dortmund. Extra time to follow",
    )
    assert got[-1] == ("result", "Borussia Dortmund win 5-4 on penalties")


def test_a_single_match_ends_with_one_alert() -> None:
    snaps = [snap(S.SECOND_HALF, (3, 0), minute=88), snap(S.FINISHED, (3, 0), minute=90)]
    got = kinds_texts(snaps, **SINGLE)
    assert got == [("full_time", "Full-time: Atalanta 3-0 Borussia Dortmund")]


def test_hat_trick_and_second_goal() -> None:
    g = [goal(10, "home", "Scamacca"), goal(30, "home", "Scamacca"), goal(50, "home", "Scamacca")]
    snaps = [snap(S.SECOND_HALF, (n, 0), minute=60, goals=g[:n]) for n in (0, 1, 2, 3)]
    _, alerts = fold(polls([snap(S.SCHEDULED), *snaps]), **SINGLE)  # type: ignore[arg-type]
    texts = [a.text for a in alerts if a.kind == "goal"]
    assert "Scamacca" in texts[0] and "second" not in texts[0]
    assert "Scamacca's second goal of the match" in texts[1]
    assert "Hat-trick for Scamacca" in texts[2]
