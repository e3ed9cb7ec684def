"""API-Football v3 adapter: real recordings, the scripted scenario, quirks and bad input."""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.domain.models import MatchSnapshot, MatchStatus
from notifier.errors import EnvelopeError, FeedParseError
from notifier.feeds.api_football.parse import map_status, parse_fixture, parse_response
from tests.recordings import SPAIN_CROATIA, TURKIYE_PORTUGAL, require
from tests.unit.strategies import mutate

REPO = Path(__file__).resolve().parents[3]
SCENARIO = REPO / "notifier" / "data" / "scenarios" / "atalanta-dortmund-2nd-leg.json"


def load(path: Path) -> bytes:
    """The raw bytes of a recording."""
    return require(path).read_bytes()


def snapshot_of(path: Path) -> MatchSnapshot:
    [snapshot] = parse_response(load(path))
    return snapshot


def goals_of(s: MatchSnapshot) -> list[tuple[int, int | None, str, str | None, str]]:
    return [(g.minute, g.added, g.side, g.player, g.kind) for g in s.goals]


# --- real recordings -----------------------------------------------------------------------

REAL_CASES = [
    pytest.param(
        SPAIN_CROATIA,
        {
            "match_id": "1145511",
            "teams": ("Spain", "Croatia"),
            "goals": [
                (29, None, "home", "Álvaro Morata", "normal"),
                (32, None, "home", "Fabián Ruiz", "normal"),
                (45, 2, "home", "Dani Carvajal", "normal"),
            ],
            "assists": ["Fabián Ruiz", "Pedri", "Lamine Yamal"],
            "score": (3, 0),
            "winner": "home",
            "cancelled": [(81, "away", "Bruno Petković", "Goal cancelled")],
            "formations": ("4-3-3", "4-3-3"),
            "bench": (15, 15),
            "coaches": ("Luis de la Fuente", "Z. Dalić"),
            "kickoff": datetime(2024, 6, 15, 16, 0, tzinfo=UTC),
            "stage": "Group B - 1",
        },
        id="spain-croatia",
    ),
    pytest.param(
        TURKIYE_PORTUGAL,
        {
            "match_id": "1145526",
            "teams": ("Türkiye", "Portugal"),
            "goals": [
                (21, None, "away", "B. Silva", "normal"),
                (28, None, "away", "S. Akaydin", "own_goal"),
                (56, None, "away", "B. Fernandes", "normal"),
            ],
            "assists": [None, None, "C. Ronaldo"],
            "score": (0, 3),
            "winner": "away",
            "cancelled": [],
            "formations": ("4-2-3-1", "4-2-3-1"),
            "bench": (13, 15),
            "coaches": ("V. Montella", "Roberto Martínez"),
            "kickoff": datetime(2024, 6, 22, 16, 0, tzinfo=UTC),
            "stage": "Group F - 2",
        },
        id="turkiye-portugal",
    ),
]


@pytest.mark.parametrize(("path", "want"), REAL_CASES)
def test_real_recording(path: Path, want: dict[str, Any]) -> None:
    s = snapshot_of(path)
    assert s.provider == "api-football"
    assert s.match_id == want["match_id"]
    assert (s.home.name, s.away.name) == want["teams"]
    assert goals_of(s) == want["goals"]
    assert [g.assist for g in s.goals] == want["assists"]
    assert (s.score.home, s.score.away) == want["score"]
    assert s.status is MatchStatus.FINISHED
    assert s.minute == 90
    assert s.winner == want["winner"]
    assert s.shootout is None and s.shootout_kicks == ()
    assert [(i.minute, i.side, i.player, i.detail) for i in s.cancelled_goals] == want["cancelled"]
    assert s.red_cards == () and s.missed_penalties == ()
    assert s.kickoff == want["kickoff"]
    assert s.competition == "Euro Championship"
    assert s.stage == want["stage"]
    assert s.lineups is not None
    home, away = s.lineups.home, s.lineups.away
    assert (home.formation, away.formation) == want["formations"]
    assert (len(home.start), len(away.start)) == (11, 11)
    assert (len(home.bench), len(away.bench)) == want["bench"]
    assert (home.coach, away.coach) == want["coaches"]
    assert home.start[0].position == "G" and home.start[0].grid == "1:1"


