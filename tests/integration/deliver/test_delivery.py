"""The delivery engine against real receivers on 127.0.0.1 and a real Redis: fan-out exactly once,
retries, order, dead targets, gone targets, SSRF at delivery time, dead letters and replay.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from redis.asyncio import Redis
from standardwebhooks.webhooks import Webhook

from notifier.bus import keys
from notifier.bus.connect import cancel
from notifier.bus.subscriptions import SubscriptionStore
from tests.integration.deliver.test_delivery_support import (
    Receiver,
    dispatching,
    eventually,
    json_of,
    make_alert,
    publish,
    receiving,
    settings_for,
    subscribe,
)
from workers.deliver import dlq
from workers.deliver.dispatcher import Dispatcher
from workers.deliver.send import build_channels, open_session

CHANNEL_MIX = {"webhook": 400, "slack": 150, "discord": 150, "telegram": 150, "ntfy": 150}


def _spec(channel: str, i: int, rec: Receiver) -> dict[str, object]:
    match channel:
        case "webhook":
            return {"url": rec.url(f"/hook/{i}"), "secret": None}
        case "slack":
            return {"url": f"/services/T{i}/B{i}/x"}
        case "discord":
            return {"url": f"/api/webhooks/{i}/tok"}
        case "telegram":
            return {"secret": f"{i}:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "options": {"chat_id": i}}
        case _:
            return {"options": {"topic": f"t{i}"}}


def _who(path: str, body: bytes) -> str:
    """Which subscription a request was for, from what each platform's request carries."""
    if path.startswith("/hook/"):
        return "webhook:" + path.rsplit("/", 1)[1]
    if path.startswith("/services/T"):
        return "slack:" + path.split("/")[2][1:]
    if path.startswith("/api/webhooks/"):
        return "discord:" + path.split("/")[3]
    if path.startswith("/bot"):
        return f"telegram:{json_of(body)['chat_id']}"
    return "ntfy:" + json_of(body)["topic"][1:]


async def test_one_alert_reaches_1000_subscriptions_exactly_once(
    redis: Redis, redis_url: str
) -> None:
    from notifier.channels.webhook import generate_secret

    async with receiving() as rec:
        settings = settings_for(redis_url, rec.url())
        store = SubscriptionStore(redis)
        secrets: dict[str, str] = {}
        for channel, count in CHANNEL_MIX.items():
            for i in range(count):
                spec = _spec(channel, i, rec)
                if channel == "webhook":
                    secrets[str(i)] = generate_secret()
                    spec["secret"] = secrets[str(i)]
                await subscribe(store, channel=channel, **spec)
        alert = make_alert()
        async with dispatching(redis, settings) as d:
            await publish(redis, alert)
            await rec.wait_for(lambda: len(rec.seen) >= 1000, within=30)  # a bound, not speed
            await publish(redis, alert)  # the same alert again: a redelivery
            await d.engine.idle()
            await asyncio.sleep(0.1)
        got = [_who(path, body) for path, _, body in rec.seen]
        assert len(got) == 1000 == len(set(got))
        for path, headers, body in rec.seen:
            if path.startswith("/hook/"):  # every signature verifies with standardwebhooks
                secret = secrets[path.rsplit("/", 1)[1]]
                assert Webhook(secret).verify(body, headers)["id"] == alert.id
        assert await redis.xlen(keys.dlq("delivery")) == 0


async def test_a_receiver_failing_twice_gets_the_alert_once(redis: Redis, redis_url: str) -> None:
    calls = 0

    async def flaky(request: web.Request, body: bytes) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        return web.Response(status=500 if calls <= 2 else 200)

    async with receiving(flaky) as rec:
        settings = settings_for(redis_url)
        store = SubscriptionStore(redis)
        await subscribe(store, channel="webhook", url=rec.url("/h"))
        async with dispatching(redis, settings) as d:
            await publish(redis, make_alert())
            await rec.wait_for(lambda: calls >= 3)
            await d.engine.idle()
        assert calls == 3 and len(rec.ids()) == 1  # the same message id each time
        assert await redis.zcard(keys.retry_due(0)) == 0
        await asyncio.sleep(0.1)
        assert calls == 3


