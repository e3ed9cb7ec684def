"""End to end: a recording replayed as if live, through the real poller (HTTP, APScheduler),
Redis streams, aggregator and dispatcher, on a private real server. Checks what a person reads
off the recording: every goal, the VAR cancellation, the own goal's side, the final score."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from notifier.domain.alerts import Alert
from tests.e2e.helpers import run_replay
from tests.recordings import SPAIN_CROATIA, TURKIYE_PORTUGAL, require
from workers.cli.commands import ReplayOptions, demo_options

SPEED = 600.0

pytestmark = pytest.mark.e2e


def goals(alerts: list[Alert]) -> list[tuple[str, str | None, int | None, str, int, int]]:
    out = []
    for a in alerts:
        if a.kind == "goal":
            g = a.data["goal"] or {}
            out.append(
                (
                    a.data["side"],
                    g.get("player"),
                    a.minute,
                    g.get("kind"),
                    a.score.home,
                    a.score.away,
                )
            )
    return out


async def test_spain_croatia(redis: Redis, redis_url: str) -> None:
    alerts = await run_replay(redis_url, ReplayOptions(file=require(SPAIN_CROATIA), speed=SPEED))
    assert goals(alerts) == [
        ("home", "Álvaro Morata", 29, "normal", 1, 0),
        ("home", "Fabián Ruiz", 32, "normal", 2, 0),
        ("home", "Dani Carvajal", 45, "normal", 3, 0),
        ("away", "Bruno Petković", 81, "normal", 3, 1),
    ]
    cancelled = [a for a in alerts if a.kind == "goal_cancelled"]
    assert len(cancelled) == 1
    assert cancelled[0].text.startswith(
        "Goal ruled out: Bruno Petković (Croatia) 81'. Spain 3-0 Croatia"
    )
    assert (cancelled[0].score.home, cancelled[0].score.away) == (3, 0)
    kinds = [a.kind for a in alerts]
    assert kinds[:3] == ["lineups", "lineups", "kickoff"]
    # A single match ends with one alert, not "Full-time" and a result saying the same.
    assert kinds[-1] == "full_time" and "result" not in kinds
    assert alerts[-1].text == "Full-time: Spain 3-0 Croatia"
    assert (alerts[-1].data["winner"], alerts[-1].data["phase"]) == ("home", "full_time")
    assert len({a.id for a in alerts}) == len(alerts), "an alert was delivered twice"


async def test_turkiye_portugal_own_goal_as_second_leg(redis: Redis, redis_url: str) -> None:
    opts = ReplayOptions(
        file=require(TURKIYE_PORTUGAL), first_leg="Portugal 1-0 Türkiye", speed=SPEED
    )
    alerts = await run_replay(redis_url, opts)
    assert goals(alerts) == [
        ("away", "B. Silva", 21, "normal", 0, 1),
        ("away", "S. Akaydin", 28, "own_goal", 0, 2),
        ("away", "B. Fernandes", 56, "normal", 0, 3),
    ]
    own = next(a for a in alerts if a.kind == "goal" and a.data["goal"]["kind"] == "own_goal")
    assert own.text == (
        "GOAL Türkiye 0-2 Portugal (S. Akaydin 28' og). Portugal lead 3-0 on aggregate. "
        "Türkiye need three goals to force extra time"
    )
    assert own.aggregate == {"Türkiye": 0, "Portugal": 3}
    assert alerts[-1].kind == "result"
    assert alerts[-1].text == "Portugal win 4-0 on aggregate"


async def test_demo_scenario_every_alert_kind(redis: Redis, redis_url: str) -> None:
    alerts = await run_replay(redis_url, demo_options(SPEED, as_json=False))
    texts = [a.text for a in alerts]
    assert "Kick-off: Atalanta v Dortmund. Dortmund lead 2-0 from the first leg" in texts
    assert any(
        t.startswith("GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate")
        for t in texts
    )
    assert any(
        t.startswith("Red card: Kossounou (Atalanta) 67'. Atalanta down to ten") for t in texts
    )
    assert any(t.startswith("Penalty missed: Guirassy (Dortmund) 71'") for t in texts)
    assert "End of normal time: Atalanta 2-0 Dortmund. 2-2 on aggregate: extra time" in texts
    assert (
        texts[-1]
        == "Atalanta win 5-4 on penalties (2-2 on aggregate). Atalanta reach the round of 16"
    )
    kinds = {a.kind for a in alerts}
    wanted = {"lineups", "kickoff", "goal", "goal_cancelled", "red_card", "penalty_missed"}
    assert wanted | {"half_time", "full_time", "extra_time", "shootout", "result"} <= kinds
    final = alerts[-1]
    assert final.aggregate == {"Atalanta": 2, "Dortmund": 2}
    assert final.shootout is not None and (final.shootout.home, final.shootout.away) == (5, 4)
    assert all(a.emitted_at >= a.detected_at >= a.occurred_at for a in alerts)
