"""Shared pieces of the delivery and API tests: a real receiver, alerts, settings, subscriptions.

(Named ``test_*`` to sit with the tests it serves; it defines no test itself.)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from redis.asyncio import Redis

from notifier.bus import keys, streams
from notifier.bus.entries import alert_fields
from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.subscriptions import Subscription, SubscriptionSpec, new_id
from notifier.channels.webhook import generate_secret
from notifier.domain.alerts import Alert
from notifier.domain.models import MatchStatus, Score
from notifier.settings import ApiSettings, DeliverySettings, Settings, StreamSettings
from workers.deliver.dispatcher import Dispatcher
from workers.deliver.send import build_channels, open_session, redis_channels

LOOPBACK = ["127.0.0.0/8", "::1/128"]
Answer = Callable[[web.Request, bytes], Awaitable[web.StreamResponse]]


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records (path, headers, body) and answers."""

    port: int = 0
    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    answer: Answer | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: list[float] = field(default_factory=list)  # epoch s of each request in seen

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.arrived.append(time.time())
        self.seen.append((request.path_qs, dict(request.headers), body))
        self.changed.set()
        if self.answer is None:
            return web.Response(text="ok")
        return await self.answer(request, body)

    async def wait_for(self, check: Callable[[], bool], within: float = 4.0) -> None:
        """Wait until ``check()`` holds (re-checked at each request), or fail."""
        async with asyncio.timeout(within):
            while not check():
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await self.changed.wait()

    def ids(self) -> Counter[str]:
        """How often each ``webhook-id`` arrived."""
        return Counter(h.get("webhook-id", "") for _, h, _ in self.seen if h.get("webhook-id"))


@contextlib.asynccontextmanager
async def receiving(answer: Answer | None = None) -> AsyncIterator[Receiver]:
    """A receiver for the duration of the block."""
    rec = Receiver(answer=answer)
    app = web.Application(client_max_size=1024**2)
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.2, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.port = runner.addresses[0][1]
    try:
        yield rec
    finally:
        await runner.cleanup()


def settings_for(redis_url: str, base: str = "http://127.0.0.1:9", **delivery: Any) -> Settings:
    """Settings for a test: loopback targets allowed, fast retries, short blocks."""
    opts: dict[str, Any] = {
        "allow_http": True,
        "allow_networks": LOOPBACK,
        "slack_url": base,
        "discord_url": base,
        "telegram_url": base,
        "ntfy_url": base,
        "retry_schedule_s": [0.05, 0.05, 0.05],
        "jitter": 0.0,
        "retry_poll_s": 0.02,
        "timeout_s": 2.0,
    }
    opts.update(delivery)
    return Settings(
        redis_url=redis_url,
        console=False,
        streams=StreamSettings(block_ms=20, lease_ttl_ms=1000),
        delivery=DeliverySettings(**opts),
        api=ApiSettings(tokens=["token-a", "token-b"], sse_heartbeat_s=0.2),  # type: ignore[list-item]
        shutdown_grace_s=1.0,
    )


def partitioned(settings: Settings, partitions: int, lease_ttl_ms: int) -> Settings:
    """``settings`` with ``partitions`` alert partitions held by leases of ``lease_ttl_ms``."""
    streams = StreamSettings(partitions=partitions, block_ms=20, lease_ttl_ms=lease_ttl_ms)
    return settings.model_copy(update={"streams": streams})


async def owns(dispatcher: Dispatcher, partitions: set[int]) -> bool:
    """Whether the dispatcher holds exactly these partitions."""
    return dispatcher.owned == partitions


def make_alert(n: int = 1, **overrides: Any) -> Alert:
    """Alert number ``n`` of match ``api-football:1`` (Atalanta v Dortmund)."""
    at = datetime.now(UTC)
    fields: dict[str, Any] = {
        "id": f"api-football:1:goal:{n}",
        "kind": "goal",
        "text": f"GOAL {n}: Atalanta 1-0 Dortmund",
        "match": "api-football:1",
        "tie": "t1",
        "event": f"e{n}",
        "competition": "UEFA Champions League",
        "home": "Atalanta",
        "away": "Dortmund",
        "status": MatchStatus.FIRST_HALF,
        "minute": 20 + n,
        "score": Score(home=1, away=0),
        "occurred_at": at,
        "detected_at": at,
        "emitted_at": at,
    }
    return Alert(**(fields | overrides))


async def publish(r: Redis, alert: Alert, p: int = 0) -> str:
    """Add an alert to partition p's stream as the aggregator does; its entry id."""
    return await streams.publish(r, keys.alerts(p), alert_fields(alert), maxlen=10_000)


async def subscribe(store: SubscriptionStore, owner: str = "owner", **spec: Any) -> Subscription:
    """Store a subscription directly (no API, so no subscribe-time checks)."""
    now = datetime.now(UTC)
    spec.setdefault("teams", ["Dortmund"])
    if spec["channel"] == "webhook" and not spec.get("secret"):
        spec["secret"] = generate_secret()
    sub = Subscription(
        id=new_id(), owner=owner, spec=SubscriptionSpec(**spec), created_at=now, updated_at=now
    )
    await store.create(sub)
    return sub


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 3.0) -> None:
    """Poll ``check()`` every 20 ms until it holds; fail after ``within`` seconds."""
    for _ in range(int(within / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not true within {within}s")


def json_of(body: bytes) -> Any:
    """A request body as JSON."""
    return orjson.loads(body)


@contextlib.asynccontextmanager
async def dispatching(
    r: Redis, settings: Settings, instance: str = "d1"
) -> AsyncIterator[Dispatcher]:
    """A dispatcher running in the background; stopped (gracefully) at the end."""
    async with open_session(settings) as session:
        channels = build_channels(session, settings)
        channels.update(await redis_channels(r, session, settings))  # webpush, email
        d = Dispatcher(r, settings, instance=instance, channels=channels)
        stop = asyncio.Event()
        task = asyncio.create_task(d.run(stop.is_set))
        try:
            yield d
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            for channel in channels.values():  # as open_pipeline does: MQTT links end here
                closing = getattr(channel, "close", None)
                if closing is not None:
                    await closing()
