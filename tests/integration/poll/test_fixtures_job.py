"""The fixtures job against a replay server: followed competitions and teams become watches with
their kick-off, and a finished first leg becomes the tie of the second."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest_asyncio
from pydantic import SecretStr
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.watches import Watch, add_watch, list_watches, load_tie
from notifier.replay.football_data import load_matches
from notifier.replay.server import start_replay_server
from notifier.settings import FollowSettings, Settings
from tests.recordings import REAL
from workers.poll.poller import Poller

FD = REAL / "football-data/v4-teams-65-matches-PL-CL-2023-24-snapshot-2023-12-28.json"
KEY = "fd-key"
TIE = "football-data:451663-451671"


def recording_with_first_leg_played() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(FD.read_bytes())
    first = next(m for m in data["matches"] if m["id"] == 451663)
    first["status"] = "FINISHED"
    first["score"] = {
        "winner": "AWAY_TEAM",
        "duration": "REGULAR",
        "fullTime": {"home": 1, "away": 3},
        "halfTime": {"home": 1, "away": 2},
    }
    return data


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def settings_for(url: str, *follow: FollowSettings) -> Settings:
    base = Settings.load(None)
    fd = base.provider("football-data").model_copy(
        update={"base_url": url, "api_key": SecretStr(KEY)}
    )
    providers = base.providers.replace("football-data", fd)
    return base.model_copy(update={"providers": providers, "follow": list(follow)})


async def test_discovery_follows_the_team_and_links_the_legs(
    redis: Redis, session: aiohttp.ClientSession
) -> None:
    replays = load_matches(recording_with_first_leg_played())
    # Three hours in: every played match (the first leg too) is over.
    server = await start_replay_server(
        [], football_data=replays, speed=60.0, start_offset=3 * 3600.0, api_key=KEY
    )
    async with server:
        spec = FollowSettings(
            provider="football-data",
            league="CL",
            teams=["FC København"],
            next_round="the quarter-finals",
        )
        settings = settings_for(server.url, spec)
        poller = Poller(redis, session, settings, instance="solo")
        await poller.discover()
        assert server.log.by_route == {"v4/competitions/matches": 1}
    [watch] = await list_watches(redis)
    assert (watch.key, watch.tie) == ("football-data:451671", TIE)
    assert watch.kickoff == datetime(2024, 3, 6, 20, 0, tzinfo=UTC)
    tie = await load_tie(redis, TIE, keys.partition_of(TIE, settings.streams.partitions))
    assert tie is not None and tie.second_leg == "football-data:451671"
    assert (tie.first_leg.home, tie.first_leg.score.home, tie.first_leg.score.away) == (
        "FC København",
        1,
        3,
    )
    assert tie.next_round == "the quarter-finals"
    assert [t.watch.key for g in poller.groups.values() for t in g.matches.values()] == [
        "football-data:451671"
    ], "followed at once, not at the next sync"


async def test_a_configured_tie_is_kept_and_failures_are_logged_once(
    redis: Redis, session: aiohttp.ClientSession
) -> None:
    data = recording_with_first_leg_played()
    await add_watch(redis, Watch(provider="football-data", match_id="451671", tie="from-config"))
    server = await start_replay_server(
        [], football_data=load_matches(copy.deepcopy(data)), speed=60.0, start_offset=3 * 3600.0
    )
    async with server:
        spec = FollowSettings(provider="football-data", league="CL", teams=["65"])
        poller = Poller(redis, session, settings_for(server.url, spec), instance="solo")
        assert await poller.fixtures.run() == 1  # the one CL match still to play: its kick-off
        server.faults.status, server.faults.count = 500, 2
        assert await poller.fixtures.run() == 0
        assert await poller.fixtures.run() == 0
        assert poller.fixtures.failing == {"football-data:CL"}
        await poller.fixtures.run()
        assert poller.fixtures.failing == set()
    by_key = {w.key: w for w in await list_watches(redis)}
    assert by_key["football-data:451671"].tie == "from-config"