async def test_an_alert_read_again_while_its_send_is_on_the_wire_is_not_sent_twice(
    redis: Redis, redis_url: str
) -> None:
    """The second entry's fan-out reads the delivery marks while the first send is unanswered
    (nothing marked yet), then waits its turn behind it: by then the mark is there."""
    answered = asyncio.Event()

    async def slow(request: web.Request, body: bytes) -> web.StreamResponse:
        await answered.wait()
        return web.Response(status=204)

    async with receiving(slow) as rec:
        settings = settings_for(redis_url)
        await subscribe(SubscriptionStore(redis), channel="webhook", url=rec.url("/h"))
        async with dispatching(redis, settings) as d:
            alert = make_alert()
            await publish(redis, alert)
            await rec.wait_for(lambda: len(rec.seen) == 1)
            await publish(redis, alert)  # the same alert again, the first send unanswered
            await eventually(lambda: _acked_none(redis, d))
            answered.set()
            await eventually(lambda: _all_acked(redis))
            await d.engine.idle()
        assert len(rec.seen) == 1


async def _acked_none(redis: Redis, d: Dispatcher) -> bool:
    """Both entries read, neither settled: the second fan-out waits behind the first."""
    pending = await redis.xpending(keys.alerts(0), keys.GROUP_DISPATCHER)
    return int(pending["pending"]) == 2 and len(d.engine.tasks) == 2


async def _all_acked(redis: Redis) -> bool:
    pending = await redis.xpending(keys.alerts(0), keys.GROUP_DISPATCHER)
    return int(pending["pending"]) == 0


async def test_order_is_kept_per_subscription_and_a_dead_one_delays_nobody(
    redis: Redis, redis_url: str
) -> None:
    fails = {"/slow": 2}

    async def answer(request: web.Request, body: bytes) -> web.StreamResponse:
        if fails.get(request.path, 0) > 0:
            fails[request.path] -= 1
            return web.Response(status=503, headers={"Retry-After": "0.2"})
        if request.path == "/dead":
            await asyncio.sleep(10)  # hangs past the delivery timeout
        return web.Response(status=204)

    async with receiving(answer) as rec:
        settings = settings_for(redis_url, timeout_s=0.5)
        store = SubscriptionStore(redis)
        for path in ("/slow", "/fast", "/dead"):
            await subscribe(store, channel="webhook", url=rec.url(path))
        async with dispatching(redis, settings):
            start = time.monotonic()
            for n in (1, 2, 3):
                await publish(redis, make_alert(n))
            await rec.wait_for(lambda: _texts(rec, "/fast") == [1, 2, 3])
            assert time.monotonic() - start < 0.4  # not held up by /dead nor /slow
            await rec.wait_for(lambda: len(_texts(rec, "/slow")) >= 5)
        assert _texts(rec, "/slow") == [1, 1, 1, 2, 3]  # failed twice, then in order


def _texts(rec: Receiver, path: str) -> list[int]:
    return [json_of(b)["minute"] - 20 for p, _, b in rec.seen if p == path]


async def test_gone_disables_the_subscription(redis: Redis, redis_url: str) -> None:
    async def gone(request: web.Request, body: bytes) -> web.StreamResponse:
        return web.Response(status=410)

    async with receiving(gone) as rec:
        settings = settings_for(redis_url)
        store = SubscriptionStore(redis)
        sub = await subscribe(store, channel="webhook", url=rec.url("/h"))
        async with dispatching(redis, settings) as d:
            await publish(redis, make_alert(1))
            await rec.wait_for(lambda: len(rec.seen) == 1)
            await d.engine.idle()
            await publish(redis, make_alert(2))
            await asyncio.sleep(0.15)
        stored = await store.get(sub.id)
        assert stored is not None and not stored.enabled
        assert "gone" in (stored.disabled_reason or "")
        assert len(rec.seen) == 1  # nothing more was sent to it
        (dead,) = await dlq.list_entries(redis, "delivery")
        assert dead["sub"] == sub.id and "410" in dead["reason"]


