"""football-data.org v4 adapter, checked against values read off the real recording by hand."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.domain.models import MatchSnapshot, MatchStatus, Score
from notifier.errors import EnvelopeError, FeedParseError
from notifier.feeds.football_data.parse import parse_response
from tests import recordings
from tests.unit.jsontree import mutate, paths

REAL = recordings.REAL / "football-data"
TEAM_65 = REAL / "v4-teams-65-matches-PL-CL-2023-24-snapshot-2023-12-28.json"
RAW = TEAM_65.read_bytes()
DATA: dict[str, Any] = json.loads(RAW)


def by_id(match_id: str) -> MatchSnapshot:
    """The snapshot of one match of the Man City recording."""
    return next(s for s in parse_response(RAW) if s.match_id == match_id)


def real_match(match_id: int) -> dict[str, Any]:
    """A deep copy of one raw match object of the recording, to reshape into other cases."""
    return copy.deepcopy(next(m for m in DATA["matches"] if m["id"] == match_id))


# ---- the real recording -------------------------------------------------------------------


def test_every_match_of_the_recording_is_parsed() -> None:
    snaps = parse_response(RAW)
    assert len(snaps) == 46  # resultSet.count
    assert {s.provider for s in snaps} == {"football-data"}
    assert len({s.match_id for s in snaps}) == 46


def test_statuses_counted() -> None:
    # FINISHED 24, TIMED 10 + SCHEDULED 11 (both "scheduled"), POSTPONED 1.
    counts = Counter(s.status for s in parse_response(RAW))
    assert counts == {
        MatchStatus.FINISHED: 24,
        MatchStatus.SCHEDULED: 21,
        MatchStatus.POSTPONED: 1,
    }


@pytest.mark.parametrize(
    ("match_id", "home", "away", "score", "winner"),
    [
        ("435943", "Burnley FC", "Manchester City FC", (0, 3), "away"),
        ("435958", "Manchester City FC", "Newcastle United FC", (1, 0), "home"),
        ("436013", "Arsenal FC", "Manchester City FC", (1, 0), "home"),
        ("436057", "Chelsea FC", "Manchester City FC", (4, 4), None),  # DRAW
        ("436048", "Manchester City FC", "AFC Bournemouth", (6, 1), "home"),
        ("451643", "Manchester City FC", "RB Leipzig", (3, 2), "home"),
        ("451639", "FK Crvena Zvezda", "Manchester City FC", (2, 3), "away"),
        ("436129", "Everton FC", "Manchester City FC", (1, 3), "away"),
    ],
)
def test_finished_scores_and_winners(
    match_id: str, home: str, away: str, score: tuple[int, int], winner: str | None
) -> None:
    s = by_id(match_id)
    assert s.status is MatchStatus.FINISHED
    assert (s.home.name, s.away.name) == (home, away)
    assert (s.score.home, s.score.away) == score
    assert s.winner == winner
    assert s.shootout is None


@pytest.mark.parametrize(
    ("match_id", "home", "away", "kickoff", "leg"),
    [
        ("451663", "FC København", "Manchester City FC", datetime(2024, 2, 13, 20, tzinfo=UTC), 1),
        ("451671", "Manchester City FC", "FC København", datetime(2024, 3, 6, 20, tzinfo=UTC), 2),
    ],
)
def test_champions_league_last_16_legs(
    match_id: str, home: str, away: str, kickoff: datetime, leg: int
) -> None:
    s = by_id(match_id)
    assert s.status is MatchStatus.SCHEDULED  # TIMED
    assert (s.home.name, s.away.name) == (home, away)
    assert {s.home.id, s.away.id} == {"65", "1876"}
    assert s.competition == "UEFA Champions League"
    assert s.stage == "LAST_16"
    assert s.leg == leg
    assert s.kickoff == kickoff
    assert s.score == Score() and s.winner is None


@pytest.mark.parametrize(
    ("match_id", "stage"),
    [("435943", "REGULAR_SEASON"), ("451640", "GROUP_STAGE"), ("451636", "GROUP_STAGE")],
)
def test_matchday_is_no_leg_outside_knockout_stages(match_id: str, stage: str) -> None:
    s = by_id(match_id)
    assert s.stage == stage
    assert s.leg is None


def test_postponed_and_date_only_scheduled() -> None:
    postponed = by_id("436118")  # Man City v Brentford, 2023-12-23, POSTPONED
    assert postponed.status is MatchStatus.POSTPONED
    assert postponed.score == Score() and postponed.winner is None
    date_only = by_id("436208")  # SCHEDULED: the day is known, the time is not (midnight)
    assert date_only.status is MatchStatus.SCHEDULED
    assert date_only.kickoff == datetime(2024, 3, 2, tzinfo=UTC)


def test_times_are_utc_and_free_tier_has_no_detail() -> None:
    for s in parse_response(RAW):
        assert s.kickoff is not None and s.kickoff.utcoffset() is not None
        assert s.updated_at is not None and s.updated_at.tzinfo is not None
        assert s.goals == () and s.red_cards == () and s.lineups is None
    assert by_id("435943").updated_at == datetime(2023, 12, 28, 5, 21, 21, tzinfo=UTC)
    assert by_id("435943").competition == "Premier League"


# ---- response shapes ----------------------------------------------------------------------


def test_single_match_bare_or_wrapped_and_empty_list() -> None:
    match = real_match(435943)
    bare = parse_response(json.dumps(match).encode())
    wrapped = parse_response({"match": match})
    assert bare == wrapped == [by_id("435943")]
    assert parse_response(b'{"filters": {}, "resultSet": {"count": 0}, "matches": []}') == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b"{not json",
        RAW[: len(RAW) // 2],
        b'{"matches": [1, 2]}',
        b'{"matches": {"id": 1}}',
    ],
)
def test_malformed_bodies_raise_feed_parse_error(body: bytes) -> None:
    with pytest.raises(FeedParseError):
        parse_response(body)


def test_error_document_is_an_envelope_error_with_its_code() -> None:
    body = b'{"message": "You reached your request limit.", "errorCode": 429}'
    with pytest.raises(EnvelopeError, match="request limit") as caught:
        parse_response(body)
    assert not isinstance(caught.value, FeedParseError)
    assert caught.value.status == 429 and caught.value.payload == body


# ---- synthetic inputs, shaped like the documented fields ----------------------------------


def synthetic(status: str, score: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """SYNTHETIC: the real København v Man City leg 1 with another status, score and fields."""
    match = real_match(451663)
    match.update(status=status, score={"winner": None, "duration": "REGULAR", **score}, **fields)
    return match


def test_synthetic_penalty_shootout_never_counts_kicks() -> None:
    match = synthetic(
        "FINISHED",
        {
            "winner": "HOME_TEAM",
            "duration": "PENALTY_SHOOTOUT",
            "fullTime": {"home": 7, "away": 6},
            "halfTime": {"home": 1, "away": 0},
            "regularTime": {"home": 1, "away": 1},
            "extraTime": {"home": 0, "away": 0},
            "penalties": {"home": 6, "away": 5},
        },
    )
    (s,) = parse_response(match)
    assert s.status is MatchStatus.FINISHED
    assert s.score == Score(home=1, away=1)
    assert s.shootout == Score(home=6, away=5)
    assert s.winner == "home"
    del match["score"]["regularTime"], match["score"]["extraTime"]  # fullTime - penalties
    assert parse_response(match)[0].score == Score(home=1, away=1)


def test_synthetic_extra_time_goals_count() -> None:
    score = {
        "duration": "EXTRA_TIME",
        "fullTime": {"home": 2, "away": 1},
        "halfTime": {"home": 0, "away": 0},
        "regularTime": {"home": 1, "away": 1},
        "extraTime": {"home": 1, "away": 0},
    }
    (s,) = parse_response(synthetic("IN_PLAY", score, minute=104))
    assert s.status is MatchStatus.EXTRA_TIME
    assert s.score == Score(home=2, away=1) and s.shootout is None and s.winner is None


HT = {"home": 1, "away": 0}


@pytest.mark.parametrize(
    ("status", "duration", "minute", "half_time", "expected"),
    [
        ("IN_PLAY", "REGULAR", 12, None, MatchStatus.FIRST_HALF),
        ("IN_PLAY", "REGULAR", None, None, MatchStatus.FIRST_HALF),
        ("IN_PLAY", "REGULAR", 45, None, MatchStatus.FIRST_HALF),
        ("IN_PLAY", "REGULAR", 46, None, MatchStatus.SECOND_HALF),
        ("IN_PLAY", "REGULAR", None, HT, MatchStatus.SECOND_HALF),
        ("IN_PLAY", "EXTRA_TIME", 95, HT, MatchStatus.EXTRA_TIME),
        ("IN_PLAY", "PENALTY_SHOOTOUT", 120, HT, MatchStatus.PENALTIES),
        ("PAUSED", "REGULAR", 45, HT, MatchStatus.HALF_TIME),
        ("PAUSED", "REGULAR", 90, HT, MatchStatus.SECOND_HALF),  # ET or pens next: not known
        ("PAUSED", "EXTRA_TIME", 105, HT, MatchStatus.EXTRA_TIME),
        ("PAUSED", "PENALTY_SHOOTOUT", 120, HT, MatchStatus.PENALTIES),
        ("LIVE", "REGULAR", 30, None, MatchStatus.FIRST_HALF),
        ("FINISHED", "REGULAR", None, HT, MatchStatus.FINISHED),
        ("AWARDED", "REGULAR", None, None, MatchStatus.FINISHED),
        ("SUSPENDED", "REGULAR", 60, HT, MatchStatus.SUSPENDED),
        ("CANCELLED", "REGULAR", None, None, MatchStatus.CANCELLED),
        ("TIMED", "REGULAR", None, None, MatchStatus.SCHEDULED),
        ("SOMETHING_NEW", "REGULAR", None, None, MatchStatus.SCHEDULED),
    ],
)
def test_synthetic_status_mapping(
    status: str, duration: str, minute: int | None, half_time: Any, expected: MatchStatus
) -> None:
    score = {"duration": duration, "fullTime": HT if half_time else None, "halfTime": half_time}
    (s,) = parse_response(synthetic(status, score, minute=minute))
    assert s.status is expected


def test_synthetic_winner_only_once_finished() -> None:
    score = {"winner": "HOME_TEAM", "fullTime": {"home": 1, "away": 0}, "halfTime": HT}
    assert parse_response(synthetic("IN_PLAY", score, minute=70))[0].winner is None
    assert parse_response(synthetic("FINISHED", score))[0].winner == "home"


def person(name: str) -> dict[str, Any]:
    return {"id": sum(map(ord, name)), "name": name}


KOB = {"id": 1876, "name": "FC København"}
MCI = {"id": 65, "name": "Manchester City FC"}


def paid_tier() -> dict[str, Any]:
    """SYNTHETIC: København 1-2 Man City with goals, bookings and lineups (paid-tier fields)."""
    score = {"winner": "AWAY_TEAM", "fullTime": {"home": 1, "away": 2}, "halfTime": HT}
    goal = {"assist": None, "injuryTime": None}
    goals = [
        {**goal, "minute": 10, "type": "REGULAR", "team": KOB, "scorer": person("Elyounoussi"),
         "assist": person("Claesson"), "score": {"home": 1, "away": 0}},
        {**goal, "minute": 45, "injuryTime": 2, "type": "PENALTY", "team": MCI,
         "scorer": person("Haaland"), "score": {"home": 1, "away": 1}},
        # An own goal by a København player: the running score says Man City got it.
        {**goal, "minute": 88, "type": "OWN", "team": KOB, "scorer": person("Vavro"),
         "score": {"home": 1, "away": 2}},
    ]  # fmt: skip
    bookings = [
        {"minute": 30, "team": KOB, "player": person("Lerager"), "card": "YELLOW"},
        {"minute": 75, "team": KOB, "player": person("Lerager"), "card": "YELLOW_RED"},
        {"minute": 90, "injuryTime": 4, "team": MCI, "player": person("Rodri"), "card": "RED"},
    ]
    match = synthetic("FINISHED", score, goals=goals, bookings=bookings)
    match["awayTeam"].update(
        formation="4-3-3",
        coach={"id": 1, "name": "Pep Guardiola"},
        lineup=[{"id": 1, "name": "Ederson", "position": "Goalkeeper", "shirtNumber": 31}],
        bench=[{"id": 2, "name": "Ortega", "position": "Goalkeeper", "shirtNumber": 18}],
    )
    return match


def test_synthetic_paid_tier_goals_cards_lineups() -> None:
    (s,) = parse_response(paid_tier())
    got = [(g.minute, g.added, g.side, g.player, g.assist, g.kind) for g in s.goals]
    assert got == [
        (10, None, "home", "Elyounoussi", "Claesson", "normal"),
        (45, 2, "away", "Haaland", None, "penalty"),
        (88, None, "away", "Vavro", None, "own_goal"),
    ]
    reds = [(r.minute, r.added, r.side, r.player, r.detail) for r in s.red_cards]
    assert reds == [(75, None, "home", "Lerager", "YELLOW_RED"), (90, 4, "away", "Rodri", "RED")]
    assert s.lineups is not None
    assert s.lineups.away.formation == "4-3-3" and s.lineups.away.coach == "Pep Guardiola"
    assert [(p.name, p.number) for p in s.lineups.away.start] == [("Ederson", 31)]
    assert [p.name for p in s.lineups.away.bench] == ["Ortega"]
    assert s.lineups.home.start == ()


def test_synthetic_own_goal_without_running_score_follows_team() -> None:
    match = paid_tier()
    for g in match["goals"]:
        del g["score"]
    assert [g.side for g in parse_response(match)[0].goals] == ["home", "away", "home"]


def test_synthetic_goal_of_a_third_team_is_rejected() -> None:
    match = paid_tier()
    match["goals"][0]["team"] = {"id": 999, "name": "Somebody else"}
    with pytest.raises(FeedParseError):
        parse_response(match)


# ---- hypothesis: mutated real recordings never crash ---------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def check(body: bytes | dict[str, Any]) -> None:
    try:
        snaps = parse_response(body)
    except FeedParseError:
        return
    assert all(isinstance(s, MatchSnapshot) for s in snaps)


SMALL = {"matches": [real_match(i) for i in (435943, 436118, 451663)]}
SMALL_PATHS = paths(SMALL)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(SMALL_PATHS), JSON_VALUES, st.booleans()), min_size=1, max_size=4
    )
)
def test_mutated_recording_parses_or_raises_feed_parse_error(
    edits: list[tuple[tuple[Any, ...], Any, bool]],
) -> None:
    tree = copy.deepcopy(SMALL)
    for path, value, delete in edits:
        try:
            tree = mutate(tree, path, value, delete)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this path
    check(tree)
    check(json.dumps(tree).encode())


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(RAW)), junk=st.binary(max_size=8))
def test_truncated_or_corrupted_bytes(cut: int, junk: bytes) -> None:
    check(RAW[:cut] + junk)


WRONG = [None, True, -1, 1.5, float("nan"), 10**30, "x", "", "٣", [], {}, [1], {"a": 1}]


@pytest.mark.parametrize("tree", [SMALL, paid_tier()], ids=["free", "paid"])
def test_every_field_swapped_for_a_wrong_value_or_deleted(tree: dict[str, Any]) -> None:
    for path in paths(tree)[1:]:
        for value in [*WRONG, "DELETE"]:
            check(mutate(copy.deepcopy(tree), path, value, delete=value == "DELETE"))
