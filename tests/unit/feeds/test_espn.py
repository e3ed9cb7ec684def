"""ESPN site API adapter, checked against values read off the real MLS scoreboard by hand."""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.domain.models import MatchSnapshot, MatchStatus, Score
from notifier.errors import FeedParseError
from notifier.feeds.espn.details import parse_clock
from notifier.feeds.espn.parse import STATUS_NAMES, parse_response
from tests import recordings
from tests.unit.jsontree import mutate, paths

REAL = recordings.REAL / "espn"
MLS = REAL / "mls-scoreboard-2022-09-17-live-mixed.json"
RAW = MLS.read_bytes()
DATA: dict[str, Any] = json.loads(RAW)
S = MatchStatus


def by_id(match_id: str) -> MatchSnapshot:
    """The snapshot of one event of the MLS recording."""
    return next(s for s in parse_response(RAW) if s.match_id == match_id)


def real_event(event_id: str) -> dict[str, Any]:
    """A deep copy of one raw event of the recording, to reshape into other cases."""
    return copy.deepcopy(next(e for e in DATA["events"] if e["id"] == event_id))


# ---- the real recording -------------------------------------------------------------------

# id, status, (minute, added) of the match clock, home, away, score, winner
MATCHES = [
    ("623597", S.FINISHED, (90, 5), "New York City FC", "New York Red Bulls", (2, 0), "home"),
    ("623599", S.FINISHED, (90, 8), "Atlanta United FC", "Philadelphia Union", (0, 0), None),
    ("623601", S.SECOND_HALF, (58, None), "New England Revolution", "CF Montréal", (0, 0), None),
    ("623600", S.SECOND_HALF, (57, None), "Orlando City SC", "Toronto FC", (3, 0), None),
    ("623602", S.FIRST_HALF, (45, None), "Chicago Fire FC", "Charlotte FC", (2, 0), None),
    (
        "623603",
        S.FIRST_HALF,
        (13, None),
        "Sporting Kansas City",
        "Minnesota United FC",
        (0, 0),
        None,
    ),
    ("623604", S.SCHEDULED, (None, None), "Austin FC", "Nashville SC", (0, 0), None),
    ("623605", S.SCHEDULED, (None, None), "Real Salt Lake", "FC Cincinnati", (0, 0), None),
    (
        "623606",
        S.SCHEDULED,
        (None, None),
        "Vancouver Whitecaps",
        "Seattle Sounders FC",
        (0, 0),
        None,
    ),
    ("623607", S.SCHEDULED, (None, None), "LA Galaxy", "Colorado Rapids", (0, 0), None),
    ("623598", S.SCHEDULED, (None, None), "San Jose Earthquakes", "FC Dallas", (0, 0), None),
]

# id -> every goal: minute, added, side, player, kind
GOALS = {
    "623597": [
        (1, None, "home", "Alexander Callens", "normal"),  # "Goal - Header" at "1'"
        (23, None, "home", "Santiago Rodríguez", "normal"),
    ],
    "623600": [
        (9, None, "home", "Facundo Torres", "normal"),
        (22, None, "home", "Ercan Kara", "normal"),
        # "Own Goal" 47': listed under Orlando (team 12011, who benefit), the athlete is
        # Toronto's (his team id 7318).
        (47, None, "home", "Lukas MacNaughton", "own_goal"),
    ],
    "623602": [
        (3, None, "home", "Mauricio Pineda", "normal"),
        (30, None, "home", "Jhon Durán", "normal"),
    ],
}


def test_every_event_is_parsed() -> None:
    snaps = parse_response(RAW)
    assert [s.match_id for s in snaps] == [m[0] for m in MATCHES]
    assert {s.provider for s in snaps} == {"espn"}
    assert {s.competition for s in snaps} == {"Major League Soccer"}
    assert {s.stage for s in snaps} == {"regular-season"}