async def test_ssrf_at_delivery_time_is_refused(redis: Redis, redis_url: str) -> None:
    async with receiving() as rec:
        settings = settings_for(redis_url, allow_networks=[])  # loopback not allowed here
        store = SubscriptionStore(redis)
        # As if the name resolved to a public address at subscribe time, and now does not.
        await subscribe(store, channel="webhook", url=f"http://localhost:{rec.port}/h")
        await subscribe(store, channel="webhook", url=rec.url("/literal"))
        async with dispatching(redis, settings) as d:
            await publish(redis, make_alert())
            await eventually(lambda: _dead_letters(redis, 2))
            await d.engine.idle()
        assert rec.seen == []
        reasons = [e["reason"] for e in await dlq.list_entries(redis, "delivery")]
        assert all("refused" in r or "not public" in r for r in reasons), reasons


async def test_exhausted_deliveries_are_dead_lettered_then_replayed(
    redis: Redis, redis_url: str
) -> None:
    healthy = False

    async def answer(request: web.Request, body: bytes) -> web.StreamResponse:
        return web.Response(status=200 if healthy else 500, text="boom")

    async with receiving(answer) as rec:
        settings = settings_for(redis_url, retry_schedule_s=[0.02, 0.02])
        store = SubscriptionStore(redis)
        sub = await subscribe(store, channel="webhook", url=rec.url("/h"))
        alert = make_alert()
        async with dispatching(redis, settings) as d:
            await publish(redis, alert)
            await eventually(lambda: _dead_letters(redis, 1))
            assert len(rec.seen) == 3  # the first try and two retries
            (dead,) = await dlq.list_entries(redis, "delivery")
            assert dead["alert_id"] == alert.id and dead["sub"] == sub.id
            assert "gave up after 3 tries" in dead["reason"] and "500" in dead["reason"]
            assert rec.url() not in str(dead)  # no target URL in a dead letter
            healthy = True
            assert await dlq.replay(redis, settings, "delivery") == (1, [])
            await rec.wait_for(lambda: len(rec.seen) == 4)
            await d.engine.idle()
        assert await redis.xlen(keys.dlq("delivery")) == 0
        assert rec.seen[-1][1]["webhook-id"] == rec.seen[0][1]["webhook-id"]


async def test_a_retry_survives_a_restart(redis: Redis, redis_url: str) -> None:
    up = False

    async def answer(request: web.Request, body: bytes) -> web.StreamResponse:
        return web.Response(status=200 if up else 502)

    async with receiving(answer) as rec:
        settings = settings_for(redis_url, retry_schedule_s=[0.3, 0.3])
        await subscribe(SubscriptionStore(redis), channel="webhook", url=rec.url("/h"))
        async with dispatching(redis, settings, "first"):
            await publish(redis, make_alert())
            await rec.wait_for(lambda: len(rec.seen) == 1)
        assert await redis.zcard(keys.retry_due(0)) == 1  # waiting in Redis, not in memory
        up = True
        async with dispatching(redis, settings, "second"):
            await rec.wait_for(lambda: len(rec.seen) == 2)
        assert await redis.zcard(keys.retry_due(0)) == 0


