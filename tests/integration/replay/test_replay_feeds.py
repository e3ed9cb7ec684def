"""The replay server in football-data's and ESPN's shapes: real server on 127.0.0.1, real client,
an injected clock. Also its request log and injected faults (what politeness tests rely on)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest_asyncio

from notifier.domain.models import MatchStatus
from notifier.feeds.registry import parse
from notifier.replay.espn import load_scoreboard
from notifier.replay.football_data import load_matches
from notifier.replay.server import ReplayServer, load_recording, start_replay_server
from tests.recordings import REAL

ESPN = REAL / "espn/mls-scoreboard-2022-09-17-live-mixed.json"
FD = REAL / "football-data/v4-teams-65-matches-PL-CL-2023-24-snapshot-2023-12-28.json"
SPAIN_CROATIA = REAL / "api-football/euro2024-spain-croatia-1145511-fixture-full.json"
KEY = "fd-key"
MIN = 60.0


class FakeTime:
    """A settable monotonic clock: the test moves time, nothing sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


Served = tuple[ReplayServer, FakeTime, aiohttp.ClientSession]


@pytest_asyncio.fixture
async def served() -> AsyncIterator[Served]:
    clock = FakeTime()
    server = await start_replay_server(
        [load_recording(SPAIN_CROATIA)],
        football_data=load_matches(orjson.loads(FD.read_bytes())),
        espn=load_scoreboard(orjson.loads(ESPN.read_bytes())),
        speed=60.0,
        start_offset=-5 * MIN,
        api_key=KEY,
        time_fn=clock,
    )
    headers = {"X-Auth-Token": KEY, "x-apisports-key": KEY}
    async with server, aiohttp.ClientSession(headers=headers) as session:
        yield server, clock, session


def at_virtual(clock: FakeTime, server: ReplayServer, t: float) -> None:
    clock.now += (t - server.clock.now()) / server.clock.speed


async def get(session: aiohttp.ClientSession, url: str, status: int = 200) -> Any:
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
        assert resp.status == status, await resp.text()
        return orjson.loads(await resp.read())


async def test_football_data_match_by_id_through_the_match(served: Served) -> None:
    server, clock, session = served
    url = f"{server.url}/v4/matches/451640"
    before = await get(session, url)
    assert before["status"] == "TIMED" and before["score"]["fullTime"] == {
        "home": None,
        "away": None,
    }
    assert before["utcDate"] == server.clock.wall_at(0).strftime("%Y-%m-%dT%H:%M:%SZ")
    at_virtual(clock, server, 30 * MIN)
    [snap] = parse("football-data", orjson.dumps(await get(session, url)))
    assert (snap.status, snap.score.home, snap.score.away) == (MatchStatus.FIRST_HALF, 0, 1)
    assert snap.goals == (), "the free tier has no goals: the replay neither"
    assert snap.updated_at is not None and snap.updated_at <= server.clock.wall_at(30 * MIN)
    await get(session, f"{server.url}/v4/matches/1", status=404)


async def test_football_data_lists_by_ids_status_and_competition(served: Served) -> None:
    server, clock, session = served
    body = await get(session, f"{server.url}/v4/matches?ids=451640,435943,1")
    assert [m["id"] for m in body["matches"]] == [451640, 435943]
    assert body["resultSet"]["count"] == 2
    assert (await get(session, f"{server.url}/v4/matches?status=LIVE"))["matches"] == []
    at_virtual(clock, server, 50 * MIN)  # every played match is at half-time
    paused = await get(session, f"{server.url}/v4/matches?status=LIVE,IN_PLAY,PAUSED")
    assert len(paused["matches"]) == 24 and {m["status"] for m in paused["matches"]} == {"PAUSED"}
    cl = await get(session, f"{server.url}/v4/competitions/CL/matches")
    assert len(cl["matches"]) == 8 and {m["competition"]["code"] for m in cl["matches"]} == {"CL"}
    at_virtual(clock, server, 3 * 3600)
    finished = await get(session, f"{server.url}/v4/matches?status=FINISHED&competitions=PL")
    assert len(finished["matches"]) == 18
    await get(session, f"{server.url}/v4/matches?ids=a,b", status=400)


async def test_football_data_wants_the_token(served: Served) -> None:
    server, _, _ = served
    async with aiohttp.ClientSession() as anonymous:
        refused = await get(anonymous, f"{server.url}/v4/matches/451640", status=400)
    assert refused == {"message": "Your API token is invalid.", "errorCode": 400}


async def test_espn_scoreboard_and_summary(served: Served) -> None:
    server, clock, session = served
    board = f"{server.url}/apis/site/v2/sports/soccer/usa.1/scoreboard?dates=20220917"
    at_virtual(clock, server, 25 * MIN)
    snaps = {s.match_id: s for s in parse("espn", orjson.dumps(await get(session, board)))}
    assert len(snaps) == 11
    assert (snaps["623600"].status, snaps["623600"].score.home) == (MatchStatus.FIRST_HALF, 2)
    assert snaps["623604"].status is MatchStatus.SCHEDULED
    assert (await get(session, f"{server.url}/apis/site/v2/sports/soccer/eng.1/scoreboard"))[
        "events"
    ] == []
    summary = f"{server.url}/apis/site/v2/sports/soccer/usa.1/summary?event=623600"
    [snap] = parse("espn", orjson.dumps(await get(session, summary)))
    assert (snap.match_id, snap.score.home, snap.competition) == (
        "623600",
        2,
        "Major League Soccer",
    )
    await get(session, f"{server.url}/apis/site/v2/sports/soccer/usa.1/summary?event=1", 404)


async def test_api_football_league_discovery(served: Served) -> None:
    server, _, session = served
    body = await get(session, f"{server.url}/fixtures?league=4&season=2024")
    assert [i["fixture"]["id"] for i in body["response"]] == [1145511]
    assert (await get(session, f"{server.url}/fixtures?league=4&season=2023"))["response"] == []


async def test_request_log_counts_routes_and_matches(served: Served) -> None:
    server, _, session = served
    server.log.reset()
    await get(session, f"{server.url}/fixtures?ids=1145511")
    await get(session, f"{server.url}/v4/matches?ids=451640,435943")
    await get(session, f"{server.url}/apis/site/v2/sports/soccer/usa.1/scoreboard")
    assert server.log.total == 3
    assert server.log.by_route == {"fixtures?ids": 1, "v4/matches": 1, "espn/scoreboard": 1}
    assert server.log.by_match["451640"] == 1 and server.log.by_match["623600"] == 1
    assert [h.route for h in server.log.hits] == ["fixtures?ids", "v4/matches", "espn/scoreboard"]


async def test_injected_faults(served: Served) -> None:
    server, _, session = served
    server.faults.status, server.faults.count, server.faults.retry_after = 429, 2, "17"
    for _ in range(2):
        async with session.get(f"{server.url}/v4/matches/451640") as resp:
            assert resp.status == 429 and resp.headers["Retry-After"] == "17"
    await get(session, f"{server.url}/v4/matches/451640")
    assert server.log.by_route["fault"] == 2


async def test_a_path_prefix_names_the_client_in_the_log(served: Served) -> None:
    server, _, session = served
    server.log.reset()
    await get(session, f"{server.url}/~a/fixtures?ids=1145511")
    await get(session, f"{server.url}/~b/v4/matches/451640")
    await get(session, f"{server.url}/~b/apis/site/v2/sports/soccer/usa.1/scoreboard")
    assert [(h.client, h.route) for h in server.log.hits] == [
        ("a", "fixtures?ids"),
        ("b", "v4/matches/{id}"),
        ("b", "espn/scoreboard"),
    ]
