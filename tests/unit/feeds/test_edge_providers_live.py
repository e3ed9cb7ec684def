"""football-data v4 and ESPN over whole live matches, poll by poll, as each provider serves them:
the break after 90 minutes (extra time or a shoot-out straight away), a poll gap over extra
time, a kick-off put back. Payloads are the real recordings reshaped; alerts are pinned."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from notifier.domain.models import MatchSnapshot, MatchStatus
from notifier.domain.tie import TieSpec, parse_first_leg
from notifier.feeds.espn import parse as espn
from notifier.feeds.football_data import parse as football_data
from notifier.replay.football_data import FootballDataReplay
from tests.unit.feeds.test_espn import DATA as ESPN_DATA
from tests.unit.feeds.test_espn import detail, real_event
from tests.unit.feeds.test_football_data import real_match
from tests.unit.strategies import fold, polls

S = MatchStatus
Pair = tuple[int, int] | None


def tie(first_leg: str) -> TieSpec:
    return TieSpec(id="t", first_leg=parse_first_leg(first_leg), next_round="the quarter-finals")


def alerts_of(snaps: list[MatchSnapshot], first_leg: str) -> list[tuple[str, str]]:
    _, alerts = fold(polls(snaps), tie=tie(first_leg), aliases={})
    return [(a.kind, a.text) for a in alerts]


# ---- football-data v4 ---------------------------------------------------------------------


def fd(status: str, full: Pair, half: Pair = None, duration: str = "REGULAR", **kw: Any) -> Any:
    """SYNTHETIC: the real Man City v København leg 2 (451671) as one live poll shows it."""
    match = real_match(451671)
    score: dict[str, Any] = {"winner": kw.pop("winner", None), "duration": duration}
    for key, pair in (("fullTime", full), ("halfTime", half)):
        score[key] = {"home": pair[0], "away": pair[1]} if pair else {"home": None, "away": None}
    for key in ("regularTime", "extraTime", "penalties"):
        if key in kw:
            home, away = kw.pop(key)
            score[key] = {"home": home, "away": away}
    match.update(status=status, score=score, **kw)
    return football_data.parse_match(match)


FD_FIRST_LEG = "FC København 1-0 Manchester City FC"  # City at home in leg 2
FD_KICKOFF = "Kick-off: Manchester City FC v FC København. FC København lead 1-0 from the first leg"
FD_GOAL = (
    "GOAL Manchester City FC 1-0 FC København (88', scorer not given by the feed). 1-1 on aggregate"
)

FD_SECOND_HALF = (
    "second_half",
    "Second half under way: Manchester City FC 0-0 FC København. "
    "FC København lead 1-0 on aggregate. Manchester City FC need one goal to force extra time",
)


def test_football_data_straight_to_penalties_claims_no_extra_time() -> None:
    # Copa Libertadores, Coupe de France: level after 90, a shoot-out at once. The break after
    # 90 (PAUSED, REGULAR, minute 90+5) does not yet say what follows.
    snaps = [
        fd("TIMED", None),
        fd("IN_PLAY", (0, 0), (0, 0), minute="87"),
        fd("IN_PLAY", (1, 0), (0, 0), minute="88"),
        fd("PAUSED", (1, 0), (0, 0), minute="90+5"),
        fd("IN_PLAY", (1, 0), (0, 0), "PENALTY_SHOOTOUT", regularTime=(1, 0), penalties=(0, 0)),
        fd("IN_PLAY", (2, 0), (0, 0), "PENALTY_SHOOTOUT", regularTime=(1, 0), penalties=(1, 0)),
        fd(
            "FINISHED",
            (5, 3),
            (0, 0),
            "PENALTY_SHOOTOUT",
            regularTime=(1, 0),
            penalties=(4, 3),
            winner="HOME_TEAM",
        ),
    ]
    assert snaps[3].status is S.SECOND_HALF
    assert alerts_of(snaps, FD_FIRST_LEG) == [
        ("kickoff", FD_KICKOFF),
        FD_SECOND_HALF,
        ("goal", FD_GOAL),
        (
            "full_time",
            "End of normal time: Manchester City FC 1-0 FC København. 1-1 on aggregate: penalties",
        ),
        (
            "shootout",
            "Penalties under way: Manchester City FC 1-0 FC København. 1-1 on aggregate",
        ),
        ("shootout", "Penalties: Manchester City FC 1-0 FC København"),
        ("shootout", "Penalties: Manchester City FC 4-3 FC København"),
        (
            "result",
            "Manchester City FC win 4-3 on penalties (1-1 on aggregate). "
            "Manchester City FC reach the quarter-finals",
        ),
    ]


@pytest.mark.parametrize(
    ("last", "tail"),
    [
        # Free tier, a poll gap from the second half to the end of a match decided in extra
        # time (no minute sent): the 90' score, extra time and its goal, in that order.
        (
            fd("FINISHED", (2, 0), (0, 0), "EXTRA_TIME", regularTime=(1, 0), extraTime=(1, 0),
               winner="HOME_TEAM"),
            [
                ("full_time", "End of normal time: Manchester City FC 1-0 FC København. "
                 "1-1 on aggregate: extra time"),
                ("goal", "GOAL Manchester City FC 2-0 FC København (120', scorer not given by "
                 "the feed). Manchester City FC lead 2-1 on aggregate. FC København need one "
                 "goal to force penalties"),
                ("extra_time", "End of extra time: Manchester City FC 2-0 FC København. "
                 "2-1 on aggregate"),
                ("result", "Manchester City FC win 2-1 on aggregate after extra time. "
                 "Manchester City FC reach the quarter-finals"),
            ],
        ),
        # The same gap over extra time and a shoot-out (fullTime counts the kicks).
        (
            fd("FINISHED", (5, 3), (0, 0), "PENALTY_SHOOTOUT", regularTime=(1, 0),
               extraTime=(0, 0), penalties=(4, 3), winner="HOME_TEAM"),
            [
                ("full_time", "End of normal time: Manchester City FC 1-0 FC København. "
                 "1-1 on aggregate: extra time"),
                ("extra_time", "End of extra time: Manchester City FC 1-0 FC København. "
                 "1-1 on aggregate: penalties"),
                ("shootout", "Penalties under way: Manchester City FC 1-0 FC København. "
                 "1-1 on aggregate"),
                ("shootout", "Penalties: Manchester City FC 4-3 FC København"),
                ("result", "Manchester City FC win 4-3 on penalties (1-1 on aggregate). "
                 "Manchester City FC reach the quarter-finals"),
            ],
        ),
    ],
)  # fmt: skip
def test_football_data_poll_gap_over_extra_time(
    last: MatchSnapshot, tail: list[tuple[str, str]]
) -> None:
    assert (last.minute, last.added) == (120, None)
    snaps = [fd("TIMED", None), fd("IN_PLAY", (1, 0), (0, 0), minute="88"), last]
    got = alerts_of(snaps, FD_FIRST_LEG)
    assert got[:3] == [("kickoff", FD_KICKOFF), FD_SECOND_HALF, ("goal", FD_GOAL)]
    assert got[3:] == tail


def test_football_data_free_tier_match_won_in_extra_time_replays_extra_time() -> None:
    # A recorded v4 match (free tier: no minute, no goals list) decided in extra time: the
    # replay and the adapter must tell the 90' draw, extra time and its goal.
    match = real_match(451640)  # Man City v Crvena Zvezda, reshaped
    match["score"] = {
        "winner": "HOME_TEAM",
        "duration": "EXTRA_TIME",
        "fullTime": {"home": 2, "away": 1},
        "halfTime": {"home": 0, "away": 1},
        "regularTime": {"home": 1, "away": 1},
        "extraTime": {"home": 1, "away": 0},
    }
    replay = FootballDataReplay(match)
    minutes = range(-2, int(replay.end // 60) + 2)
    snaps = [football_data.parse_match(replay.match_at(t * 60.0)) for t in minutes]
    _, alerts = fold(polls(snaps), tie=None, aliases={})
    # A single match ends with one alert: the result, which says extra time was played. With
    # no minute in the feed, the break within extra time is its half-time.
    assert [(a.kind, a.text) for a in alerts][-5:] == [
        (
            "full_time",
            "End of normal time: Manchester City FC 1-1 FK Crvena Zvezda. "
            "Level after 90 minutes: extra time",
        ),
        ("extra_time", "Extra time under way: Manchester City FC 1-1 FK Crvena Zvezda"),
        ("goal", "GOAL Manchester City FC 2-1 FK Crvena Zvezda (scorer not given by the feed)"),
        ("extra_time", "Half-time in extra time: Manchester City FC 2-1 FK Crvena Zvezda"),
        ("result", "Manchester City FC beat FK Crvena Zvezda 2-1 after extra time"),
    ]


@pytest.mark.parametrize(
    ("status", "duration", "minute", "extra", "expected"),
    [
        ("FINISHED", "EXTRA_TIME", None, (0, 0), (120, None)),
        ("FINISHED", "EXTRA_TIME", "90+4", (0, 0), (120, None)),
        ("FINISHED", "EXTRA_TIME", "120+2", (0, 0), (120, 2)),
        ("FINISHED", "PENALTY_SHOOTOUT", None, (0, 0), (120, None)),
        ("FINISHED", "PENALTY_SHOOTOUT", "90+4", None, (90, 4)),  # no extra time played
        ("IN_PLAY", "PENALTY_SHOOTOUT", None, (1, 0), (120, None)),
        ("FINISHED", "REGULAR", "90+4", None, (90, 4)),
        ("IN_PLAY", "EXTRA_TIME", "97", (0, 0), (97, None)),
    ],
)
def test_football_data_clock_after_extra_time(
    status: str, duration: str, minute: str | None, extra: Pair, expected: Pair
) -> None:
    fields: dict[str, Any] = {"extraTime": extra} if extra else {}
    if minute is not None:
        fields["minute"] = minute
    if duration == "PENALTY_SHOOTOUT":
        fields["penalties"] = (3, 2)
    snap = fd(status, (1, 1), (0, 0), duration, regularTime=(1, 1), **fields)
    assert (snap.minute, snap.added) == expected


@pytest.mark.parametrize(
    ("minute", "fields", "expected"),
    [
        ("45+2", {}, S.HALF_TIME),
        (None, {}, S.HALF_TIME),
        ("90+5", {}, S.SECOND_HALF),
        (None, {"regularTime": (1, 0)}, S.SECOND_HALF),
    ],
)
def test_football_data_paused_regular(
    minute: str | None, fields: dict[str, Any], expected: MatchStatus
) -> None:
    if minute is not None:
        fields = {**fields, "minute": minute}
    assert fd("PAUSED", (1, 0), (1, 0), **fields).status is expected


# ---- ESPN site API --------------------------------------------------------------------------

ATL, PHI = "18418", "10739"  # Atlanta United (home), Philadelphia Union (away) in 623599
ESPN_FIRST_LEG = "Philadelphia Union 1-0 Atlanta United FC"
ALMADA = detail("Goal", "60'", ATL, "Thiago Almada", scoringPlay=True)
KICK = {"scoringPlay": True, "penaltyKick": True, "shootout": True}


def es(name: str, state: str, period: int, clock: str, score: tuple[int, int], **kw: Any) -> Any:
    """SYNTHETIC: the real Atlanta v Philadelphia event as one live scoreboard poll shows it."""
    event = real_event("623599")
    comp = event["competitions"][0]
    status = {"clock": 0, "displayClock": clock, "period": period}
    status["type"] = {"name": name, "state": state, "completed": state == "post"}
    event["status"] = comp["status"] = status
    home, away = comp["competitors"]
    home["score"], away["score"] = str(score[0]), str(score[1])
    for c in (home, away):
        c.pop("shootoutScore", None)
        c["winner"] = False
    if "shootout" in kw:
        home["shootoutScore"], away["shootoutScore"] = kw.pop("shootout")
    if kw.pop("winner", None) == "home":
        home["winner"] = True
    comp["details"] = copy.deepcopy(kw.pop("details", []))
    assert not kw
    (snap,) = espn.parse_response({"leagues": ESPN_DATA["leagues"], "events": [event]})
    return snap


ES_KICKOFF = (
    "Kick-off: Atlanta United FC v Philadelphia Union. "
    "Philadelphia Union lead 1-0 from the first leg"
)

ES_UNDER_WAY = [
    ("kickoff", ES_KICKOFF),
    (
        "second_half",
        "Second half under way: Atlanta United FC 0-0 Philadelphia Union. "
        "Philadelphia Union lead 1-0 on aggregate. Atlanta United FC need one goal to force"
        " extra time",
    ),
    ("goal", "GOAL Atlanta United FC 1-0 Philadelphia Union (Thiago Almada 60'). 1-1 on aggregate"),
]


def test_espn_delayed_kickoff_is_no_suspension() -> None:
    snaps = [
        es("STATUS_SCHEDULED", "pre", 0, "0'", (0, 0)),
        es("STATUS_DELAYED", "pre", 0, "0'", (0, 0)),
        es("STATUS_FIRST_HALF", "in", 1, "2'", (0, 0)),
        es("STATUS_DELAYED", "in", 1, "31'", (0, 0)),  # under way: a suspension
        es("STATUS_FIRST_HALF", "in", 1, "33'", (0, 0)),
    ]
    assert snaps[1].status is S.SCHEDULED
    assert alerts_of(snaps, ESPN_FIRST_LEG) == [
        ("kickoff", ES_KICKOFF),
        ("status", "Atlanta United FC v Philadelphia Union suspended at 31' (0-0)"),
        (
            "status",
            "Play resumes: Atlanta United FC 0-0 Philadelphia Union. Philadelphia Union lead "
            "1-0 on aggregate. Atlanta United FC need one goal to force extra time",
        ),
    ]


def test_espn_end_of_regulation_then_straight_to_penalties() -> None:
    kicks = [
        detail("Penalty - Scored", "120'", ATL, "Josef Martínez", **KICK),
        detail("Penalty - Scored", "120'", PHI, "Julián Carranza", **KICK),
        detail("Penalty - Scored", "120'", ATL, "Brooks Lennon", **KICK),
    ]
    snaps = [
        es("STATUS_SECOND_HALF", "in", 2, "61'", (1, 0), details=[ALMADA]),
        es("STATUS_END_OF_REGULATION", "in", 2, "90'+4'", (1, 0), details=[ALMADA]),
        es("STATUS_SHOOTOUT", "in", 5, "90'+4'", (1, 0), details=[ALMADA, kicks[0]]),
        es(
            "STATUS_FINAL_PEN",
            "post",
            5,
            "90'+4'",
            (1, 0),
            details=[ALMADA, *kicks],
            shootout=(2, 1),
            winner="home",
        ),
    ]
    assert snaps[1].status is S.SECOND_HALF
    assert [(s.minute, s.added) for s in snaps[2:]] == [(90, 4), (90, 4)]
    assert alerts_of(snaps, ESPN_FIRST_LEG)[:3] == ES_UNDER_WAY
    assert alerts_of(snaps, ESPN_FIRST_LEG)[3:] == [
        (
            "full_time",
            (
                "End of normal time: Atlanta United FC 1-0 Philadelphia Union."
                " 1-1 on aggregate: penalties"
            ),
        ),
        (
            "shootout",
            "Penalties under way: Atlanta United FC 1-0 Philadelphia Union. 1-1 on aggregate",
        ),
        ("shootout", "Penalties: Atlanta United FC 1-0 Philadelphia Union (Josef Martínez scores)"),
        (
            "shootout",
            "Penalties: Atlanta United FC 1-1 Philadelphia Union (Julián Carranza scores)",
        ),
        ("shootout", "Penalties: Atlanta United FC 2-1 Philadelphia Union (Brooks Lennon scores)"),
        (
            "result",
            "Atlanta United FC win 2-1 on penalties (1-1 on aggregate). "
            "Atlanta United FC reach the quarter-finals",
        ),
    ]


def test_espn_extra_time_status_by_status() -> None:
    glesnes = detail("Goal - Header", "104'", PHI, "Jakob Glesnes", scoringPlay=True)
    araujo = detail("Goal", "110'", ATL, "Luiz Araújo", scoringPlay=True)
    martinez = detail("Goal", "118'", ATL, "Josef Martínez", scoringPlay=True)
    et = [ALMADA, glesnes]
    late = [*et, araujo, martinez]
    snaps = [
        es("STATUS_SECOND_HALF", "in", 2, "61'", (1, 0), details=[ALMADA]),
        es("STATUS_END_OF_REGULATION", "in", 2, "90'+4'", (1, 0), details=[ALMADA]),
        es("STATUS_FIRST_HALF_EXTRA_TIME", "in", 3, "91'", (1, 0), details=[ALMADA]),
        es("STATUS_FIRST_HALF_EXTRA_TIME", "in", 3, "104'", (1, 1), details=et),
        es("STATUS_HALFTIME_ET", "in", 3, "105'+1'", (1, 1), details=et),
        es("STATUS_SECOND_HALF_EXTRA_TIME", "in", 4, "118'", (3, 1), details=late),
        es("STATUS_END_EXTRA_TIME", "in", 4, "120'+2'", (3, 1), details=late),
        es("STATUS_FINAL_AET", "post", 4, "120'+2'", (3, 1), details=late, winner="home"),
    ]
    assert [s.status for s in snaps[2:7]] == [S.EXTRA_TIME] * 5
    assert alerts_of(snaps, ESPN_FIRST_LEG)[:3] == ES_UNDER_WAY
    assert alerts_of(snaps, ESPN_FIRST_LEG)[3:] == [
        (
            "full_time",
            (
                "End of normal time: Atlanta United FC 1-0 Philadelphia Union."
                " 1-1 on aggregate: extra time"
            ),
        ),
        (
            "goal",
            "GOAL Atlanta United FC 1-1 Philadelphia Union (Jakob Glesnes 104'). Philadelphia "
            "Union lead 2-1 on aggregate. Atlanta United FC need one goal to force penalties",
        ),
        (
            "extra_time",
            "Half-time in extra time: Atlanta United FC 1-1 Philadelphia Union. Philadelphia "
            "Union lead 2-1 on aggregate. Atlanta United FC need one goal to force penalties",
        ),
        (
            "extra_time",
            "Second half of extra time under way: Atlanta United FC 1-1 Philadelphia Union. "
            "Philadelphia Union lead 2-1 on aggregate. Atlanta United FC need one goal to force "
            "penalties",
        ),
        (
            "goal",
            "GOAL Atlanta United FC 2-1 Philadelphia Union (Luiz Araújo 110'). 2-2 on aggregate",
        ),
        (
            "goal",
            "GOAL Atlanta United FC 3-1 Philadelphia Union (Josef Martínez 118'). Atlanta United "
            "FC lead 3-2 on aggregate. Philadelphia Union need one goal to force penalties",
        ),
        (
            "extra_time",
            "End of extra time: Atlanta United FC 3-1 Philadelphia Union. 3-2 on aggregate",
        ),
        (
            "result",
            (
                "Atlanta United FC win 3-2 on aggregate after extra time."
                " Atlanta United FC reach the quarter-finals"
            ),
        ),
    ]
