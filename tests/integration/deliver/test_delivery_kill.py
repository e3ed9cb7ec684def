"""``kill -9`` of a ``notifier dispatch`` process mid-fan-out: a restarted dispatcher delivers the
rest, and only what was in flight at the kill (sent, its mark not yet written) can arrive twice,
with the same webhook-id, which a Standard Webhooks receiver dedupes on.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from aiohttp import web
from redis.asyncio import Redis

from notifier.bus.subscriptions import SubscriptionStore
from tests.integration.deliver.test_delivery_support import (
    LOOPBACK,
    dispatching,
    make_alert,
    publish,
    receiving,
    settings_for,
    subscribe,
)
from tests.recordings import NO_SETTINGS

SUBS = 300
CONCURRENCY = 8


def _env(redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env.update(
        {
            "REDIS_URL": redis_url,
            "NOTIFIER_CONFIG": str(NO_SETTINGS),
            "NOTIFIER_CONSOLE": "false",
            "NOTIFIER_LOG_LEVEL": "WARNING",
            "NOTIFIER_DELIVERY__ALLOW_HTTP": "true",
            "NOTIFIER_DELIVERY__ALLOW_NETWORKS": json.dumps(LOOPBACK),
            "NOTIFIER_DELIVERY__CONCURRENCY": str(CONCURRENCY),
            "NOTIFIER_DELIVERY__PER_HOST": str(CONCURRENCY),
            "NOTIFIER_STREAMS__BLOCK_MS": "50",
            "NOTIFIER_STREAMS__LEASE_TTL_MS": "500",
        }
    )
    return env


async def test_kill_9_mid_fan_out_then_restart(redis: Redis, redis_url: str) -> None:
    async def answer(request: web.Request, body: bytes) -> web.StreamResponse:
        await asyncio.sleep(0.01)
        return web.Response(status=204)

    async with receiving(answer) as rec:
        store = SubscriptionStore(redis)
        for i in range(SUBS):
            await subscribe(store, channel="webhook", url=rec.url(f"/hook/{i}"))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "workers.cli.main", "dispatch", env=_env(redis_url)
        )
        try:
            await publish(redis, make_alert())
            await rec.wait_for(lambda: len(rec.seen) >= 100, within=30)
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        killed_at = len(rec.seen)
        assert killed_at < SUBS  # it died mid-fan-out
        settings = settings_for(redis_url, concurrency=CONCURRENCY)
        async with dispatching(redis, settings, "successor") as d:
            await rec.wait_for(lambda: len(rec.ids()) == SUBS)
            await d.engine.idle()
    ids = rec.ids()
    assert len(ids) == SUBS and all(i.startswith("api-football:1:goal:1|sub_") for i in ids)
    # Resent: only what was in flight, or answered but not yet marked (marks are written in
    # batches, a round trip after the answers), so at most twice the concurrency.
    assert len(rec.seen) - SUBS <= 2 * CONCURRENCY
