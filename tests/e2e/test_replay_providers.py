"""End to end in every provider's format: football-data and ESPN recordings replayed through the
real poller, streams, aggregator and dispatcher; and a two-legged tie the fixtures job links
from API-Football's rounds, its first leg's result taken from the provider."""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.domain.alerts import Alert
from notifier.replay.api_football import Timeline
from notifier.replay.server import start_replay_server
from notifier.settings import FollowSettings, Settings
from tests.e2e.helpers import Collect, run_replay
from tests.recordings import REAL
from workers.cli import runtime
from workers.cli.commands import REPLAY_KEY, ReplayOptions, replay_settings

ROOT = Path(__file__).resolve().parents[2]
ESPN = REAL / "espn/mls-scoreboard-2022-09-17-live-mixed.json"
FD = REAL / "football-data/v4-teams-65-matches-PL-CL-2023-24-snapshot-2023-12-28.json"
SCENARIO = ROOT / "notifier" / "data" / "scenarios" / "atalanta-dortmund-2nd-leg.json"
SPEED = 600.0

pytestmark = pytest.mark.e2e


def of(alerts: list[Alert], match: str) -> list[Alert]:
    return [a for a in alerts if a.match == match]


async def test_football_data_free_tier_replay_says_there_is_no_scorer(
    redis: Redis, redis_url: str
) -> None:
    opts = ReplayOptions(file=FD, provider="football-data", match="451640", speed=SPEED)
    alerts = await run_replay(redis_url, opts)
    assert [a.text for a in alerts] == [
        "Kick-off: Manchester City FC v FK Crvena Zvezda",
        "GOAL Manchester City FC 0-1 FK Crvena Zvezda (scorer not given by the feed)",
        "Half-time: Manchester City FC 0-1 FK Crvena Zvezda",
        "Second half under way: Manchester City FC 0-1 FK Crvena Zvezda",
        "GOAL Manchester City FC 1-1 FK Crvena Zvezda (scorer not given by the feed)",
        "GOAL Manchester City FC 2-1 FK Crvena Zvezda (scorer not given by the feed)",
        "GOAL Manchester City FC 3-1 FK Crvena Zvezda (scorer not given by the feed)",
        "Full-time: Manchester City FC 3-1 FK Crvena Zvezda",  # one end-of-match alert
    ]


async def test_espn_scoreboard_replays_every_played_match(redis: Redis, redis_url: str) -> None:
    alerts = await run_replay(redis_url, ReplayOptions(file=ESPN, provider="espn", speed=SPEED))
    assert len({a.id for a in alerts}) == len(alerts), "an alert was delivered twice"
    orlando = [a.text for a in of(alerts, "espn:623600") if a.kind == "goal"]
    assert orlando == [
        "GOAL Orlando City SC 1-0 Toronto FC (Facundo Torres 9')",
        "GOAL Orlando City SC 2-0 Toronto FC (Ercan Kara 22')",
        "GOAL Orlando City SC 3-0 Toronto FC (Lukas MacNaughton 47' og)",
    ]
    nyc = of(alerts, "espn:623597")[-1]
    assert (nyc.text, nyc.data["winner"]) == (
        "Full-time: New York City FC 2-0 New York Red Bulls",
        "home",
    )
    assert of(alerts, "espn:623599")[-1].text == (
        "Full-time: Atlanta United FC 0-0 Philadelphia Union"
    )
    chicago = of(alerts, "espn:623602")  # recorded at 45': the replay stops there, no result
    assert [a.kind for a in chicago if a.kind != "yellow_card"] == ["kickoff", "goal", "goal"]
    assert not of(alerts, "espn:623604"), "a match not yet played is not replayed"


def first_leg(second: dict[str, Any]) -> dict[str, Any]:
    """The scenario's first leg as API-Football lists it: Borussia Dortmund 2-0 Atalanta."""
    data = copy.deepcopy(second)
    item = data["response"][0]
    home, away = item["teams"]["away"], item["teams"]["home"]
    item["teams"] = {"home": {**home, "winner": True}, "away": {**away, "winner": False}}
    item["fixture"]["id"] = 900000
    item["fixture"]["status"] = {"long": "Match Finished", "short": "FT", "elapsed": 90}
    item["league"]["round"] = "Knockout Round Play-offs - 1st leg"
    item["goals"] = {"home": 2, "away": 0}
    item["score"] = {
        "halftime": {"home": 1, "away": 0},
        "fulltime": {"home": 2, "away": 0},
        "extratime": {"home": None, "away": None},
        "penalty": {"home": None, "away": None},
    }
    item["events"], item["lineups"] = [], []
    return data


class Played(Timeline):
    """A timeline a week ahead of the replay's clock: its match is long over."""

    def fixture_at(self, t: float) -> dict[str, Any]:
        return super().fixture_at(t + 7 * 86400)

    def status_at(self, t: float) -> str | None:
        return super().status_at(t + 7 * 86400)


async def test_a_tie_linked_from_the_provider_rounds(redis: Redis, redis_url: str) -> None:
    second = orjson.loads(SCENARIO.read_bytes())
    timelines = [Played(first_leg(second)), Timeline(second)]
    base = Settings.load(None, redis_url=redis_url)
    follow = FollowSettings(
        provider="api-football",
        league="2",
        season=2025,
        teams=["Atalanta"],
        next_round="the round of 16",
    )
    settings = replay_settings(base.model_copy(update={"follow": [follow]}), SPEED)
    sink = Collect()
    async with contextlib.AsyncExitStack() as stack:
        server = await start_replay_server(
            timelines, speed=SPEED, start_offset=-120.0, api_key=REPLAY_KEY
        )
        stack.push_async_callback(server.close)
        feed = settings.provider("api-football").model_copy(
            update={"base_url": server.url, "api_key": SecretStr(REPLAY_KEY)}
        )
        settings = settings.model_copy(
            update={"providers": settings.providers.replace("api-football", feed)}
        )
        pipe = await runtime.open_pipeline(settings, stack, sinks=[sink])
        tie = "api-football:900000-900001"
        p = keys.partition_of(tie, settings.streams.partitions)

        async def done() -> bool:
            if not await pipe.r.exists(keys.match_done(p, "api-football:900001")):
                return False
            return await pipe.idle()

        await runtime.serve(pipe, sync_every=0.2, done=done)
    texts = [a.text for a in sink.alerts]
    assert "Kick-off: Atalanta v Dortmund. Dortmund lead 2-0 from the first leg" in texts
    assert texts[-1] == (
        "Atalanta win 5-4 on penalties (2-2 on aggregate). Atalanta reach the round of 16"
    )
    assert all(a.tie == tie for a in sink.alerts)
