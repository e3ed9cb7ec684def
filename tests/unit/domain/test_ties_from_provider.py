"""Ties from the provider and fixture discovery: pure linking of legs, what the job follows."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from notifier.domain.models import MatchSnapshot, MatchStatus, Score
from notifier.domain.tie import TieRules
from notifier.domain.tielink import link_legs, stage_key, tie_spec
from notifier.feeds.api_football.parse import parse_fixture
from notifier.feeds.discovery import discovery_request, plan_follow, wanted
from notifier.feeds.football_data.parse import parse_match
from notifier.feeds.registry import parse
from notifier.settings import FollowSettings
from tests.recordings import REAL

FD = REAL / "football-data/v4-teams-65-matches-PL-CL-2023-24-snapshot-2023-12-28.json"
AF = REAL / "api-football/euro2024-spain-croatia-1145511-fixture-full.json"
NOW = datetime(2024, 2, 20, 12, 0, tzinfo=UTC)


def fd_matches() -> list[dict[str, Any]]:
    data: dict[str, Any] = orjson.loads(FD.read_bytes())
    return list(data["matches"])


def fd_with_first_leg_played(home: int, away: int) -> list[MatchSnapshot]:
    """The recording, with the LAST_16 first leg (København v Man City) finished."""
    matches = fd_matches()
    first = next(m for m in matches if m["id"] == 451663)
    first["status"] = "FINISHED"
    first["score"] = {
        "winner": "AWAY_TEAM" if away > home else "HOME_TEAM",
        "duration": "REGULAR",
        "fullTime": {"home": home, "away": away},
        "halfTime": {"home": 0, "away": 1},
    }
    return [parse_match(m) for m in matches]


def test_the_recorded_last_16_legs_are_linked_but_not_yet_a_tie() -> None:
    snaps = parse("football-data", FD.read_bytes())
    [legs] = link_legs(snaps)
    assert (legs.first.match_id, legs.second.match_id) == ("451663", "451671")
    assert (legs.first.leg, legs.second.leg, legs.first.stage) == (1, 2, "LAST_16")
    assert tie_spec(legs) is None, "the first leg is still to be played"


def test_league_home_and_away_matches_are_no_tie() -> None:
    snaps = [s for s in parse("football-data", FD.read_bytes()) if s.stage == "REGULAR_SEASON"]
    assert link_legs(snaps) == []


def test_a_finished_first_leg_makes_the_tie() -> None:
    [legs] = link_legs(fd_with_first_leg_played(1, 3))
    spec = tie_spec(legs, TieRules(away_goals=False), "the quarter-finals")
    assert spec is not None
    assert spec.id == "football-data:451663-451671"
    assert (spec.first_leg.home, spec.first_leg.away) == ("FC København", "Manchester City FC")
    assert spec.first_leg.score == Score(home=1, away=3)
    assert spec.second_leg == "football-data:451671"
    assert spec.next_round == "the quarter-finals"


def api_football_leg(round_: str, home: dict[str, Any], away: dict[str, Any], **kw: Any) -> Any:
    data: dict[str, Any] = orjson.loads(AF.read_bytes())
    item = copy.deepcopy(data["response"][0])
    item["league"]["round"] = round_
    item["teams"] = {"home": {**home, "winner": None}, "away": {**away, "winner": None}}
    item["fixture"]["id"] = kw.get("id", item["fixture"]["id"])
    item["events"], item["lineups"] = [], []
    item["goals"] = kw.get("goals", item["goals"])
    item["fixture"]["status"] = kw.get("status", item["fixture"]["status"])
    return item


def test_api_football_rounds_name_the_legs() -> None:
    spain, croatia = {"id": 9, "name": "Spain"}, {"id": 3, "name": "Croatia"}
    first = api_football_leg("Round of 16 - 1st Leg", spain, croatia, id=1)
    second = api_football_leg(
        "Round of 16 - 2nd Leg",
        croatia,
        spain,
        id=2,
        goals={"home": None, "away": None},
        status={"short": "NS", "elapsed": None},
    )
    snaps = [parse_fixture(first), parse_fixture(second)]
    assert stage_key(snaps[0]) == stage_key(snaps[1]) == "round of 16"
    [legs] = link_legs(list(reversed(snaps)))
    spec = tie_spec(legs)
    assert spec is not None and spec.first_leg.score == Score(home=3, away=0)
    assert spec.id == "api-football:1-2" and spec.second_leg == "api-football:2"


def test_same_stage_but_other_teams_is_no_tie() -> None:
    spain, croatia, italy = (
        {"id": 9, "name": "Spain"},
        {"id": 3, "name": "Croatia"},
        {"id": 768, "name": "Italy"},
    )
    first = parse_fixture(api_football_leg("Semi-finals - 1st Leg", spain, croatia, id=1))
    second = parse_fixture(api_football_leg("Semi-finals - 2nd Leg", italy, spain, id=2))
    assert link_legs([first, second]) == []


@pytest.mark.parametrize(
    ("spec", "path", "params"),
    [
        (
            FollowSettings(provider="api-football", league="2", season=2023, days_back=7),
            "/fixtures",
            (("league", "2"), ("season", "2023"), ("from", "2024-02-13"), ("to", "2024-02-27")),
        ),
        (
            FollowSettings(provider="football-data", league="CL", days_back=7),
            "/v4/competitions/CL/matches",
            (("dateFrom", "2024-02-13"), ("dateTo", "2024-02-27")),
        ),
        (
            FollowSettings(provider="espn", league="usa.1", days_back=1, days_ahead=1),
            "/apis/site/v2/sports/soccer/usa.1/scoreboard",
            (("dates", "20240219-20240221"),),
        ),
    ],
)
def test_discovery_request(spec: FollowSettings, path: str, params: tuple[Any, ...]) -> None:
    request = discovery_request(spec, NOW)
    assert (request.path, request.params) == (path, params)


def test_follow_the_chosen_team_with_its_tie() -> None:
    spec = FollowSettings(provider="football-data", league="CL", teams=["København"])
    snaps = fd_with_first_leg_played(1, 3)
    found = plan_follow(spec, snaps)
    assert [w.match_id for w in found.watches] == ["451671"], "only the leg still to play"
    [watch] = found.watches
    assert watch.tie == "football-data:451663-451671"
    assert watch.kickoff == datetime(2024, 3, 6, 20, 0, tzinfo=UTC)
    assert [t.id for t in found.ties] == [watch.tie]


def test_follow_every_team_skips_played_and_postponed_matches() -> None:
    spec = FollowSettings(provider="football-data", league="PL")
    found = plan_follow(spec, parse("football-data", FD.read_bytes()))
    assert len(found.watches) == 21  # 46 matches: 24 played, 1 postponed
    assert all(w.tie is None for w in found.watches)
    postponed = next(s for s in parse("football-data", FD.read_bytes()) if s.match_id == "436118")
    assert postponed.status is MatchStatus.POSTPONED
    assert "436118" not in {w.match_id for w in found.watches}


def test_teams_match_by_name_or_id() -> None:
    [snap] = parse("football-data", FD.read_bytes(), "451671")

    def follows(*teams: str) -> FollowSettings:
        return FollowSettings(provider="football-data", league="CL", teams=list(teams))

    assert wanted(follows("1876"), snap) and wanted(follows("manchester city"), snap)
    assert not wanted(
        FollowSettings(provider="football-data", league="CL", teams=["Arsenal"]), snap
    )
