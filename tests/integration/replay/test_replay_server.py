"""Replay feed server: a real aiohttp server on 127.0.0.1, a real client, an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio

from notifier.domain.models import MatchStatus
from notifier.errors import ConfigError, EnvelopeError, FeedParseError
from notifier.feeds.api_football.parse import parse_response
from notifier.replay.api_football import Timeline
from notifier.replay.server import (
    KEY_HEADER,
    ReplayClock,
    ReplayServer,
    create_app,
    load_recording,
    start_replay_server,
)
from tests.recordings import SPAIN_CROATIA

REPO = Path(__file__).resolve().parents[3]
SCENARIO = REPO / "notifier" / "data" / "scenarios" / "atalanta-dortmund-2nd-leg.json"
KEY = "test-key"
MIN = 60.0


class FakeTime:
    """A settable monotonic clock: the test moves time, nothing sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def timelines() -> dict[str, Timeline]:
    found = {"900001": load_recording(SCENARIO)}
    if SPAIN_CROATIA.exists():
        found["1145511"] = load_recording(SPAIN_CROATIA)
    return found


@pytest_asyncio.fixture
async def served(
    timelines: dict[str, Timeline],
) -> AsyncIterator[tuple[ReplayServer, FakeTime, aiohttp.ClientSession]]:
    clock = FakeTime()
    server = await start_replay_server(
        timelines, speed=60.0, start_offset=-50 * MIN, api_key=KEY, time_fn=clock
    )
    async with server, aiohttp.ClientSession(headers={KEY_HEADER: KEY}) as session:
        yield server, clock, session


async def get(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        body: dict[str, Any] = await resp.json()
        return body


def at_virtual(clock: FakeTime, server: ReplayServer, t: float) -> None:
    """Move the injected time so that the server's virtual clock reads t."""
    clock.now += (t - server.clock.now()) / server.clock.speed


async def test_server_binds_loopback_and_clock_runs_at_speed(served: Any) -> None:
    server, clock, _ = served
    assert server.url.startswith("http://127.0.0.1:")
    assert server.clock.now() == -50 * MIN
    clock.now += 10  # ten wall seconds at 60x: ten virtual minutes
    assert server.clock.now() == -40 * MIN


async def test_missing_or_wrong_key_is_refused_like_the_provider(served: Any) -> None:
    server, _, _ = served
    async with aiohttp.ClientSession() as anonymous:
        body = await get(anonymous, f"{server.url}/fixtures?id=900001")
        assert body["response"] == [] and "token" in body["errors"]
        async with anonymous.get(
            f"{server.url}/fixtures/lineups?fixture=900001", headers={KEY_HEADER: "wrong"}
        ) as resp:
            refused = await resp.json()
        assert resp.status == 200 and refused["response"] == [] and "token" in refused["errors"]
    with pytest.raises(EnvelopeError, match="token") as caught:  # as the real error envelope
        parse_response(orjson.dumps(body))
    assert caught.value.status == 400


async def test_fixture_by_id_through_the_match(served: Any) -> None:
    server, clock, session = served
    url = f"{server.url}/fixtures?id=900001"
    before = await get(session, url)
    assert before["errors"] == [] and before["results"] == 1
    [item] = before["response"]
    assert item["fixture"]["status"]["short"] == "NS" and item["lineups"] == []
    assert before["parameters"] == {"id": "900001"}

    at_virtual(clock, server, 24 * MIN)
    body = await get(session, url)
    [snapshot] = parse_response(orjson.dumps(body))
    assert snapshot.status is MatchStatus.FIRST_HALF
    assert [(g.minute, g.player) for g in snapshot.goals] == [(23, "Scamacca")]
    assert snapshot.lineups is not None and snapshot.lineups.home.formation == "3-4-2-1"

    at_virtual(clock, server, 4 * 3600)
    [final] = parse_response(orjson.dumps(await get(session, url)))
    assert final.status is MatchStatus.FINISHED and final.winner == "home"
    assert final.shootout is not None and (final.shootout.home, final.shootout.away) == (5, 4)


async def test_several_ids_and_unknown_ids(served: Any) -> None:
    server, _, session = served
    body = await get(session, f"{server.url}/fixtures?ids=900001-1145511-42")
    ids = sorted(item["fixture"]["id"] for item in body["response"])
    assert body["results"] == len(ids)
    assert 900001 in ids and 42 not in ids
    assert (await get(session, f"{server.url}/fixtures?id=42"))["response"] == []
    bad = await get(session, f"{server.url}/fixtures?id=abc")
    assert bad["response"] == [] and "id" in bad["errors"]
    none = await get(session, f"{server.url}/fixtures")
    assert none["response"] == [] and none["errors"]


async def test_live_all_lists_only_fixtures_in_play(served: Any) -> None:
    server, clock, session = served
    url = f"{server.url}/fixtures?live=all"
    assert (await get(session, url))["response"] == []
    at_virtual(clock, server, 30 * MIN)
    live = await get(session, url)
    assert 900001 in [item["fixture"]["id"] for item in live["response"]]
    assert all(i["fixture"]["status"]["short"] == "1H" for i in live["response"])
    league = await get(session, f"{server.url}/fixtures?live=2-39")
    assert [i["fixture"]["id"] for i in league["response"]] == [900001]
    assert (await get(session, f"{server.url}/fixtures?live=39"))["response"] == []
    at_virtual(clock, server, 4 * 3600)
    assert (await get(session, url))["response"] == []


async def test_lineups_endpoint(served: Any) -> None:
    server, clock, session = served
    url = f"{server.url}/fixtures/lineups?fixture=900001"
    at_virtual(clock, server, -41 * MIN)
    early = await get(session, url)
    assert early["response"] == [] and early["results"] == 0
    at_virtual(clock, server, -39 * MIN)
    out = await get(session, url)
    assert [entry["team"]["id"] for entry in out["response"]] == [499, 165]
    assert [len(entry["startXI"]) for entry in out["response"]] == [11, 11]
    assert out["response"][0]["coach"]["name"] == "Raffaele Palladino"
    one = await get(session, f"{url}&team=165")
    assert [entry["formation"] for entry in one["response"]] == ["3-4-2-1"]
    assert (await get(session, f"{server.url}/fixtures/lineups?fixture=7"))["response"] == []


async def test_create_app_without_key_and_close_releases_the_port() -> None:
    timeline = load_recording(SCENARIO)
    clock = ReplayClock(speed=1.0, start_offset=0.0, time_fn=lambda: 0.0)
    assert isinstance(create_app({"900001": timeline}, clock, None), aiohttp.web.Application)
    server = await start_replay_server([timeline], speed=1.0, start_offset=0.0)
    async with aiohttp.ClientSession() as session:
        body = await get(session, f"{server.url}/fixtures?id=900001")
        assert body["response"][0]["fixture"]["status"]["short"] == "1H"
        await server.close()
        await server.close()
        with pytest.raises(aiohttp.ClientConnectionError):
            await get(session, f"{server.url}/fixtures?id=900001")


def test_clock_rejects_a_stopped_clock() -> None:
    with pytest.raises(ConfigError):
        ReplayClock(speed=0)


def test_load_recording_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_recording(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"response": [')
    with pytest.raises(FeedParseError, match="not JSON"):
        load_recording(broken)
    empty = tmp_path / "empty.json"
    empty.write_text('{"errors": [], "response": []}')
    with pytest.raises(FeedParseError, match="exactly one fixture"):
        load_recording(empty)