def test_goal_refs_are_stable_and_distinct() -> None:
    first = snapshot_of(SPAIN_CROATIA)
    again = snapshot_of(SPAIN_CROATIA)
    refs = [g.ref for g in first.goals]
    assert refs == [g.ref for g in again.goals]
    assert len(set(refs)) == len(refs) and all(refs)


def test_two_goals_alike_keep_distinct_refs() -> None:
    unknown = [event(90, HOME, "Goal", "Normal Goal", None, extra=2) for _ in range(2)]
    s = parse_fixture(fixture(unknown, goals=(2, 0)))
    assert len(s.goals) == 2 and len({g.ref for g in s.goals}) == 2


def test_own_goal_is_credited_to_the_team_that_benefits() -> None:
    s = snapshot_of(TURKIYE_PORTUGAL)
    [own] = [g for g in s.goals if g.kind == "own_goal"]
    assert (own.player, own.side, s.away.name) == ("S. Akaydin", "away", "Portugal")


def test_var_cancelled_goal_is_not_a_goal() -> None:
    s = snapshot_of(SPAIN_CROATIA)
    assert all(g.player != "Bruno Petković" for g in s.goals)
    assert len(s.goals) == s.score.home + s.score.away


def test_scripted_scenario() -> None:
    s = snapshot_of(SCENARIO)
    assert (s.match_id, s.home.name, s.away.name) == ("900001", "Atalanta", "Borussia Dortmund")
    assert goals_of(s) == [
        (23, None, "home", "Scamacca", "normal"),
        (84, None, "home", "Pasalic", "normal"),
    ]
    assert [(i.minute, i.player) for i in s.cancelled_goals] == [(40, "Guirassy"), (105, "Beier")]
    assert [(i.minute, i.side, i.player) for i in s.red_cards] == [(67, "home", "Kossounou")]
    assert [(i.minute, i.player) for i in s.missed_penalties] == [(71, "Guirassy")]
    assert (s.score.home, s.score.away) == (2, 0)
    assert s.shootout is not None and (s.shootout.home, s.shootout.away) == (5, 4)
    kicks = [(k.order, k.side, k.scored) for k in s.shootout_kicks]
    assert kicks == [(n, "home" if n % 2 else "away", n != 10) for n in range(1, 11)]
    assert (s.status, s.minute, s.added, s.winner) == (MatchStatus.FINISHED, 120, 2, "home")
    assert (s.competition, s.leg) == ("UEFA Champions League", 2)
    assert s.lineups is not None
    assert [p.name for p in s.lineups.home.start][:4] == [
        "Carnesecchi",
        "Kossounou",
        "Djimsiti",
        "Ahanor",
    ]
    assert s.lineups.away.coach == "Niko Kovac"
    assert (s.lineups.home.formation, s.lineups.away.formation) == ("3-4-2-1", "3-4-2-1")


# --- synthetic fixtures: one quirk at a time -----------------------------------------------

HOME, AWAY = {"id": 10, "name": "Home FC"}, {"id": 20, "name": "Away FC"}


def event(
    minute: int,
    team: dict[str, Any],
    type_: str,
    detail: str,
    player: str | None = "P",
    *,
    extra: int | None = None,
    comments: str | None = None,
    player_id: int | None = None,
) -> dict[str, Any]:
    return {
        "time": {"elapsed": minute, "extra": extra},
        "team": team,
        "player": {"id": player_id, "name": player},
        "assist": {"id": None, "name": None},
        "type": type_,
        "detail": detail,
        "comments": comments,
    }


