"""The optional Apprise channel: a real receiver on loopback gets an alert through ``json://``;
SSRF targets are refused at subscribe time (422) and before a send; a missing extra is a 422.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from notifier.channels import apprise as apprise_channel
from notifier.channels.apprise import AppriseChannel, check_apprise_url
from notifier.channels.base import Target
from notifier.errors import ChannelError
from notifier.net import AddressPolicy
from notifier.settings import Settings
from tests.integration.api.test_api import A, serving
from tests.integration.deliver.test_delivery_support import LOOPBACK, make_alert, settings_for

pytest.importorskip("apprise", reason="apprise is not installed: pip install '.[apprise]'")

SSRF_URLS = [
    "json://127.0.0.1:9/hook",
    "json://10.1.2.3/hook",
    "jsons://169.254.169.254/latest/meta-data",
    "json://[::1]:9/hook",
    "jsons://[::ffff:127.0.0.1]/hook",
    "json://localhost:9/hook",  # a name that resolves to a private address
]


async def _subscribe(settings: Settings, r: Redis, body: dict[str, Any]) -> tuple[int, Any]:
    """POST a subscription to a fresh API: (status, JSON answer)."""
    async with (
        serving(settings, r) as (base, _),
        aiohttp.ClientSession(base) as http,
        http.post("/v1/subscriptions", json=body, headers=A) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


@pytest.fixture
async def hook() -> AsyncIterator[tuple[int, list[dict[str, Any]], asyncio.Event]]:
    """A receiver on 127.0.0.1: (port, JSON bodies received, set on the first one)."""
    seen: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        seen.append(json.loads(await request.read()))
        arrived.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook/{name}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1], seen, arrived
    finally:
        await runner.cleanup()


async def test_an_alert_reaches_a_json_receiver_through_apprise(
    hook: tuple[int, list[dict[str, Any]], asyncio.Event],
) -> None:
    port, seen, arrived = hook
    channel = AppriseChannel(AddressPolicy.of(LOOPBACK), allow_http=True, timeout=5.0)
    target = Target(channel="apprise", url=f"json://127.0.0.1:{port}/hook/a")
    alert = make_alert(7)
    delivered = await channel.send(alert, target, idempotency_key="k")
    async with asyncio.timeout(5):
        await arrived.wait()
    assert delivered.channel == "apprise"
    assert len(seen) == 1
    assert seen[0]["message"] == alert.text
    assert "Goal" in seen[0]["title"] and "Atalanta 1-0 Dortmund" in seen[0]["title"]


async def test_a_receiver_that_fails_is_a_retryable_error(
    hook: tuple[int, list[dict[str, Any]], asyncio.Event],
) -> None:
    port, seen, _ = hook
    channel = AppriseChannel(AddressPolicy.of(LOOPBACK), allow_http=True, timeout=5.0)
    target = Target(channel="apprise", url=f"json://127.0.0.1:{port}/nowhere")  # a 404
    with pytest.raises(ChannelError) as caught:
        await channel.send(make_alert(), target, idempotency_key="k")
    assert not caught.value.permanent and not seen


@pytest.mark.parametrize("url", SSRF_URLS)
async def test_ssrf_apprise_targets_are_refused_before_sending(
    hook: tuple[int, list[dict[str, Any]], asyncio.Event], url: str
) -> None:
    port, seen, _ = hook
    channel = AppriseChannel(AddressPolicy.of([]), allow_http=True, timeout=2.0)
    with pytest.raises(ChannelError) as caught:
        await channel.send(make_alert(), Target(channel="apprise", url=url), idempotency_key="k")
    assert caught.value.permanent
    assert url not in str(caught.value)  # the host may be named, the URL (tokens) is not
    blocked = f"json://127.0.0.1:{port}/hook/a"  # the live receiver, not allow-listed here
    with pytest.raises(ValueError, match="not a public address"):
        await check_apprise_url(blocked, AddressPolicy.of([]), allow_http=True)
    assert not seen


@pytest.mark.parametrize(
    ("url", "status"),
    [
        *((u, 403) for u in SSRF_URLS),  # an Apprise URL, but not a target delivered to
        ("json://example.com/h", 403),  # plain HTTP without allow_http
        ("json://a.example, json://b.example", 422),  # one URL per subscription
        ("pigeon://coop/1", 422),  # no scheme of the installed Apprise
        ("", 422),
    ],
)
async def test_ssrf_apprise_subscriptions_are_refused(
    redis: Redis, redis_url: str, url: str, status: int
) -> None:
    settings = settings_for(redis_url, allow_networks=[], allow_http=False)
    body = {"channel": "apprise", "url": url, "teams": ["Dortmund"]}
    got, problem = await _subscribe(settings, redis, body)
    assert got == status and problem["errors"][0]["field"] == "url", problem


async def test_without_the_extra_an_apprise_subscription_is_422(
    redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apprise_channel, "apprise_installed", lambda: False)
    body = {"channel": "apprise", "url": "jsons://example.com/h", "teams": ["Dortmund"]}
    status, problem = await _subscribe(settings_for(redis_url), redis, body)
    assert status == 422, problem
    assert problem["errors"][0] == {"field": "channel", "message": "apprise extra not installed"}


async def test_an_allow_listed_apprise_subscription_is_created_and_its_url_masked(
    redis: Redis, redis_url: str
) -> None:
    body = {"channel": "apprise", "url": "json://127.0.0.1:9/hook/t0ken", "teams": ["Dortmund"]}
    status, created = await _subscribe(settings_for(redis_url), redis, body)
    assert status == 201, created
    assert "t0ken" not in json.dumps(created)
