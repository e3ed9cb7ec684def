"""Which teams a name means (pure): an id, else an exact name (short name, code), else every
team whose name contains it; accents and case do not matter."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from notifier.feeds.catalog import TeamInfo, distinct, fold, matching
from notifier.feeds.espn.catalog import parse_teams

TEAMS = [
    TeamInfo("espn", "9720", "CF Montréal", league="usa.1", aliases=("MTL",)),
    TeamInfo("espn", "17606", "New York City FC", league="usa.1", aliases=("NYC",)),
    TeamInfo("espn", "190", "New York Red Bulls", league="usa.1", aliases=("NY",)),
    TeamInfo("espn", "17606", "New York City FC", league="usa.open"),
]


def test_exact_names_win_over_parts() -> None:
    assert [t.id for t in distinct(matching("new york", TEAMS))] == ["17606", "190"]
    assert {t.id for t in matching("NY", TEAMS)} == {"190"}, "a code, exactly"
    assert [t.league for t in matching("New York City FC", TEAMS)] == ["usa.1", "usa.open"]
    assert [t.id for t in matching("montreal", TEAMS)] == ["9720"]
    assert matching("Arsenal", TEAMS) == []


@given(st.sampled_from(TEAMS))
def test_an_id_means_that_team(team: TeamInfo) -> None:
    assert {t.id for t in matching(team.id, TEAMS)} == {team.id}


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


def test_espn_teams_shape() -> None:
    body = {
        "sports": [
            {
                "leagues": [
                    {
                        "slug": "eng.1",
                        "name": "English Premier League",
                        "teams": [
                            {
                                "team": {
                                    "id": "359",
                                    "displayName": "Arsenal",
                                    "abbreviation": "ARS",
                                }
                            },
                            {"team": {"displayName": "no id"}},
                        ],
                    }
                ]
            }
        ]
    }
    [arsenal] = parse_teams(body, "eng.1")
    assert (arsenal.id, arsenal.name, arsenal.league_name, arsenal.aliases) == (
        "359",
        "Arsenal",
        "English Premier League",
        ("ARS",),
    )
