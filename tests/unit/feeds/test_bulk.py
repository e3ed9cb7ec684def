"""Bulk polling plans and answers: few requests for many matches; one bad item costs one match."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.domain.models import MatchStatus
from notifier.domain.watch import Watch
from notifier.errors import FeedError
from notifier.feeds.bulk import Due, Item
from notifier.feeds.registry import get
from notifier.feeds.requests import Request
from notifier.settings import ApiFootballSettings, EspnSettings, FootballDataSettings
from tests.recordings import REAL

ESPN = REAL / "espn/mls-scoreboard-2022-09-17-live-mixed.json"
FD = REAL / "football-data/v4-teams-65-matches-PL-CL-2023-24-snapshot-2023-12-28.json"
AF = REAL / "api-football/euro2024-spain-croatia-1145511-fixture-full.json"
S = MatchStatus


def due(provider: str, n: int, status: MatchStatus | None = None, **kw: Any) -> list[Due]:
    return [Due(Watch(provider=provider, match_id=str(1000 + i), **kw), status) for i in range(n)]


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data


@given(st.integers(1, 200))
def test_api_football_asks_twenty_ids_a_request(n: int) -> None:
    planned = get("api-football").plan(due("api-football", n), ApiFootballSettings())
    assert len(planned) == -(-n // 20)
    covered = [m for p in planned for m in p.matches]
    assert covered == [str(1000 + i) for i in range(n)]
    for p in planned:
        [(name, value)] = p.request.params
        assert p.request.path == "/fixtures" and name == "ids"
        assert value.split("-") == list(p.matches) and len(p.matches) <= 20


def test_live_all_covers_the_live_ones_and_ids_the_rest() -> None:
    settings = ApiFootballSettings(live_all_min=3)
    later = Due(Watch(provider="api-football", match_id="77"), S.SCHEDULED)
    matches = [*due("api-football", 4, S.FIRST_HALF), later]
    planned = get("api-football").plan(matches, settings)
    assert [p.request for p in planned] == [
        Request("/fixtures", (("live", "all"),)),
        Request("/fixtures", (("ids", "77"),)),
    ]
    few = get("api-football").plan(matches[:2], settings)
    assert [p.request.params[0][0] for p in few] == ["ids"], "two live matches: ids is cheaper"


def test_football_data_asks_by_ids_with_commas() -> None:
    planned = get("football-data").plan(due("football-data", 3), FootballDataSettings())
    assert [p.request for p in planned] == [Request("/v4/matches", (("ids", "1000,1001,1002"),))]


def test_espn_asks_one_scoreboard_per_league_and_day() -> None:
    kickoff = datetime(2022, 9, 18, 0, 30, tzinfo=UTC)  # 20:30 the day before, in New York
    matches = due("espn", 3, league="usa.1", kickoff=kickoff) + due("espn", 1, league="eng.1")
    planned = get("espn").plan(matches, EspnSettings())
    assert [(p.request.path, p.request.params, len(p.matches)) for p in planned] == [
        ("/apis/site/v2/sports/soccer/usa.1/scoreboard", (("dates", "20220917"),), 3),
        ("/apis/site/v2/sports/soccer/eng.1/scoreboard", (), 1),
    ]


def group_of(watch: Watch, groups: int) -> str:
    return get(watch.provider).group_of(watch, groups)


def test_groups_are_stable_buckets_and_espn_leagues() -> None:
    watch = Watch(provider="api-football", match_id="1145511")
    assert group_of(watch, 8) == group_of(watch.model_copy(), 8)
    assert {group_of(Watch(provider="api-football", match_id=str(i)), 4) for i in range(100)} == {
        "0",
        "1",
        "2",
        "3",
    }
    assert group_of(Watch(provider="espn", match_id="1", league="usa.1"), 8) == "usa.1"


def test_split_each_provider_recording() -> None:
    assert len(get("espn").split(ESPN.read_bytes())) == 11
    assert len(get("football-data").split(FD.read_bytes())) == 46
    [item] = get("api-football").split(AF.read_bytes())
    assert item.match_id == "1145511" and item.snapshot is not None and item.error is None


def test_one_bad_item_costs_only_its_own_match() -> None:
    data = load(ESPN)
    bad = data["events"][3]
    bad["competitions"][0]["details"][0]["team"]["id"] = "999"  # a goal of neither team
    items = get("espn").split(orjson.dumps(data))
    broken = [i for i in items if i.error is not None]
    assert [i.match_id for i in broken] == ["623600"]
    assert "neither" in (broken[0].error or "")
    assert sum(i.snapshot is not None for i in items) == 10
    assert orjson.loads(broken[0].body())["id"] == "623600", "the raw item, for the dead letter"


def test_wrong_typed_item_is_an_error_item() -> None:
    data = load(FD)
    data["matches"][0]["score"] = "3-0"
    data["matches"][1] = ["not", "an", "object"]
    items = get("football-data").split(orjson.dumps(data))
    assert items[0].error is not None and items[1].error is not None
    assert items[1].match_id is None


@pytest.mark.parametrize(
    ("provider", "body", "status"),
    [
        ("api-football", {"errors": {"requests": "You have reached the request limit"}}, 429),
        ("api-football", {"errors": {"rateLimit": "Too many requests"}}, 429),
        ("api-football", {"errors": {"token": "Error/Missing application key"}}, 400),
        ("football-data", {"message": "Your API token is invalid.", "errorCode": 400}, 400),
        ("football-data", {"message": "You reached your request limit.", "errorCode": 429}, 429),
    ],
)
def test_error_answers_are_feed_errors(provider: str, body: dict[str, Any], status: int) -> None:
    with pytest.raises(FeedError) as caught:
        get(provider).split(orjson.dumps(body))
    assert caught.value.status == status


def test_truncated_answer_is_a_parse_error() -> None:
    with pytest.raises(FeedError, match="not JSON"):
        get("api-football").split(AF.read_bytes()[:5000])


def test_detail_requests_only_for_what_the_bulk_view_lacks() -> None:
    raw = load(AF)["response"][0]
    watch = Watch(provider="api-football", match_id="1145511")
    [full] = get("api-football").split(orjson.dumps({"response": [raw]}))
    settings = ApiFootballSettings()
    assert get("api-football").detail_request(full, watch, True, settings) is None
    brief = {k: v for k, v in raw.items() if k not in ("lineups", "events")}
    brief["fixture"] = {**raw["fixture"], "status": {"short": "2H", "elapsed": 60}}
    [item] = get("api-football").split(orjson.dumps({"response": [brief]}))
    assert get("api-football").detail_request(item, watch, False, settings) == Request(
        "/fixtures", (("id", "1145511"),)
    )
    espn_watch = Watch(provider="espn", match_id="623600", league="usa.1")
    [espn_item] = [i for i in get("espn").split(ESPN.read_bytes()) if i.match_id == "623600"]
    assert get("espn").detail_request(espn_item, espn_watch, True, EspnSettings()) == Request(
        "/apis/site/v2/sports/soccer/usa.1/summary", (("event", "623600"),)
    )
    assert get("espn").detail_request(espn_item, espn_watch, False, EspnSettings()) is None
    fd_item = get("football-data").split(FD.read_bytes())[0]
    fd_watch = Watch(provider="football-data", match_id=fd_item.match_id or "")
    assert (
        get("football-data").detail_request(fd_item, fd_watch, True, FootballDataSettings()) is None
    )


def test_lineups_answer_completes_a_bulk_item() -> None:
    raw = load(AF)["response"][0]
    bare = copy.deepcopy(raw)
    del bare["lineups"]
    item = Item("1145511", bare, snapshot=None)
    lineups = {"get": "fixtures/lineups", "errors": [], "response": raw["lineups"]}
    merged = get("api-football").merge_detail(item, orjson.dumps(lineups))
    assert merged.lineups is not None and merged.lineups.home.formation == "4-3-3"