def fixture(
    events: list[dict[str, Any]] | None = None,
    *,
    short: str = "FT",
    elapsed: int | None = 90,
    goals: tuple[int | None, int | None] = (0, 0),
    penalty: tuple[int | None, int | None] = (None, None),
    winner: tuple[bool | None, bool | None] = (None, None),
) -> dict[str, Any]:
    return {
        "fixture": {
            "id": 7,
            "date": "2025-05-01T21:00:00+02:00",
            "timestamp": 1746126000,
            "status": {"long": "x", "short": short, "elapsed": elapsed},
        },
        "league": {"id": 1, "name": "Cup", "round": "Final"},
        "teams": {
            "home": {**HOME, "winner": winner[0]},
            "away": {**AWAY, "winner": winner[1]},
        },
        "goals": {"home": goals[0], "away": goals[1]},
        "score": {
            "halftime": {"home": None, "away": None},
            "fulltime": {"home": None, "away": None},
            "extratime": {"home": None, "away": None},
            "penalty": {"home": penalty[0], "away": penalty[1]},
        },
        "events": events or [],
        "lineups": [],
    }


def envelope(*items: dict[str, Any], errors: Any = None) -> dict[str, Any]:
    return {
        "get": "fixtures",
        "parameters": {"id": "7"},
        "errors": [] if errors is None else errors,
        "results": len(items),
        "paging": {"current": 1, "total": 1},
        "response": list(items),
    }


STATUS_CASES = [
    ("TBD", None, MatchStatus.SCHEDULED),
    ("NS", None, MatchStatus.SCHEDULED),
    ("1H", 12, MatchStatus.FIRST_HALF),
    ("HT", 45, MatchStatus.HALF_TIME),
    ("2H", 60, MatchStatus.SECOND_HALF),
    ("ET", 95, MatchStatus.EXTRA_TIME),
    ("BT", 90, MatchStatus.EXTRA_TIME),
    ("P", 120, MatchStatus.PENALTIES),
    ("FT", 90, MatchStatus.FINISHED),
    ("AET", 120, MatchStatus.FINISHED),
    ("PEN", 120, MatchStatus.FINISHED),
    ("AWD", None, MatchStatus.FINISHED),
    ("WO", None, MatchStatus.FINISHED),
    ("PST", None, MatchStatus.POSTPONED),
    ("CANC", None, MatchStatus.CANCELLED),
    ("ABD", 70, MatchStatus.ABANDONED),
    ("SUSP", 30, MatchStatus.SUSPENDED),
    ("INT", 30, MatchStatus.SUSPENDED),
    ("LIVE", None, MatchStatus.FIRST_HALF),
    ("LIVE", 30, MatchStatus.FIRST_HALF),
    ("LIVE", 46, MatchStatus.SECOND_HALF),
    ("LIVE", 100, MatchStatus.EXTRA_TIME),
    ("XYZ", None, MatchStatus.SCHEDULED),
    ("XYZ", 20, MatchStatus.FIRST_HALF),
    ("XYZ", 80, MatchStatus.SECOND_HALF),
    (None, None, MatchStatus.SCHEDULED),
]


@pytest.mark.parametrize(("short", "elapsed", "want"), STATUS_CASES)
def test_map_status(short: str | None, elapsed: int | None, want: MatchStatus) -> None:
    assert map_status(short, elapsed) is want
    assert parse_fixture(fixture(short=short or "", elapsed=elapsed)).status is want


def test_unknown_status_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="notifier.feeds.api_football")
    for _ in range(3):
        assert parse_fixture(fixture(short="ZZ9", elapsed=10)).status is MatchStatus.FIRST_HALF
    warnings = [r for r in caplog.records if r.getMessage() == "unknown_status"]
    assert len(warnings) == 1
    assert warnings[0].__dict__["value"] == "ZZ9"
    assert warnings[0].__dict__["provider"] == "api-football"


def test_unknown_event_type_and_detail_are_ignored_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="notifier.feeds.api_football")
    events = [
        event(10, HOME, "Goal", "Normal Goal"),
        event(20, HOME, "Goal", "Bicycle Goal QX"),
        event(21, AWAY, "Teleport QX", "Anything"),
        event(22, AWAY, "Teleport QX", "Anything"),
    ]
    for _ in range(2):
        s = parse_fixture(fixture(events, goals=(1, 0)))
        assert goals_of(s) == [(10, None, "home", "P", "normal")]
    messages = [(r.getMessage(), r.__dict__["value"]) for r in caplog.records]
    assert messages.count(("unknown_event_type", "Teleport QX")) == 1
    assert messages.count(("unknown_event_detail", "Goal/Bicycle Goal QX")) == 1


