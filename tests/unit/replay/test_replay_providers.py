"""Replays in football-data's and ESPN's shapes: what their adapters read at each virtual time.

The provider-neutral timeline plans the match; each renderer writes it back in its provider's
JSON; these tests read it back through the real adapters, as the poller does.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.domain.models import STATUS_ORDER, MatchSnapshot, MatchStatus, Score
from notifier.feeds.espn.parse import parse_event, parse_summary
from notifier.feeds.football_data.parse import parse_match
from notifier.replay.espn import EspnReplay, load_scoreboard
from notifier.replay.football_data import FootballDataReplay, load_matches
from notifier.replay.timeline import MatchTimeline
from tests.recordings import REAL

ESPN = REAL / "espn/mls-scoreboard-2022-09-17-live-mixed.json"
FD = REAL / "football-data/v4-teams-65-matches-PL-CL-2023-24-snapshot-2023-12-28.json"
MIN = 60.0
S = MatchStatus


def espn_replays() -> dict[str, EspnReplay]:
    return {r.match_id: r for r in load_scoreboard(orjson.loads(ESPN.read_bytes()))}


def fd_replays() -> dict[str, FootballDataReplay]:
    return {r.match_id: r for r in load_matches(orjson.loads(FD.read_bytes()))}


ESPN_REPLAYS = espn_replays()
FD_REPLAYS = fd_replays()
LEAGUES = {"770": "Major League Soccer"}


def espn_at(match_id: str, t: float) -> MatchSnapshot:
    return parse_event(ESPN_REPLAYS[match_id].event_at(t), LEAGUES)


def fd_at(match_id: str, t: float) -> MatchSnapshot:
    return parse_match(FD_REPLAYS[match_id].match_at(t))


def changes(at: Any, end: float) -> list[tuple[float, str, int, int]]:
    """(minute, status, home, away) each time status or score changes, minute by minute."""
    out: list[tuple[float, str, int, int]] = []
    t = -2 * MIN
    while t <= end + MIN:
        s = at(t)
        row = (t / MIN, s.status.value, s.score.home, s.score.away)
        if not out or out[-1][1:] != row[1:]:
            out.append(row)
        t += MIN
    return out


def test_which_matches_are_replayed() -> None:
    played = {k for k, r in ESPN_REPLAYS.items() if r.played}
    assert played == {"623597", "623599", "623600", "623601", "623602", "623603"}
    assert sum(r.played for r in FD_REPLAYS.values()) == 24  # finished; not postponed/scheduled


def test_espn_orlando_toronto_goals_come_when_the_clock_passes_them() -> None:
    replay = ESPN_REPLAYS["623600"]  # recorded at 57', Orlando 3-0 (9', 22', 47' og)
    assert changes(lambda t: espn_at("623600", t), replay.end) == [
        (-2.0, "scheduled", 0, 0),
        (0.0, "first_half", 0, 0),
        (9.0, "first_half", 1, 0),
        (22.0, "first_half", 2, 0),
        (46.0, "half_time", 2, 0),
        (61.0, "second_half", 2, 0),
        (63.0, "second_half", 3, 0),
    ]
    own_goal = espn_at("623600", 63 * MIN).goals[-1]
    assert (own_goal.minute, own_goal.kind, own_goal.player) == (
        47,
        "own_goal",
        "Lukas MacNaughton",
    )
    assert espn_at("623600", 63 * MIN).minute == 48
    status = ESPN_REPLAYS["623600"].event_at(63 * MIN)["status"]
    assert (status["displayClock"], status["period"], status["type"]["state"]) == ("48'", 2, "in")


def test_espn_from_the_end_on_serves_the_recording() -> None:
    replay = ESPN_REPLAYS["623600"]
    recorded = parse_event(replay.template, LEAGUES)
    assert espn_at("623600", replay.end) == recorded
    assert espn_at("623600", replay.end + 3600) == recorded  # a live recording stays at 57'


def test_espn_winner_only_at_the_end_and_first_half_stoppage() -> None:
    replay = ESPN_REPLAYS["623597"]  # NYCFC 2-0 Red Bulls, full time at 90'+5'
    assert espn_at("623597", replay.end - 1).winner is None
    assert espn_at("623597", replay.end).winner == "home"
    last = espn_at("623597", replay.end - 1)
    assert (last.status, last.minute, last.added) == (S.SECOND_HALF, 90, 5)


def test_espn_summary_reads_like_the_scoreboard() -> None:
    replay = ESPN_REPLAYS["623600"]
    for t in (-MIN, 10 * MIN, 50 * MIN, replay.end):
        summary = parse_summary(replay.summary_at(t))
        scoreboard = espn_at("623600", t)
        assert (summary.status, summary.score, summary.goals) == (
            scoreboard.status,
            scoreboard.score,
            scoreboard.goals,
        )
        assert summary.competition == "Major League Soccer"


def test_espn_unplayed_match_is_served_as_recorded() -> None:
    replay = ESPN_REPLAYS["623604"]
    assert not replay.played
    assert espn_at("623604", 50 * MIN).status is S.SCHEDULED


def test_football_data_free_tier_reveals_score_changes_only() -> None:
    replay = FD_REPLAYS["451640"]  # Man City 3-1 Crvena Zvezda, 0-1 at half-time
    assert changes(lambda t: fd_at("451640", t), replay.end) == [
        (-2.0, "scheduled", 0, 0),
        (0.0, "first_half", 0, 0),
        (23.0, "first_half", 0, 1),
        (46.0, "half_time", 0, 1),
        (61.0, "second_half", 0, 1),
        (73.0, "second_half", 1, 1),
        (84.0, "second_half", 2, 1),
        (95.0, "second_half", 3, 1),
        (107.0, "finished", 3, 1),
    ]
    assert all(not fd_at("451640", t * MIN).goals for t in range(0, 110, 5))


def test_football_data_half_time_is_filled_at_the_break_then_frozen() -> None:
    replay = FD_REPLAYS["451640"]
    assert replay.match_at(30 * MIN)["score"]["halfTime"] == {"home": None, "away": None}
    for minute in (47, 70, 100):
        assert replay.match_at(minute * MIN)["score"]["halfTime"] == {"home": 0, "away": 1}
    assert replay.match_at(-MIN)["status"] == "TIMED"
    assert replay.match_at(50 * MIN)["status"] == "PAUSED"
    assert replay.match_at(80 * MIN)["score"]["winner"] is None
    assert replay.match_at(replay.end)["score"]["winner"] == "HOME_TEAM"


def shootout_match() -> dict[str, Any]:
    """A v4 match decided on penalties: 1-1 after 90, 0-0 in extra time, 4-3 in the shoot-out."""
    data: dict[str, Any] = orjson.loads(FD.read_bytes())
    match = copy.deepcopy(next(m for m in data["matches"] if m["id"] == 451640))
    match["id"] = 999001
    match["score"] = {
        "winner": "HOME_TEAM",
        "duration": "PENALTY_SHOOTOUT",
        "fullTime": {"home": 5, "away": 4},
        "halfTime": {"home": 1, "away": 0},
        "regularTime": {"home": 1, "away": 1},
        "extraTime": {"home": 0, "away": 0},
        "penalties": {"home": 4, "away": 3},
    }
    return match


def test_football_data_shootout_replay() -> None:
    replay = FootballDataReplay(shootout_match())
    end = parse_match(replay.match_at(replay.end))
    assert (end.status, end.score, end.shootout, end.winner) == (
        S.FINISHED,
        Score(home=1, away=1),
        Score(home=4, away=3),
        "home",
    )
    phases = changes(lambda t: parse_match(replay.match_at(t)), replay.end)
    assert [p[1] for p in phases] == [
        "scheduled",
        "first_half",
        "first_half",
        "half_time",
        "second_half",
        "second_half",
        "extra_time",
        "penalties",
        "finished",
    ]
    during = replay.match_at(replay.end - 4 * MIN)["score"]
    assert during["duration"] == "PENALTY_SHOOTOUT" and during["regularTime"] == {
        "home": 1,
        "away": 1,
    }
    shown = parse_match(replay.match_at(replay.end - 4 * MIN))  # 5 of 8 kicks taken
    assert shown.score == Score(home=1, away=1), "fullTime counts the kicks: never read as goals"
    assert shown.shootout == Score(home=3, away=2)
    assert replay.match_at(replay.end - 4 * MIN)["score"]["fullTime"] == {"home": 4, "away": 3}


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(k for k, r in ESPN_REPLAYS.items() if r.played)),
    st.lists(st.floats(-50 * MIN, 130 * MIN), min_size=2, max_size=8),
)
def test_espn_replays_only_move_forward(match_id: str, times: list[float]) -> None:
    before: MatchSnapshot | None = None
    for t in sorted(times):
        now = espn_at(match_id, t)
        if before is not None:
            assert STATUS_ORDER[now.status] >= STATUS_ORDER[before.status]
            assert now.score.home >= before.score.home and now.score.away >= before.score.away
            assert len(now.goals) >= len(before.goals)
        before = now


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(k for k, r in FD_REPLAYS.items() if r.played)))
def test_football_data_replays_end_as_recorded(match_id: str) -> None:
    replay = FD_REPLAYS[match_id]
    recorded = parse_match(replay.template)
    final = fd_at(match_id, replay.end)
    assert (final.status, final.score, final.winner) == (
        recorded.status,
        recorded.score,
        recorded.winner,
    )
    just_before = fd_at(match_id, replay.end - 1)
    assert just_before.score == recorded.score, "every goal is in before the final whistle"


@pytest.mark.parametrize(
    ("score", "half", "expected"),
    [
        # Minutes 23, 45 and 67 of 90 (the second half starts 61 virtual minutes in).
        ((2, 1), None, [(23, "home"), (45, "away"), (83, "home")]),
        # 1-1 at half-time: minutes 15 and 30, then 68 in the second half.
        ((2, 1), (1, 1), [(15, "home"), (30, "away"), (84, "home")]),
        ((0, 0), None, []),
    ],
)
def test_unlisted_goals_are_spread_over_their_half(
    score: tuple[int, int], half: tuple[int, int] | None, expected: list[tuple[int, str]]
) -> None:
    snap = parse_match(shootout_match()).model_copy(
        update={
            "score": Score(home=score[0], away=score[1]),
            "shootout": None,
            "status": S.FINISHED,
            "minute": None,  # a 90-minute match: the recording went to extra time
        }
    )
    half_time = Score(home=half[0], away=half[1]) if half else None
    timeline = MatchTimeline(snap, half_time=half_time)
    got = [(int(m.at // MIN), m.side) for m in timeline.moments]
    assert got == expected
