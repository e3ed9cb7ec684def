"""``notifier feed parse`` on every real recording, against what a person reads off the files.

The expected values below were read off the raw JSON (status names, competitor scores, the
scoring details and their clocks, lineups), not off the adapters' output.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.recordings import REAL
from workers.cli.main import main

ESPN = REAL / "espn/mls-scoreboard-2022-09-17-live-mixed.json"
FD = REAL / "football-data/v4-teams-65-matches-PL-CL-2023-24-snapshot-2023-12-28.json"
SPAIN_CROATIA = REAL / "api-football/euro2024-spain-croatia-1145511-fixture-full.json"
TURKIYE_PORTUGAL = REAL / "api-football/euro2024-turkiye-portugal-1145526-fixture-full.json"


def feed_parse(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main(["feed", "parse", *args]) == 0
    return json.loads(capsys.readouterr().out)


def goals(snap: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(g["minute"], g["added"], g["side"], g["player"], g["kind"]) for g in snap["goals"]]


# id: status, minute, added, home, away, score, winner, goals
ESPN_EXPECTED: dict[str, tuple[Any, ...]] = {
    "623597": ("finished", 90, 5, "New York City FC", "New York Red Bulls", (2, 0), "home",
               [(1, None, "home", "Alexander Callens", "normal"),
                (23, None, "home", "Santiago Rodríguez", "normal")]),
    "623599": ("finished", 90, 8, "Atlanta United FC", "Philadelphia Union", (0, 0), None, []),
    "623601": ("second_half", 58, None, "New England Revolution", "CF Montréal", (0, 0), None,
               []),
    "623600": ("second_half", 57, None, "Orlando City SC", "Toronto FC", (3, 0), None,
               [(9, None, "home", "Facundo Torres", "normal"),
                (22, None, "home", "Ercan Kara", "normal"),
                (47, None, "home", "Lukas MacNaughton", "own_goal")]),
    "623602": ("first_half", 45, None, "Chicago Fire FC", "Charlotte FC", (2, 0), None,
               [(3, None, "home", "Mauricio Pineda", "normal"),
                (30, None, "home", "Jhon Durán", "normal")]),
    "623603": ("first_half", 13, None, "Sporting Kansas City", "Minnesota United FC", (0, 0),
               None, []),
    "623604": ("scheduled", None, None, "Austin FC", "Nashville SC", (0, 0), None, []),
    "623605": ("scheduled", None, None, "Real Salt Lake", "FC Cincinnati", (0, 0), None, []),
    "623606": ("scheduled", None, None, "Vancouver Whitecaps", "Seattle Sounders FC", (0, 0),
               None, []),
    "623607": ("scheduled", None, None, "LA Galaxy", "Colorado Rapids", (0, 0), None, []),
    "623598": ("scheduled", None, None, "San Jose Earthquakes", "FC Dallas", (0, 0), None, []),
}  # fmt: skip


def test_espn_scoreboard(capsys: pytest.CaptureFixture[str]) -> None:
    out = feed_parse(capsys, "--provider", "espn", str(ESPN))
    assert [s["match_id"] for s in out] == list(ESPN_EXPECTED)
    for s in out:
        status, minute, added, home, away, score, winner, scored = ESPN_EXPECTED[s["match_id"]]
        assert (s["status"], s["minute"], s["added"], s["home"], s["away"]) == (
            status,
            minute,
            added,
            home,
            away,
        ), s["match_id"]
        assert (s["score"]["home"], s["score"]["away"]) == score
        assert (s["winner"], s["shootout"], s["red_cards"], s["lineups"]) == (
            winner,
            None,
            [],
            None,
        )
        assert goals(s) == scored, s["match_id"]
        assert s["competition"] == "Major League Soccer" and s["provider"] == "espn"


def test_espn_one_match(capsys: pytest.CaptureFixture[str]) -> None:
    out = feed_parse(capsys, "--provider", "espn", str(ESPN), "--match", "623602")
    assert isinstance(out, dict) and out["match_id"] == "623602"
    assert out["kickoff"] == "2022-09-18T00:00:00+00:00"


def test_football_data_team_matches(capsys: pytest.CaptureFixture[str]) -> None:
    out = feed_parse(capsys, "--provider", "football-data", str(FD))
    assert len(out) == 46
    # 24 FINISHED, 11 SCHEDULED + 10 TIMED, 1 POSTPONED.
    assert Counter(s["status"] for s in out) == {"finished": 24, "scheduled": 21, "postponed": 1}
    assert all(s["goals"] == [] and s["lineups"] is None for s in out), "free tier: none"
    assert all(s["shootout"] is None for s in out)
    by_id = {s["match_id"]: s for s in out}
    rows = {
        "435943": ("finished", "Burnley FC", "Manchester City FC", (0, 3), "away"),
        "436057": ("finished", "Chelsea FC", "Manchester City FC", (4, 4), None),
        "436118": ("postponed", "Manchester City FC", "Brentford FC", (0, 0), None),
        "436138": ("scheduled", "Manchester City FC", "Sheffield United FC", (0, 0), None),
    }
    for match_id, (status, home, away, score, winner) in rows.items():
        s = by_id[match_id]
        assert (s["status"], s["home"], s["away"], s["winner"]) == (status, home, away, winner)
        assert (s["score"]["home"], s["score"]["away"]) == score
    first, second = by_id["451663"], by_id["451671"]
    assert (first["stage"], first["leg"], first["home"]) == ("LAST_16", 1, "FC København")
    assert (second["stage"], second["leg"], second["home"]) == ("LAST_16", 2, "Manchester City FC")
    assert second["kickoff"] == "2024-03-06T20:00:00+00:00"
    assert by_id["435943"]["leg"] is None, "a league matchday is no leg"


def test_api_football_spain_croatia(capsys: pytest.CaptureFixture[str]) -> None:
    s = feed_parse(capsys, "--provider", "api-football", str(SPAIN_CROATIA), "--match", "1145511")
    assert (s["status"], s["home"], s["away"], s["winner"]) == (
        "finished",
        "Spain",
        "Croatia",
        "home",
    )
    assert (s["score"], s["shootout"]) == ({"home": 3, "away": 0}, None)
    assert s["kickoff"] == "2024-06-15T16:00:00+00:00"  # 01:00 on the 16th in Seoul
    assert (s["minute"], s["competition"], s["stage"]) == (90, "Euro Championship", "Group B - 1")
    assert goals(s) == [
        (29, None, "home", "Álvaro Morata", "normal"),
        (32, None, "home", "Fabián Ruiz", "normal"),
        (45, 2, "home", "Dani Carvajal", "normal"),
    ]
    assert [g["assist"] for g in s["goals"]] == ["Fabián Ruiz", "Pedri", "Lamine Yamal"]
    assert [(c["minute"], c["side"], c["player"]) for c in s["cancelled_goals"]] == [
        (81, "away", "Bruno Petković")
    ]
    assert s["red_cards"] == []
    lineups = s["lineups"]
    assert (lineups["home"]["formation"], lineups["home"]["coach"]) == (
        "4-3-3",
        "Luis de la Fuente",
    )
    assert (len(lineups["home"]["start"]), len(lineups["home"]["bench"])) == (11, 15)
    assert lineups["home"]["start"][0]["name"] == "Unai Simón"
    assert (lineups["away"]["formation"], lineups["away"]["coach"]) == ("4-3-3", "Z. Dalić")


def test_api_football_turkiye_portugal_own_goal(capsys: pytest.CaptureFixture[str]) -> None:
    [s] = feed_parse(capsys, "--provider", "api-football", str(TURKIYE_PORTUGAL))
    assert (s["home"], s["away"], s["score"], s["winner"]) == (
        "Türkiye",
        "Portugal",
        {"home": 0, "away": 3},
        "away",
    )
    assert goals(s) == [
        (21, None, "away", "B. Silva", "normal"),
        (28, None, "away", "S. Akaydin", "own_goal"),  # listed under Portugal, who benefit
        (56, None, "away", "B. Fernandes", "normal"),
    ]
    assert s["cancelled_goals"] == [] and s["red_cards"] == []
    assert (s["lineups"]["home"]["formation"], len(s["lineups"]["home"]["bench"])) == (
        "4-2-3-1",
        13,
    )


def test_unknown_match_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feed", "parse", "--provider", "espn", str(ESPN), "--match", "1"]) == 1
    assert json.loads(capsys.readouterr().out) == []


def test_wrong_provider_for_the_file_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feed", "parse", "--provider", "api-football", str(ESPN)]) == 2
    assert "response" in capsys.readouterr().err