EVENT_CASES = [
    pytest.param(
        [event(12, HOME, "Goal", "Penalty", "A")],
        {"goals": [(12, None, "home", "A", "penalty")]},
        id="penalty",
    ),
    pytest.param(
        [event(30, AWAY, "Goal", "Own Goal", "Defender of Home")],
        {"goals": [(30, None, "away", "Defender of Home", "own_goal")]},
        id="own-goal-listed-under-beneficiary",
    ),
    pytest.param(
        [event(50, AWAY, "Goal", "Missed Penalty", "B")],
        {"missed": [(50, "away", "B")]},
        id="missed-penalty",
    ),
    pytest.param(
        [
            event(60, HOME, "Card", "Red Card", "C"),
            event(61, AWAY, "Card", "Second Yellow card", "D"),
            event(62, AWAY, "Card", "Yellow Red", "E"),
            event(63, HOME, "Card", "red card", "F"),
            event(64, HOME, "Card", "Yellow Card", "G"),
        ],
        {"red": [(60, "home", "C"), (61, "away", "D"), (62, "away", "E"), (63, "home", "F")]},
        id="red-card-variants",
    ),
    pytest.param(
        [event(45, HOME, "Goal", "Normal Goal", "H", extra=3)],
        {"goals": [(45, 3, "home", "H", "normal")]},
        id="stoppage-time-goal",
    ),
    pytest.param(
        [
            event(38, AWAY, "Goal", "Normal Goal", "Striker", player_id=9),
            event(40, AWAY, "Var", "Goal cancelled", "Striker", player_id=9),
        ],
        {"goals": [], "cancelled": [(40, "away", "Striker")]},
        id="var-cancels-listed-goal-same-player",
    ),
    pytest.param(
        [
            event(70, HOME, "Goal", "Normal Goal", "X"),
            event(71, HOME, "Var", "Goal Disallowed - offside", None),
        ],
        {"goals": [], "cancelled": [(71, "home", None)]},
        id="var-disallowed-same-team-within-two-minutes",
    ),
    pytest.param(
        [
            event(60, HOME, "Goal", "Normal Goal", "X"),
            event(71, HOME, "Var", "Goal Disallowed - handball", "Y"),
        ],
        {"goals": [(60, None, "home", "X", "normal")], "cancelled": [(71, "home", "Y")]},
        id="var-other-player-too-long-before-keeps-goal",
    ),
    pytest.param(
        [
            event(10, HOME, "Goal", "Normal Goal", "X"),
            event(20, HOME, "Goal", "Normal Goal", "X"),
            event(21, HOME, "Var", "Goal cancelled", "X"),
        ],
        {"goals": [(10, None, "home", "X", "normal")], "cancelled": [(21, "home", "X")]},
        id="one-var-event-cancels-one-goal-the-latest",
    ),
    pytest.param(
        [
            event(20, AWAY, "Goal", "Normal Goal", "X"),
            event(21, HOME, "Var", "Goal cancelled", "X"),
        ],
        {"goals": [(20, None, "away", "X", "normal")], "cancelled": [(21, "home", "X")]},
        id="var-of-other-team-keeps-goal",
    ),
    pytest.param(
        [
            event(10, AWAY, "Goal", "Normal Goal", "Petkovic", player_id=5),
            event(81, AWAY, "Var", "Goal cancelled", "Petkovic", player_id=5),
        ],
        {
            "score": (0, 1),
            "goals": [(10, None, "away", "Petkovic", "normal")],
            "cancelled": [(81, "away", "Petkovic")],
        },
        id="var-after-feed-dropped-the-goal-keeps-earlier-goal-of-same-player",
    ),
    pytest.param(
        [
            event(10, AWAY, "Goal", "Normal Goal", "Petkovic", player_id=5),
            event(80, AWAY, "Goal", "Normal Goal", "Petkovic", player_id=5),
            event(81, AWAY, "Var", "Goal cancelled", "Petkovic", player_id=5),
        ],
        {
            "score": (0, 1),
            "goals": [(10, None, "away", "Petkovic", "normal")],
            "cancelled": [(81, "away", "Petkovic")],
        },
        id="var-with-goal-still-listed-cancels-that-one",
    ),
    pytest.param(
        [event(81, AWAY, "Var", "Goal cancelled", "Petkovic")],
        {"goals": [], "cancelled": [(81, "away", "Petkovic")]},
        id="var-without-listed-goal",
    ),
    pytest.param(
        [
            event(20, HOME, "Var", "Penalty confirmed", "Z"),
            event(21, HOME, "Goal", "Penalty", "Z"),
        ],
        {"goals": [(21, None, "home", "Z", "penalty")]},
        id="var-penalty-confirmed-is-not-a-cancellation",
    ),
    pytest.param(
        [event(22, {"id": None, "name": "home fc"}, "Goal", "Normal Goal", "N")],
        {"goals": [(22, None, "home", "N", "normal")]},
        id="team-by-name-when-no-id",
    ),
    pytest.param(
        [event(22, {"id": 99, "name": "Strangers"}, "Goal", "Normal Goal", "N")],
        {"goals": []},
        id="event-of-neither-team-ignored",
    ),
]