@pytest.mark.parametrize(
    ("match_id", "status", "clock", "home", "away", "score", "winner"), MATCHES
)
def test_status_clock_teams_score_winner(
    match_id: str,
    status: MatchStatus,
    clock: tuple[int | None, int | None],
    home: str,
    away: str,
    score: tuple[int, int],
    winner: str | None,
) -> None:
    s = by_id(match_id)
    assert s.status is status
    assert (s.minute, s.added) == clock
    assert (s.home.name, s.away.name) == (home, away)
    assert (s.score.home, s.score.away) == score
    assert s.winner == winner
    assert s.shootout is None and s.shootout_kicks == () and s.lineups is None


@pytest.mark.parametrize("match_id", [m[0] for m in MATCHES])
def test_every_goal(match_id: str) -> None:
    s = by_id(match_id)
    got = [(g.minute, g.added, g.side, g.player, g.kind) for g in s.goals]
    assert got == GOALS.get(match_id, [])
    # The goals listed add up to the score in this recording.
    assert sum(g.side == "home" for g in s.goals) == s.score.home
    assert sum(g.side == "away" for g in s.goals) == s.score.away


def test_yellow_cards_are_not_red_cards() -> None:
    yellows = sum(
        d["yellowCard"] for e in DATA["events"] for d in e["competitions"][0].get("details", [])
    )
    assert yellows == 17  # 7 + 5 + 1 + 2 + 2, as listed in the file
    assert all(s.red_cards == () and s.missed_penalties == () for s in parse_response(RAW))


def test_kickoff_is_utc() -> None:
    assert by_id("623597").kickoff == datetime(2022, 9, 17, 17, 0, tzinfo=UTC)
    assert by_id("623598").kickoff == datetime(2022, 9, 18, 2, 30, tzinfo=UTC)


def test_the_real_stoppage_time_clock() -> None:
    # Gazdag's yellow card in Atlanta v Philadelphia is at "90'+7'".
    details = real_event("623599")["competitions"][0]["details"]
    assert details[-1]["clock"]["displayValue"] == "90'+7'"
    assert parse_clock(details[-1]["clock"]["displayValue"]) == (90, 7)


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        ("90'+7'", (90, 7)),
        ("45'+2'", (45, 2)),
        ("67'", (67, None)),
        ("120'+1'", (120, 1)),
        ("1'", (1, None)),
        ("90+3", (90, 3)),
        ("HT", (None, None)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_parse_clock(clock: str | None, expected: tuple[int | None, int | None]) -> None:
    assert parse_clock(clock) == expected


# ---- status mapping -----------------------------------------------------------------------


def with_status(name: str, state: str = "in", period: int = 2) -> dict[str, Any]:
    """SYNTHETIC: the real Orlando v Toronto event with another status type."""
    event = real_event("623600")
    status = {**event["status"], "period": period, "type": {"name": name, "state": state}}
    event["status"] = event["competitions"][0]["status"] = status
    return {"events": [event]}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("STATUS_SCHEDULED", S.SCHEDULED),
        ("STATUS_FIRST_HALF", S.FIRST_HALF),
        ("STATUS_HALFTIME", S.HALF_TIME),
        ("STATUS_SECOND_HALF", S.SECOND_HALF),
        ("STATUS_END_OF_REGULATION", S.SECOND_HALF),  # ET or a shoot-out next: not known
        ("STATUS_OVERTIME", S.EXTRA_TIME),
        ("STATUS_EXTRA_TIME", S.EXTRA_TIME),
        ("STATUS_FIRST_HALF_EXTRA_TIME", S.EXTRA_TIME),
        ("STATUS_SECOND_HALF_EXTRA_TIME", S.EXTRA_TIME),
        ("STATUS_HALFTIME_ET", S.EXTRA_TIME),
        ("STATUS_END_OF_EXTRATIME", S.EXTRA_TIME),
        ("STATUS_END_EXTRA_TIME", S.EXTRA_TIME),
        ("STATUS_SHOOTOUT", S.PENALTIES),
        ("STATUS_PENALTY", S.PENALTIES),
        ("STATUS_FULL_TIME", S.FINISHED),
        ("STATUS_FINAL", S.FINISHED),
        ("STATUS_FINAL_AET", S.FINISHED),
        ("STATUS_FINAL_PEN", S.FINISHED),
        ("STATUS_FINAL_ET", S.FINISHED),
        ("STATUS_POSTPONED", S.POSTPONED),
        ("STATUS_CANCELED", S.CANCELLED),
        ("STATUS_ABANDONED", S.ABANDONED),
        ("STATUS_SUSPENDED", S.SUSPENDED),
        ("STATUS_DELAYED", S.SUSPENDED),
        ("STATUS_RAIN_DELAY", S.SUSPENDED),
    ],
)
def test_status_names(name: str, expected: MatchStatus) -> None:
    assert STATUS_NAMES[name] is expected
    assert parse_response(with_status(name))[0].status is expected


