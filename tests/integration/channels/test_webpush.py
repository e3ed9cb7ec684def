"""Web Push against a local push service that verifies VAPID and decrypts every message, and the
API the live page subscribes through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from notifier.api.auth import owner_of
from notifier.api.push import push_id
from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.base import Target
from notifier.channels.http import DeliveryClient
from notifier.channels.webpush import WebPushChannel, load_vapid, push_payload
from notifier.errors import ChannelError
from notifier.settings import ApiSettings
from tests.integration.api.test_api import A, serving
from tests.integration.deliver.test_delivery_support import (
    LOOPBACK,
    dispatching,
    eventually,
    make_alert,
    publish,
    settings_for,
)
from tests.pushservice import PushService, push_service


@pytest.fixture
async def service() -> AsyncIterator[PushService]:
    async with push_service() as s:
        yield s


def target(sub: dict[str, Any], **options: Any) -> Target:
    keys = sub["keys"]
    return Target(
        channel="webpush",
        url=sub["endpoint"],
        options={"p256dh": keys["p256dh"], "auth": keys["auth"], **options},
    )


async def channel_for(r: Redis, session: DeliveryClient) -> WebPushChannel:
    vapid = await load_vapid(r)
    return WebPushChannel(session, vapid=vapid, subject="mailto:ops@example.org", timeout=5)


async def test_a_push_is_signed_and_decrypts_to_the_alert(
    redis: Redis, service: PushService
) -> None:
    alert, t = make_alert(), target(service.subscription("a"), lang="de")
    async with DeliveryClient(allow_networks=LOOPBACK, allow_http=True) as session:
        channel = await channel_for(redis, session)
        for n in (1, 2):
            await channel.send(make_alert(n), t, idempotency_key=f"k{n}")
    assert not service.refused
    assert [r.message for r in service.received] == [push_payload(make_alert(n), t) for n in (1, 2)]
    first = service.received[0]
    assert first.message["lang"] == "de" and first.message["body"] == alert.text
    assert first.vapid_key == (await load_vapid(redis)).public_key  # the key /v1/push/key gives
    assert (first.headers["TTL"], first.headers["Urgency"]) == ("3600", "high")


@pytest.mark.parametrize("status", [404, 410])
async def test_an_expired_subscription_is_gone(
    redis: Redis, service: PushService, status: int
) -> None:
    t = target(service.subscription("old"))
    if status == 410:
        service.gone.add("old")
    else:
        service.browsers.pop("old")
    async with DeliveryClient(allow_networks=LOOPBACK, allow_http=True) as session:
        with pytest.raises(ChannelError) as caught:
            await (await channel_for(redis, session)).send(make_alert(), t, idempotency_key="k")
    assert caught.value.gone and caught.value.status == status


async def test_push_endpoints_follow_the_ssrf_rules(redis: Redis, service: PushService) -> None:
    t = target(service.subscription("a"))
    async with DeliveryClient(allow_http=True) as strict:  # loopback not allow-listed
        with pytest.raises(ChannelError) as caught:
            await (await channel_for(redis, strict)).send(make_alert(), t, idempotency_key="k")
    assert caught.value.permanent and not service.received


async def test_replicas_agree_on_one_vapid_key(redis: Redis) -> None:
    keys = await asyncio.gather(*(load_vapid(redis) for _ in range(5)))
    assert len({k.public_key for k in keys}) == 1


async def test_the_page_subscribes_and_a_410_removes_the_subscription(
    redis: Redis, redis_url: str, service: PushService
) -> None:
    settings = settings_for(redis_url)
    sub = service.subscription("page")
    body = {"subscription": sub, "ties": ["t1"], "lang": "it"}
    async with (
        serving(settings, redis) as (base, _),
        aiohttp.ClientSession(base, headers=A) as http,
    ):
        async with http.get("/v1/push/key") as resp:
            got = await resp.json()
            assert got["publicKey"] == (await load_vapid(redis)).public_key, got
        for _ in range(2):  # the page posts again on every click: one subscription
            async with http.post("/v1/push/subscriptions", json=body) as resp:
                assert resp.status == 201
                assert (await resp.json())["id"] == push_id(sub["endpoint"])
        store = SubscriptionStore(redis)
        assert len(await store.list_owned(owner_of("token-a"))) == 1
        async with http.get("/sw.js") as resp:
            assert resp.status == 200 and "showNotification" in await resp.text()
    async with dispatching(redis, settings):
        await publish(redis, make_alert(1))
        await eventually(lambda: _count(service, 1))
        service.gone.add("page")
        await publish(redis, make_alert(2))
        await eventually(lambda: _no_subscription(store, push_id(sub["endpoint"])))
    assert service.received[0].message["lang"] == "it"


async def test_without_the_webpush_extra_the_api_says_so_and_keeps_nothing(
    redis: Redis, redis_url: str, service: PushService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain install has no pywebpush: stand in for it at the one place that asks.
    monkeypatch.setattr("notifier.api.push.available", lambda: False)
    body = {"subscription": service.subscription("core"), "teams": ["Dortmund"]}
    async with (
        serving(settings_for(redis_url), redis) as (base, _),
        aiohttp.ClientSession(base, headers=A) as http,
    ):
        async with http.get("/v1/push/key") as resp:
            assert resp.status == 501 and "webpush extra" in (await resp.json())["detail"]
        async with http.post("/v1/push/subscriptions", json=body) as resp:
            assert resp.status == 501
    assert await SubscriptionStore(redis).list_owned(owner_of("token-a")) == []


async def _count(service: PushService, n: int) -> bool:
    return len(service.received) >= n


async def _no_subscription(store: SubscriptionStore, sub_id: str) -> bool:
    return await store.get(sub_id) is None


async def test_push_subscriptions_are_refused_for_private_endpoints_and_other_origins(
    redis: Redis, redis_url: str, service: PushService
) -> None:
    body = {"subscription": service.subscription("x"), "teams": ["Dortmund"]}
    strict = settings_for(redis_url, allow_networks=[])
    async with (
        serving(strict, redis) as (base, _),
        aiohttp.ClientSession(base) as http,
        http.post("/v1/push/subscriptions", json=body, headers=A) as resp,
    ):
        assert resp.status == 403  # a private address: not a target delivered to
        assert (await resp.json())["errors"][0]["field"] == "subscription.endpoint"
    api = ApiSettings(tokens=[SecretStr("t0ken")])
    guarded = settings_for(redis_url).model_copy(update={"api": api})
    async with serving(guarded, redis) as (base, _), aiohttp.ClientSession(base) as http:
        cookie = {"Cookie": "nf_token=t0ken"}
        elsewhere = cookie | {"Origin": "http://evil.example"}
        async with http.post("/v1/push/subscriptions", json=body, headers=elsewhere) as resp:
            assert resp.status == 401  # the cookie is not enough from another origin
        page = cookie | {"Origin": base}
        async with http.post("/v1/push/subscriptions", json=body, headers=page) as resp:
            assert resp.status == 201  # the live page's own request