@pytest.mark.parametrize(("events", "want"), EVENT_CASES)
def test_events(events: list[dict[str, Any]], want: dict[str, Any]) -> None:
    s = parse_fixture(fixture(events, goals=want.get("score", (0, 0))))
    assert goals_of(s) == want.get("goals", [])
    assert [(i.minute, i.side, i.player) for i in s.red_cards] == want.get("red", [])
    assert [(i.minute, i.side, i.player) for i in s.missed_penalties] == want.get("missed", [])
    assert [(i.minute, i.side, i.player) for i in s.cancelled_goals] == want.get("cancelled", [])


def shootout_events(comment: str | None, extra_is_round: bool = False) -> list[dict[str, Any]]:
    kicks = [(HOME, True), (AWAY, True), (HOME, False), (AWAY, True), (HOME, True), (AWAY, True)]
    return [
        event(
            120,
            team,
            "Goal",
            "Penalty" if scored else "Missed Penalty",
            f"K{n}",
            comments=comment,
            extra=n if extra_is_round else None,
        )
        for n, (team, scored) in enumerate(kicks, start=1)
    ]


@pytest.mark.parametrize(
    ("comment", "extra_is_round"),
    [("Penalty Shootout", False), ("Penalty Shootout", True), (None, False)],
    ids=["commented", "extra-is-round", "uncommented"],
)
def test_shootout_kicks_are_not_goals(comment: str | None, extra_is_round: bool) -> None:
    events = [
        event(30, HOME, "Goal", "Normal Goal", "A"),
        event(70, AWAY, "Goal", "Penalty", "B"),
        event(118, AWAY, "Goal", "Missed Penalty", "C"),
        *shootout_events(comment, extra_is_round),
    ]
    s = parse_fixture(fixture(events, short="PEN", elapsed=120, goals=(1, 1), winner=(False, True)))
    assert goals_of(s) == [(30, None, "home", "A", "normal"), (70, None, "away", "B", "penalty")]
    assert [(k.order, k.side, k.player, k.scored) for k in s.shootout_kicks] == [
        (1, "home", "K1", True),
        (2, "away", "K2", True),
        (3, "home", "K3", False),
        (4, "away", "K4", True),
        (5, "home", "K5", True),
        (6, "away", "K6", True),
    ]
    assert s.shootout is not None and (s.shootout.home, s.shootout.away) == (2, 3)
    assert s.winner == "away"
    assert [(i.minute, i.player) for i in s.missed_penalties] == [(118, "C")]


def test_uncommented_last_minute_penalty_goal_stays_a_goal() -> None:
    events = [
        event(30, HOME, "Goal", "Normal Goal", "A"),
        event(120, AWAY, "Goal", "Penalty", "Late", extra=2),
        *shootout_events(None),
    ]
    s = parse_fixture(fixture(events, short="PEN", elapsed=120, goals=(1, 1), penalty=(2, 3)))
    assert [g.player for g in s.goals] == ["A", "Late"]
    assert len(s.shootout_kicks) == 6


