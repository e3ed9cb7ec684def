"""The subscription API on a real server: auth on every route, isolation between tokens, secrets
shown once, 422 naming the field, SSRF refused at subscribe time, size limits, the browser cookie,
and a valid OpenAPI document.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from openapi_spec_validator import validate
from redis.asyncio import Redis

from notifier.api.app import init_app
from notifier.api.chat.routes import PATHS as BOT_PATHS
from notifier.api.server import GuardedRunner
from notifier.errors import ConfigError
from notifier.log import JsonFormatter
from notifier.settings import ApiSettings, Settings
from tests.integration.deliver.test_delivery_support import (
    dispatching,
    eventually,
    make_alert,
    publish,
    receiving,
    settings_for,
)

A = {"Authorization": "Bearer token-a"}
B = {"Authorization": "Bearer token-b"}
HOOK = {"channel": "webhook", "url": "http://127.0.0.1:9/hook", "teams": ["Dortmund"]}


@contextlib.asynccontextmanager
async def serving(settings: Settings, r: Redis) -> AsyncIterator[tuple[str, web.Application]]:
    """The API on a free loopback port: (base URL, app)."""
    app = init_app(settings, r)
    runner = GuardedRunner(app, settings.api, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    # Let the API's first heartbeat land: cancelling it mid-write can hang on Python 3.11.
    await eventually(lambda: _beating(r))
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", app
    finally:
        await runner.cleanup()


@pytest.fixture
async def api(redis: Redis, redis_url: str) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    async with (
        serving(settings_for(redis_url), redis) as (base, _),
        aiohttp.ClientSession(base) as http,
    ):
        yield base, http


async def _create(http: aiohttp.ClientSession, body: dict[str, Any], auth: dict[str, str] = A):
    async with http.post("/v1/subscriptions", json=body, headers=auth) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers


async def _beating(r: Redis) -> bool:
    return bool(await r.keys("nf:heartbeat:api:*"))


def _sample(path: str) -> str:
    path = re.sub(r"\{[^}]+\}", "sub_0123456789abcdef0123", path)
    return path + "x.css" if path.endswith("/") and path != "/" else path


async def test_every_route_but_healthz_needs_a_valid_token(redis: Redis, redis_url: str) -> None:
    async with serving(settings_for(redis_url), redis) as (base, app), aiohttp.ClientSession() as h:
        routes = {
            (r.method, _sample(r.resource.canonical if r.resource else "/"))
            for r in app.router.routes()
            if r.method != "HEAD"
        }
        routes.add(("GET", "/no/such/route"))
        assert {("POST", "/v1/subscriptions"), ("GET", "/v1/stream")} <= routes
        for method, path in sorted(routes):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
                async with h.request(method, base + path, headers=headers) as resp:
                    if path == "/healthz":
                        assert resp.status == 200
                        continue
                    if path == "/v1/email/unsubscribe":  # its link's signature authenticates
                        assert resp.status == 404, (method, path)
                        continue
                    if method == "POST" and path in BOT_PATHS:  # signed by the platform instead
                        assert resp.status == 404, (method, path)  # no bot configured here
                        continue
                    assert resp.status == 401, (method, path, headers)
                    assert resp.content_type == "application/problem+json"
                    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_crud_and_the_secret_is_shown_once(api: tuple[str, aiohttp.ClientSession]) -> None:
    _, http = api
    status, made, headers = await _create(http, HOOK | {"kinds": ["goal", "result"]})
    assert status == 201 and headers["Location"] == f"/v1/subscriptions/{made['id']}"
    secret = made["secret"]
    assert (
        secret.startswith("whsec_") and made["has_secret"] and made["kinds"] == ["goal", "result"]
    )
    url = f"/v1/subscriptions/{made['id']}"
    async with http.get(url, headers=A) as resp:
        shown = await resp.json()
    async with http.get("/v1/subscriptions", headers=A) as resp:
        listed = await resp.text()
    async with http.patch(url, json={"teams": ["Atalanta"], "enabled": False}, headers=A) as resp:
        patched = await resp.json()
    assert "secret" not in shown and secret not in listed and secret not in json.dumps(patched)
    assert patched["teams"] == ["Atalanta"] and patched["enabled"] is False
    async with http.patch(url, json={"rotate_secret": True}, headers=A) as resp:
        rotated = await resp.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    async with http.delete(url, headers=A) as resp:
        assert resp.status == 204
    async with http.get(url, headers=A) as resp:
        assert resp.status == 404


async def test_one_token_cannot_reach_anothers_subscription(
    api: tuple[str, aiohttp.ClientSession],
) -> None:
    _, http = api
    _, made, _ = await _create(http, HOOK)
    url = f"/v1/subscriptions/{made['id']}"
    for method, body in (("GET", None), ("PATCH", {"teams": ["X"]}), ("DELETE", None)):
        async with http.request(method, url, json=body, headers=B) as resp:
            assert resp.status == 404, method  # as if it did not exist
    async with http.get("/v1/subscriptions", headers=B) as resp:
        assert (await resp.json())["subscriptions"] == []
    async with http.get(url, headers=A) as resp:
        assert (await resp.json())["teams"] == ["Dortmund"]  # untouched


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "webhook", "url": "http://127.0.0.1:9/"}, "teams"),
        (HOOK | {"kinds": ["goal", "own_goal"]}, "kinds.1"),
        (HOOK | {"kinds": []}, "kinds"),
        (HOOK | {"colour": "red"}, "colour"),
        (HOOK | {"url": "ftp://127.0.0.1/x"}, "url"),
        (HOOK | {"url": "not a url"}, "url"),
        (HOOK | {"secret": "whsec_tooshort"}, "secret"),
        (HOOK | {"teams": ["x" * 201]}, "teams.0"),
        ({"channel": "telegram", "secret": "1:" + "a" * 30, "teams": ["X"]}, "options.chat_id"),
        ({"channel": "telegram", "options": {"chat_id": 5}, "teams": ["X"]}, "secret"),
        ({"channel": "ntfy", "teams": ["X"], "options": {"topic": "a b"}}, "options.topic"),
        ({"channel": "ntfy", "teams": ["X"], "options": {"topic": "t", "x": 1}}, "options.x"),
        ({"channel": "slack", "teams": ["X"]}, "url"),
        ({"channel": "pigeon", "teams": ["X"]}, "channel"),
        (HOOK | {"delay_s": 901}, "delay_s"),
        (HOOK | {"delay_s": -1}, "delay_s"),
        (HOOK | {"delay_s": "60"}, "delay_s"),
        (
            HOOK | {"quiet_hours": {"start": "22:00", "end": "07:00", "tz": "Mars/X"}},
            "quiet_hours.tz",
        ),
        (HOOK | {"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
        (HOOK | {"digest": {"by": "minutes", "minutes": 0}}, "digest.minutes"),
        (HOOK | {"digest": {"by": "hour"}}, "digest.by"),
        (HOOK | {"style": "live"}, "style"),
        (HOOK | {"live_goals": True}, "live_goals"),
        (
            {"channel": "slack", "style": "live", "teams": ["X"], "options": {"channel": "C0123"}},
            "secret",
        ),
        (
            {"channel": "slack", "style": "live", "teams": ["X"], "secret": "xoxb-1234567890ab"},
            "options.channel",
        ),
        (
            {
                "channel": "slack",
                "url": "https://hooks.slack.com/services/T/B/x",
                "teams": ["X"],
                "options": {"channel": "C0123"},
            },
            "options.channel",
        ),
    ],
)
async def test_invalid_subscriptions_are_422_naming_the_field(
    api: tuple[str, aiohttp.ClientSession], body: dict[str, Any], field: str
) -> None:
    status, problem, headers = await _create(api[1], body)
    assert status == 422 and headers["Content-Type"] == "application/problem+json"
    assert problem["errors"][0]["field"] == field, problem
    assert problem["detail"].startswith(field + ":")


@pytest.mark.parametrize(
    ("url", "status"),
    [
        # the document's form, but not a target this server delivers to: 403
        ("https://127.0.0.1/h", 403),
        ("https://10.1.2.3/h", 403),
        ("https://169.254.169.254/latest/meta-data", 403),
        ("https://[::1]/h", 403),
        ("https://[fd00::1]/h", 403),
        ("https://localhost/h", 403),
        ("http://example.com/h", 403),
        # not the document's form of a URL at all: 422
        ("https://[::ffff:127.0.0.1]/h", 422),
        ("https://2130706433/h", 422),
        ("https://0x7f000001/h", 422),
        ("https://0177.0.0.1/h", 422),
        ("https://127.1/h", 422),
        ("https://user:pw@example.com/h", 422),
    ],
)
async def test_ssrf_targets_are_refused_at_subscribe_time(
    redis: Redis, redis_url: str, url: str, status: int
) -> None:
    settings = settings_for(redis_url, allow_networks=[], allow_http=False)
    async with serving(settings, redis) as (base, _), aiohttp.ClientSession(base) as http:
        got, problem, _ = await _create(http, HOOK | {"url": url})
    assert got == status and problem["errors"][0]["field"] == "url", problem


async def test_size_and_type_limits(redis: Redis, redis_url: str) -> None:
    settings = settings_for(redis_url)
    settings.api.max_body_bytes = 2048
    async with serving(settings, redis) as (base, _), aiohttp.ClientSession(base) as http:
        big = HOOK | {"description": "x" * 4000}
        async with http.post("/v1/subscriptions", json=big, headers=A) as resp:
            assert resp.status == 413 and resp.content_type == "application/problem+json"
        async with http.post("/v1/subscriptions", data="x=1", headers=A) as resp:
            assert resp.status == 415
        bad = {**A, "Content-Type": "application/json"}
        async with http.post("/v1/subscriptions", data="{nope", headers=bad) as resp:
            assert resp.status == 400 and (await resp.json(content_type=None))["status"] == 400


async def test_a_browser_gets_a_cookie_from_token_in_the_url(
    api: tuple[str, aiohttp.ClientSession],
) -> None:
    base, _ = api
    jar = aiohttp.CookieJar(unsafe=True)  # a browser keeps cookies of IP hosts too
    async with aiohttp.ClientSession(base, cookie_jar=jar) as browser:
        url = "/v1/subscriptions?token=token-a&x=1"
        async with browser.get(url, allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/v1/subscriptions?x=1"
            cookie = resp.headers["Set-Cookie"]
        assert "nf_token=token-a" in cookie and "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        async with browser.get("/v1/subscriptions") as resp:
            assert resp.status == 200  # the cookie authenticates a GET
        async with browser.post("/v1/subscriptions", json=HOOK) as resp:
            assert resp.status == 401  # but never a change
        async with browser.get("/v1/subscriptions?token=wrong", allow_redirects=False) as resp:
            assert resp.status == 401


def test_without_a_token_the_api_only_runs_on_loopback(redis_url: str) -> None:
    settings = settings_for(redis_url)
    settings.api = ApiSettings(host="0.0.0.0")
    with pytest.raises(ConfigError):
        init_app(settings, Redis())
    settings.api = ApiSettings(host="127.0.0.1")
    assert init_app(settings, Redis()) is not None


async def test_loopback_without_tokens_needs_no_auth(redis: Redis, redis_url: str) -> None:
    settings = settings_for(redis_url)
    settings.api = ApiSettings(host="127.0.0.1")
    async with serving(settings, redis) as (base, _), aiohttp.ClientSession(base) as http:
        status, made, _ = await _create(http, HOOK, auth={})
        assert status == 201
        async with http.get(f"/v1/subscriptions/{made['id']}") as resp:
            assert resp.status == 200


async def test_openapi_document_is_valid_and_covers_the_routes(
    api: tuple[str, aiohttp.ClientSession],
) -> None:
    async with api[1].get("/openapi.json", headers=A) as resp:
        doc = await resp.json()
    validate(doc)
    paths = doc["paths"]
    assert set(paths["/v1/subscriptions"]) == {"get", "post"}
    assert set(paths["/v1/subscriptions/{id}"]) >= {"get", "patch", "delete"}
    assert "/v1/stream" in paths
    assert set(paths["/v1/push/key"]) == {"get"}
    assert set(paths["/v1/push/subscriptions"]) == {"post", "delete"}
    assert set(paths["/v1/email/unsubscribe"]) == {"parameters", "get", "post"}
    assert paths["/v1/email/unsubscribe"]["post"]["security"] == []  # the signed link is the auth
    schemas = doc["components"]["schemas"]
    assert {"PushRequest", "Unsubscribe"} <= set(schemas)
    alert = doc["components"]["schemas"]["Alert"]["properties"]
    assert {"needs", "need", "parts", "data"} <= set(alert)
    need = doc["components"]["schemas"]["Need"]
    assert set(need["required"]) == {"side", "team", "goals", "to"}
    assert need["properties"]["to"]["enum"] == ["win", "extra_time", "penalties", "replay"]


async def test_secrets_never_reach_the_logs(
    redis: Redis, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = "123456:SECRETtokenSECRETtokenSECRET"

    async def answer(request: web.Request, body: bytes) -> web.StreamResponse:
        return web.Response(status=500 if request.path.startswith("/bot") else 200)

    async with receiving(answer) as rec:
        settings = settings_for(redis_url, rec.url(), retry_schedule_s=[0.01])
        async with serving(settings, redis) as (base, _), aiohttp.ClientSession(base) as http:
            _, hook, _ = await _create(http, HOOK | {"url": rec.url("/h")})
            tg = {"channel": "telegram", "secret": bot, "options": {"chat_id": 1}, "teams": ["X"]}
            tg["teams"] = ["Dortmund"]
            assert (await _create(http, tg))[0] == 201
            long_secret = "whsec_" + "QUFB" * 60
            assert (await _create(http, HOOK | {"secret": long_secret}))[0] == 422
        async with dispatching(redis, settings):
            await publish(redis, make_alert())
            await rec.wait_for(lambda: len(rec.seen) >= 3)  # hook, then telegram twice
    rendered = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "delivery_dead" in rendered  # the failures were logged...
    for secret in (hook["secret"], bot, long_secret, "token-a"):
        assert secret not in rendered  # ...without a secret