@pytest.mark.parametrize(
    ("state", "period", "expected"),
    [
        ("pre", 0, S.SCHEDULED),
        ("in", 1, S.FIRST_HALF),
        ("in", 2, S.SECOND_HALF),
        ("in", 3, S.EXTRA_TIME),
        ("in", 4, S.EXTRA_TIME),
        ("in", 5, S.PENALTIES),
        ("post", 2, S.FINISHED),
        ("weird", 2, S.SCHEDULED),
    ],
)
def test_unknown_status_falls_back_on_state(state: str, period: int, expected: MatchStatus) -> None:
    snap = parse_response(with_status("STATUS_TEST_NEW_NAME", state, period))[0]
    assert snap.status is expected


def test_unknown_status_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="notifier.feeds.espn")
    for _ in range(3):
        parse_response(with_status("STATUS_TEST_LOGGED_ONCE"))
    records = [r for r in caplog.records if r.getMessage() == "unknown_status"]
    assert len(records) == 1
    assert records[0].name == "notifier.feeds.espn"
    fields = (getattr(records[0], "provider", None), getattr(records[0], "value", None))
    assert fields == ("espn", "STATUS_TEST_LOGGED_ONCE")


# ---- synthetic inputs, shaped like the documented fields ----------------------------------


def detail(label: str, clock: str, team: str, player: str, **flags: bool) -> dict[str, Any]:
    """SYNTHETIC: a ``details[]`` item shaped like the recording's."""
    base = dict.fromkeys(
        ("scoringPlay", "redCard", "yellowCard", "penaltyKick", "ownGoal", "shootout"), False
    )
    return {
        "type": {"id": "0", "text": label},
        "clock": {"value": 0, "displayValue": clock},
        "team": {"id": team},
        **base,
        **flags,
        "athletesInvolved": [{"id": "1", "displayName": player, "team": {"id": team}}],
    }


ATL, PHI = "18418", "10739"  # Atlanta United (home), Philadelphia Union (away) in 623599


def final_pen() -> dict[str, Any]:
    """SYNTHETIC: Atlanta v Philadelphia as if it had ended 1-1 and 4-3 on penalties."""
    event = real_event("623599")
    comp = event["competitions"][0]
    status = {"clock": 7200, "displayClock": "120'+2'", "period": 5}
    status["type"] = {"name": "STATUS_FINAL_PEN", "state": "post", "completed": True}
    event["status"] = comp["status"] = status
    home, away = comp["competitors"]
    home.update(score="1", shootoutScore=4, winner=True)
    away.update(score="1", shootoutScore=3, winner=False)
    pen = {"scoringPlay": True, "penaltyKick": True}
    comp["details"] += [
        detail("Goal", "90'+7'", ATL, "Thiago Almada", scoringPlay=True),
        detail("Penalty - Scored", "118'", PHI, "Julián Carranza", **pen),
        detail("Red Card", "119'", PHI, "Jack Elliott", redCard=True),
        detail("Penalty - Missed", "110'", ATL, "Josef Martínez", penaltyKick=True),
    ]
    kickers = [(ATL, "A1"), (PHI, "P1"), (ATL, "A2"), (PHI, "P2"), (ATL, "A3"), (PHI, "P3")]
    for team, name in [*kickers, (ATL, "A4")]:  # ESPN lists scored kicks only
        comp["details"].append(detail("Penalty - Scored", "120'", team, name, **pen, shootout=True))
    return {"leagues": DATA["leagues"], "events": [event]}


