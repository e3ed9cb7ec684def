"""The provider registry's parse and the public JSON form printed by ``notifier feed parse``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notifier.feeds.base import snapshot_json
from notifier.feeds.registry import PROVIDERS, parse
from tests.recordings import ESPN_MLS, FD_MAN_CITY, SPAIN_CROATIA, read

ESPN = ESPN_MLS
FOOTBALL_DATA = FD_MAN_CITY
API_FOOTBALL = SPAIN_CROATIA


def test_registry_names_the_three_providers() -> None:
    assert set(PROVIDERS) == {"api-football", "football-data", "espn"}


def test_unknown_provider_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="api-football, espn, football-data"):
        parse("opta", read(ESPN))


@pytest.mark.parametrize(
    ("provider", "body", "match", "count"),
    [
        ("espn", ESPN, None, 11),
        ("espn", ESPN, "623600", 1),
        ("espn", ESPN, "999", 0),
        ("football-data", FOOTBALL_DATA, None, 46),
        ("football-data", FOOTBALL_DATA, "451671", 1),
        ("api-football", API_FOOTBALL, "1145511", 1),
    ],
)
def test_parse_filters_by_match(provider: str, body: Path, match: str | None, count: int) -> None:
    snaps = parse(provider, read(body), match)
    assert len(snaps) == count
    assert all(s.provider == provider for s in snaps)
    assert match is None or all(s.match_id == match for s in snaps)


def test_snapshot_json_of_the_espn_own_goal_match() -> None:
    (snap,) = parse("espn", read(ESPN), "623600")
    out = snapshot_json(snap)
    assert json.loads(json.dumps(out)) == out  # plain JSON types only
    assert {k: out[k] for k in ("provider", "match_id", "status", "home", "away")} == {
        "provider": "espn",
        "match_id": "623600",
        "status": "second_half",
        "home": "Orlando City SC",
        "away": "Toronto FC",
    }
    assert out["score"] == {"home": 3, "away": 0}
    assert (out["shootout"], out["winner"], out["lineups"], out["red_cards"]) == (
        None,
        None,
        None,
        [],
    )
    assert out["goals"][2] == {
        "minute": 47,
        "added": None,
        "side": "home",
        "player": "Lukas MacNaughton",
        "assist": None,
        "kind": "own_goal",
    }
    assert (out["competition"], out["minute"], out["kickoff"]) == (
        "Major League Soccer",
        57,
        "2022-09-17T23:30:00+00:00",
    )


def test_snapshot_json_of_a_football_data_leg() -> None:
    (snap,) = parse("football-data", read(FOOTBALL_DATA), "451663")
    out = snapshot_json(snap)
    assert (out["stage"], out["leg"], out["status"]) == ("LAST_16", 1, "scheduled")
    assert (out["home"], out["away"]) == ("FC København", "Manchester City FC")
    assert out["updated_at"] == "2023-12-28T05:21:20+00:00"