def test_winner_only_once_finished() -> None:
    live = parse_fixture(fixture(short="2H", elapsed=60, goals=(1, 0), winner=(True, False)))
    assert live.winner is None
    done = parse_fixture(fixture(short="FT", goals=(1, 0), winner=(True, False)))
    assert done.winner == "home"
    draw = parse_fixture(fixture(short="FT", goals=(1, 1), winner=(False, False)))
    assert draw.winner is None
    unflagged = parse_fixture(fixture(short="PEN", elapsed=120, goals=(1, 1), penalty=(3, 4)))
    assert unflagged.winner == "away"


def test_prematch_nulls() -> None:
    s = parse_fixture(fixture(short="NS", elapsed=None, goals=(None, None)))
    assert (s.status, s.minute, s.score.home, s.score.away) == (MatchStatus.SCHEDULED, None, 0, 0)
    assert s.shootout is None and s.winner is None and s.lineups is None


def test_kickoff_is_utc_and_falls_back_to_timestamp() -> None:
    item = fixture()
    assert parse_fixture(item).kickoff == datetime(2025, 5, 1, 19, 0, tzinfo=UTC)
    item["fixture"]["date"] = None
    assert parse_fixture(item).kickoff == datetime(2025, 5, 1, 19, 0, tzinfo=UTC)


def lineup(team: dict[str, Any] | None, xi: int) -> dict[str, Any]:
    players = [
        {"player": {"id": n, "name": f"N{n}", "number": n, "pos": "D", "grid": None}}
        for n in range(1, 19)
    ]
    return {
        "team": team,
        "formation": "4-4-2",
        "coach": {"id": 1, "name": "Coach"},
        "startXI": players[:xi],
        "substitutes": players[11:],
    }


@pytest.mark.parametrize(
    ("lineups", "present"),
    [
        ([lineup(HOME, 11), lineup(AWAY, 11)], True),
        ([lineup(AWAY, 11), lineup(HOME, 11)], True),
        ([lineup(None, 11), lineup(None, 11)], True),
        ([lineup(HOME, 11)], False),
        ([lineup(HOME, 11), lineup(AWAY, 0)], False),
        ([], False),
    ],
    ids=["both", "away-first", "unnamed-teams", "one-side", "empty-xi", "none"],
)
def test_lineups_need_both_sides(lineups: list[dict[str, Any]], present: bool) -> None:
    item = fixture()
    item["lineups"] = lineups
    s = parse_fixture(item)
    assert (s.lineups is not None) is present
    if s.lineups is not None:
        assert (len(s.lineups.home.start), s.lineups.home.coach) == (11, "Coach")


# --- malformed input -----------------------------------------------------------------------


def broken(change: Any) -> dict[str, Any]:
    item = fixture([event(10, HOME, "Goal", "Normal Goal")], goals=(1, 0))
    change(item)
    return envelope(item)