def test_synthetic_final_pen_with_shootout_score() -> None:
    (s,) = parse_response(final_pen())
    assert s.status is S.FINISHED
    assert s.score == Score(home=1, away=1)  # the shoot-out is not in the score
    assert s.shootout == Score(home=4, away=3)
    assert s.winner == "home"
    goals = [(g.minute, g.added, g.side, g.player, g.kind) for g in s.goals]
    assert goals == [
        (90, 7, "home", "Thiago Almada", "normal"),
        (118, None, "away", "Julián Carranza", "penalty"),
    ]
    # ESPN lists only the scored kicks: 4 + 3, all scored, in order.
    assert [(k.order, k.side, k.scored) for k in s.shootout_kicks][:3] == [
        (1, "home", True),
        (2, "away", True),
        (3, "home", True),
    ]
    assert len(s.shootout_kicks) == 7 and all(k.scored for k in s.shootout_kicks)
    assert [(r.minute, r.side, r.player) for r in s.red_cards] == [(119, "away", "Jack Elliott")]
    assert [(m.minute, m.side, m.player) for m in s.missed_penalties] == [
        (110, "home", "Josef Martínez")
    ]


def test_synthetic_detail_of_a_third_team_is_rejected() -> None:
    body = final_pen()
    body["events"][0]["competitions"][0]["details"].append(
        detail("Goal", "12'", "999", "Nobody", scoringPlay=True)
    )
    with pytest.raises(FeedParseError):
        parse_response(body)


def summary() -> dict[str, Any]:
    """SYNTHETIC: a ``summary?event=623600`` body built from the real scoreboard event."""
    event = real_event("623600")
    comp = event["competitions"][0]
    details = comp.pop("details")

    def key_event(d: dict[str, Any]) -> dict[str, Any]:
        athletes = [{"athlete": a} for a in d["athletesInvolved"]]
        return {"id": str(d["clock"]["value"]), "type": {"text": d["type"]["text"]},
                "clock": d["clock"], "team": d["team"], "scoringPlay": d["scoringPlay"],
                "shootout": False, "participants": athletes}  # fmt: skip

    def roster(side: str, names: list[str]) -> dict[str, Any]:
        players = [
            {"starter": i < 2, "jersey": str(i + 1), "athlete": {"displayName": n},
             "position": {"abbreviation": "G" if i == 0 else "D"}}
            for i, n in enumerate(names)
        ]  # fmt: skip
        return {"homeAway": side, "formation": "4-4-2", "roster": players}

    kickoff = {"type": {"text": "Kickoff"}, "clock": {"value": 0, "displayValue": "0'"}}
    return {
        "header": {
            "id": "623600",
            "league": {"name": "Major League Soccer", "slug": "usa.1"},
            "competitions": [comp],
        },
        "keyEvents": [kickoff] + [key_event(d) for d in details],
        "rosters": [
            roster("home", ["Pedro Gallese", "Robin Jansson", "Antonio Carlos"]),
            roster("away", ["Alex Bono", "Lukas MacNaughton"]),
        ],
        "commentary": [],
    }


def test_synthetic_summary_gives_one_snapshot() -> None:
    (s,) = parse_response(summary())
    scoreboard = by_id("623600")
    assert (s.match_id, s.status, s.score, s.competition) == (
        "623600",
        S.SECOND_HALF,
        Score(home=3, away=0),
        "Major League Soccer",
    )
    goals = [(g.minute, g.side, g.player, g.kind) for g in s.goals]
    assert goals == [(g.minute, g.side, g.player, g.kind) for g in scoreboard.goals]
    assert s.lineups is not None
    assert [p.name for p in s.lineups.home.start] == ["Pedro Gallese", "Robin Jansson"]
    assert [(p.name, p.number) for p in s.lineups.home.bench] == [("Antonio Carlos", 3)]
    assert s.lineups.away.formation == "4-4-2"


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b"{}", RAW[:1000], b'{"events": [{"id": "1"}]}', b'{"header": {}}'],
)
def test_malformed_bodies_raise_feed_parse_error(body: bytes) -> None:
    with pytest.raises(FeedParseError):
        parse_response(body)


