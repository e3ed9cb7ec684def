"""The API's page, health and metrics routes on a real server: what the live page starts from,
readiness from heartbeats, and the Prometheus exposition with the gauges read off Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from notifier.api.app import init_app
from notifier.bus import keys
from notifier.bus.heartbeat import beat
from notifier.bus.watches import save_tie
from notifier.domain.alerts import Alert
from notifier.domain.models import MatchStatus, Score
from notifier.domain.tie import TieSpec, parse_first_leg
from notifier.settings import Settings

TIE = "ucl-po"
SPEC = TieSpec(
    id=TIE, first_leg=parse_first_leg("Borussia Dortmund 2-0 Atalanta"), second_leg="m:1"
)
T0 = datetime(2026, 2, 25, 20, 23, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def client(redis: Redis) -> AsyncIterator[TestClient[object, object]]:
    """The API on a free loopback port, no token configured."""
    app = init_app(Settings(), redis)
    async with TestClient(TestServer(app, host="127.0.0.1")) as c:
        # Let the API's first heartbeat land (as tests.integration.api.test_api.serving does):
        # a heartbeat cancelled mid-write on Python 3.11 can outlive its app and beat on.
        for _ in range(250):
            if await redis.keys("nf:heartbeat:api:*"):
                break
            await asyncio.sleep(0.02)
        yield c


def goal_alert() -> Alert:
    """Scamacca's goal, as the aggregator emits it."""
    return Alert(
        id="m:1:goal:home:1-0:23",
        kind="goal",
        text="GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate",
        match="m:1",
        tie=TIE,
        event="m:1:goal:home:1-0:23",
        home="Atalanta",
        away="Dortmund",
        status=MatchStatus.FIRST_HALF,
        minute=23,
        score=Score(home=1),
        aggregate={"Atalanta": 1, "Dortmund": 2},
        leader="Dortmund",
        data={"side": "home", "goal": {"player": "Scamacca", "ref": "23"}},
        occurred_at=T0,
        detected_at=T0,
        emitted_at=T0,
    )


async def test_healthz_and_the_page(client: TestClient[object, object]) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json()) == {"status": "ok"}
    for path in ("/", f"/ties/{TIE}", "/matches/m:1"):
        resp = await client.get(path)
        assert resp.status == 200, path
        assert '<script src="/static/live.js"' in await resp.text()
    for asset in ("live.js", "live.css"):
        assert (await client.get(f"/static/{asset}")).status == 200


async def test_readyz_follows_the_heartbeats(
    client: TestClient[object, object], redis: Redis
) -> None:
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert "no fresh heartbeat of aggregator, dispatcher, poller" in (await resp.json())["reason"]
    for worker in ("poller", "aggregator", "dispatcher"):
        await beat(redis, worker, "box-1", ttl_s=15, now=time.time())
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["redis"] is True and "poller:box-1" in body["heartbeats"]


async def test_the_api_writes_its_own_heartbeat(
    client: TestClient[object, object], redis: Redis
) -> None:
    found: list[bytes] = []
    async with asyncio.timeout(10):  # the beat task starts with the app; under load, a moment later
        while not found:
            found = [k async for k in redis.scan_iter(match=keys.heartbeat("api", "*"))]
            await asyncio.sleep(0.02)
    assert len(found) == 1


async def test_tie_state_and_timeline(client: TestClient[object, object], redis: Redis) -> None:
    await save_tie(redis, SPEC, keys.partition_of(TIE, 1))
    resp = await client.get("/v1/live/ties")
    assert (await resp.json()) == [
        {"tie": TIE, "title": "Atalanta v Dortmund", "second_leg": "m:1"}
    ]
    before = await (await client.get(f"/v1/live/ties/{TIE}")).json()
    assert before["headline"] == "Dortmund lead 2-0 on aggregate"
    assert (before["timeline"], before["last_id"]) == ([], "0-0")
    a = goal_alert()
    fields = {"id": a.id, "kind": a.kind, "match": a.match, "tie": TIE, "body": a.model_dump_json()}
    entry = await redis.xadd(keys.alerts(0), fields)  # type: ignore[arg-type]
    after = await (await client.get(f"/v1/live/ties/{TIE}")).json()
    assert [a["id"] for a in after["timeline"]] == [goal_alert().id]
    assert after["last_id"] == entry.decode()
    assert (await client.get("/v1/live/ties/nope")).status == 404


async def test_metrics_exposition(client: TestClient[object, object], redis: Redis) -> None:
    await redis.xadd(keys.dlq("delivery"), {"reason": "test"})
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    text = await resp.text()
    assert 'notifier_dlq_entries{stage="delivery"} 1.0' in text
    assert 'notifier_consumer_lag{group="aggregator"}' in text
    assert 'notifier_consumer_pending{group="dispatcher"}' in text
    assert "# TYPE notifier_event_to_alert_seconds histogram" in text
