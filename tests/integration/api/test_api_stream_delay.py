"""``/v1/stream?delay=N``: alerts N seconds behind, a goal ruled out within them never sent nor
its cancellation, none early, and a reconnect with the last event id gets the rest, the same."""

from __future__ import annotations

import time
from datetime import datetime

import aiohttp
import orjson
from redis.asyncio import Redis

from tests.integration.api.test_api import A
from tests.integration.api.test_api_stream import _events, _opened, base  # noqa: F401 (fixture)
from tests.integration.deliver.test_delivery_delay import _match
from tests.integration.deliver.test_delivery_support import publish

DELAY = 1


async def test_a_delayed_stream_never_sends_a_goal_ruled_out_within_the_delay(
    redis: Redis,
    base: str,  # noqa: F811
) -> None:
    alerts = _match()  # kick-off, goal, goal ruled out, red card, away goal
    async with aiohttp.ClientSession() as http:
        url = base + f"/v1/stream?match=api-football:1&delay={DELAY}"
        async with http.get(url, headers=A) as resp:
            assert resp.status == 200
            await _opened(resp)
            for alert in alerts[:4]:
                await publish(redis, alert)
            first = await _events(resp, 1, within=4)
            arrived = time.time()
        # Reconnect: the rest comes from where the last event left off.
        headers = A | {"Last-Event-ID": first[-1]["id"]}
        for alert in alerts[4:]:
            await publish(redis, alert)
        async with http.get(url, headers=headers) as resp:
            await _opened(resp)
            rest = await _events(resp, 2, within=4)
        async with http.get(base + "/v1/stream?delay=901", headers=A) as bad:
            assert bad.status == 422
            assert (await bad.json())["errors"][0]["field"] == "delay"
    got = [orjson.loads(e["data"]) for e in [*first, *rest]]
    assert [a["id"] for a in got] == [alerts[i].id for i in (0, 4, 5)]  # not the other match
    emitted = datetime.fromisoformat(got[0]["emitted_at"]).timestamp()
    assert arrived >= emitted + DELAY