# ---- hypothesis: mutated real recordings never crash ---------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def slim(event: dict[str, Any]) -> dict[str, Any]:
    """The event without the bulky parts the adapter never reads, so mutations hit what it does."""
    event = copy.deepcopy(event)
    event.pop("links", None)
    comp = event["competitions"][0]
    for key in ("headlines", "broadcasts", "geoBroadcasts", "venue"):
        comp.pop(key, None)
    for c in comp["competitors"]:
        for key in ("statistics", "records", "leaders"):
            c.pop(key, None)
        c["team"].pop("links", None)
    for d in comp.get("details", []):
        for a in d["athletesInvolved"]:
            a.pop("links", None)
    return event


SMALL = {"leagues": [{"id": "770", "name": "MLS"}], "events": [slim(real_event("623600"))]}


def check(body: bytes | dict[str, Any]) -> None:
    try:
        snaps = parse_response(body)
    except FeedParseError:
        return
    assert all(isinstance(s, MatchSnapshot) for s in snaps)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(["small", "pen", "summary"]),
    edits=st.lists(st.tuples(st.integers(min_value=0), JSON_VALUES, st.booleans()), max_size=4),
)
def test_mutated_recording_parses_or_raises_feed_parse_error(
    base: str, edits: list[tuple[int, Any, bool]]
) -> None:
    tree: Any = {"small": lambda: copy.deepcopy(SMALL), "pen": final_pen, "summary": summary}[
        base
    ]()
    for index, value, delete in edits:
        all_paths = paths(tree)
        try:
            tree = mutate(tree, all_paths[index % len(all_paths)], value, delete)
        except (KeyError, IndexError, TypeError):
            continue
    check(tree)
    check(json.dumps(tree).encode())


@settings(max_examples=50, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(RAW)), junk=st.binary(max_size=8))
def test_truncated_or_corrupted_bytes(cut: int, junk: bytes) -> None:
    check(RAW[:cut] + junk)


WRONG = [None, True, -1, 1.5, float("nan"), 10**30, "x", "", "٣", [], {}, [1], {"a": 1}]


@pytest.mark.parametrize("base", ["small", "pen"])
def test_every_field_swapped_for_a_wrong_value_or_deleted(base: str) -> None:
    tree = copy.deepcopy(SMALL) if base == "small" else final_pen()
    tree["events"][0] = slim(tree["events"][0])
    for path in paths(tree)[1:]:
        for value in [*WRONG, "DELETE"]:
            check(mutate(copy.deepcopy(tree), path, value, delete=value == "DELETE"))


@pytest.mark.parametrize(
    ("name", "period", "clock"),
    [
        # A match past extra time whose clock stops at 90 (or is stale): 120, so that a poll
        # gap over extra time is still told as extra time.
        ("STATUS_FINAL_AET", 4, (120, None)),
        ("STATUS_FINAL_AET", 2, (120, None)),
        ("STATUS_FULL_TIME", 4, (120, None)),
        # A shoot-out's period (5) follows 90' as well as 120': its clock is read as it is.
        ("STATUS_FINAL_PEN", 5, (57, None)),
        # Straight to penalties after 90 (Leagues Cup group stage): the clock as it is.
        ("STATUS_FINAL_PEN", 2, (57, None)),
        ("STATUS_FULL_TIME", 2, (57, None)),
    ],
)
def test_a_match_past_extra_time_shows_120(
    name: str, period: int, clock: tuple[int | None, int | None]
) -> None:
    (s,) = parse_response(with_status(name, "post", period))
    assert (s.minute, s.added) == clock