BAD_BODIES = [
    pytest.param(b"", id="empty"),
    pytest.param(b"{not json", id="not-json"),
    pytest.param(b"[1, 2]", id="json-array"),
    pytest.param(orjson.dumps(envelope())[:-7], id="truncated"),
    pytest.param({"get": "fixtures", "errors": []}, id="no-response"),
    pytest.param({"errors": [], "response": {"a": 1}}, id="response-not-list"),
    pytest.param({"errors": [], "response": ["x"]}, id="item-not-object"),
    pytest.param(broken(lambda i: i.pop("teams")), id="no-teams"),
    pytest.param(broken(lambda i: i["teams"].pop("away")), id="no-away-team"),
    pytest.param(broken(lambda i: i["teams"]["home"].update(name=None)), id="no-team-name"),
    pytest.param(broken(lambda i: i.update(teams=[1, 2])), id="teams-not-object"),
    pytest.param(broken(lambda i: i["fixture"].pop("id")), id="no-fixture-id"),
    pytest.param(broken(lambda i: i.update(fixture="x")), id="fixture-not-object"),
    pytest.param(broken(lambda i: i["goals"].update(home="two")), id="goals-not-number"),
    pytest.param(broken(lambda i: i["goals"].update(home=-1)), id="goals-negative"),
    pytest.param(broken(lambda i: i["fixture"]["status"].update(elapsed=[])), id="elapsed-list"),
    pytest.param(broken(lambda i: i["fixture"]["status"].update(elapsed=True)), id="elapsed-bool"),
    pytest.param(broken(lambda i: i.update(events={"a": 1})), id="events-not-list"),
    pytest.param(broken(lambda i: i["events"].append("goal!")), id="event-not-object"),
    pytest.param(broken(lambda i: i["events"][0].update(time="10'")), id="event-time-string"),
    pytest.param(
        broken(lambda i: i["events"][0]["time"].update(elapsed=-3)), id="event-minute-negative"
    ),
    pytest.param(broken(lambda i: i.update(lineups="soon")), id="lineups-not-list"),
    pytest.param(broken(lambda i: i["fixture"].update(date="yesterday")), id="date-garbage"),
    pytest.param(broken(lambda i: i["fixture"].update(date=5)), id="date-number"),
    pytest.param(broken(lambda i: i["fixture"].update(date=None, timestamp=10**20)), id="ts-huge"),
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_malformed_input_raises_feed_parse_error(body: Any) -> None:
    with pytest.raises(FeedParseError) as caught:
        parse_response(body)
    assert str(caught.value)


def test_quota_error_names_the_provider_message() -> None:
    body = orjson.dumps(envelope(errors={"requests": "You have reached the request limit"}))
    with pytest.raises(EnvelopeError, match="request limit") as caught:
        parse_response(body)
    assert caught.value.payload == body
    assert caught.value.status == 429 and caught.value.retry_after == 3600.0


@pytest.mark.parametrize(
    ("errors", "status"),
    [
        pytest.param({"requests": "You have reached the request limit"}, 429, id="quota"),
        pytest.param({"rateLimit": "Too many requests"}, 429, id="rate-limit"),
        pytest.param(["Something went wrong"], 400, id="errors-list"),
    ],
)
def test_error_envelope_is_an_envelope_error_not_a_parse_error(errors: Any, status: int) -> None:
    # The error document (HTTP 200) is what the provider said, not a malformed payload: the same
    # EnvelopeError here as in the poller's split and the finder (tests/unit/feeds/test_provider).
    with pytest.raises(EnvelopeError) as caught:
        parse_response(envelope(errors=errors))
    assert not isinstance(caught.value, FeedParseError)
    assert caught.value.status == status


@pytest.mark.parametrize("item", [None, "x", 3, [1]])
def test_parse_fixture_rejects_non_objects(item: Any) -> None:
    with pytest.raises(FeedParseError):
        parse_fixture(item)


@pytest.mark.parametrize("cut", [1, 100, 5000, 60000])
def test_truncated_recording_raises(cut: int) -> None:
    with pytest.raises(FeedParseError):
        parse_response(load(SPAIN_CROATIA)[:cut])


def test_empty_response_is_no_fixtures() -> None:
    assert parse_response(envelope()) == []


# --- property: whatever the mutation, a snapshot, a FeedParseError or (errors) an EnvelopeError


@st.composite
def mutated_recordings(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(RECORDINGS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        mutate(doc, draw)
    return doc


def _recordings() -> list[dict[str, Any]]:
    return [orjson.loads(p.read_bytes()) for p in (SPAIN_CROATIA, TURKIYE_PORTUGAL, SCENARIO)]


RECORDINGS = _recordings()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_recordings())
def test_mutated_recordings_parse_or_raise_feed_parse_error(doc: dict[str, Any]) -> None:
    try:
        snapshots = parse_response(doc)
    except FeedParseError:
        return
    except EnvelopeError:
        assert doc.get("errors"), "only a mutation that filled 'errors' makes an error envelope"
        return
    assert all(isinstance(s, MatchSnapshot) for s in snapshots)