@pytest.mark.parametrize("hard", [False, True], ids=["stopped", "cancelled"])
async def test_killed_mid_fan_out_restart_delivers_the_rest_once(
    redis: Redis, redis_url: str, hard: bool
) -> None:
    async def answer(request: web.Request, body: bytes) -> web.StreamResponse:
        await asyncio.sleep(0.01)
        return web.Response(status=204)

    async with receiving(answer) as rec:
        settings = settings_for(redis_url, concurrency=8, per_host=8)
        store = SubscriptionStore(redis)
        for i in range(300):
            await subscribe(store, channel="webhook", url=rec.url(f"/hook/{i}"))
        async with open_session(settings) as session:
            first = Dispatcher(
                redis, settings, instance="one", channels=build_channels(session, settings)
            )
            stop = asyncio.Event()
            task = asyncio.create_task(first.run(stop.is_set))
            await publish(redis, make_alert())
            await rec.wait_for(lambda: len(rec.seen) >= 100)
            if hard:
                await cancel(task)
            else:
                stop.set()
                await asyncio.wait_for(task, 5)
        before = len(rec.seen)
        assert before < 300  # it really stopped mid-fan-out
        async with dispatching(redis, settings, "two") as d:
            await rec.wait_for(lambda: len(rec.ids()) == 300)
            await d.engine.idle()
        ids = rec.ids()
        assert set(ids) == {f"api-football:1:goal:1|{s}" for s in _sub_ids(ids)}
        duplicates = len(rec.seen) - len(ids)
        # A graceful stop lets what is in flight finish: no duplicate at all. A hard kill can
        # resend only what was in flight or not yet marked (at most twice the concurrency), with
        # the same webhook-id.
        assert duplicates == 0 if not hard else duplicates <= 2 * 8


def _sub_ids(ids: object) -> set[str]:
    return {i.rsplit("|", 1)[1] for i in ids}  # type: ignore[attr-defined]


async def _dead_letters(redis: Redis, n: int) -> bool:
    return bool(await redis.xlen(keys.dlq("delivery")) >= n)


async def test_each_subscription_gets_the_text_in_its_language(
    redis: Redis, redis_url: str
) -> None:
    """One alert, rendered per subscription's ``lang`` at delivery; the JSON beside the text
    stays the same (kind, score, parts)."""
    import orjson

    from tests.integration.api.test_api_stream import GOAL_PARTS

    async with receiving() as rec:
        settings = settings_for(redis_url, rec.url())
        store = SubscriptionStore(redis)
        for lang in ("de", "it", None):
            await subscribe(store, channel="webhook", url=rec.url(f"/hook/{lang}"), lang=lang)
        english = "GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate"
        alert = make_alert(parts=GOAL_PARTS, text=english)
        async with dispatching(redis, settings) as d:
            await publish(redis, alert)
            await rec.wait_for(lambda: len(rec.seen) >= 3)
            await d.engine.idle()
        by_path = {path: orjson.loads(body) for path, _, body in rec.seen}
    texts = {path.rsplit("/", 1)[1]: body["text"] for path, body in by_path.items()}
    assert texts == {
        "de": "TOR Atalanta 1:0 Dortmund (Scamacca 23'). Dortmund führt im Gesamtstand mit 2:1",
        "it": "GOL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund avanti 2-1 nel doppio confronto",
        "None": english,
    }
    assert {orjson.dumps(b["parts"]) for b in by_path.values()} == {orjson.dumps(GOAL_PARTS)}


async def test_an_unfollowed_chat_gets_nothing_of_its_backlog(
    redis: Redis, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Telegram takes a message a second per chat: four goals at once are a backlog of three
    # seconds. The chat unfollows as the first arrives; "Stopped following" is the last word.
    caplog.set_level("INFO", logger="notifier.delivery")
    async with receiving() as rec:
        settings = settings_for(redis_url, rec.url())
        store = SubscriptionStore(redis)
        token = "7:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        sub = await subscribe(store, channel="telegram", secret=token, options={"chat_id": 7})
        async with dispatching(redis, settings):
            for n in range(1, 5):
                await publish(redis, make_alert(n))
            await rec.wait_for(lambda: len(rec.seen) >= 1, within=10)
            assert await store.delete(sub)
            await asyncio.sleep(4)  # the backlog's time, and then some: nothing more comes
    texts = [json_of(body)["text"] for _, _, body in rec.seen]
    assert len(texts) == 1 and "GOAL 1" in texts[0], texts
    # Dropped after waiting for its turn, or (a wait too long to sleep) from the retry line.
    said = {r.getMessage() for r in caplog.records}
    assert said & {"delivery_dropped", "retries_dropped"}, said
