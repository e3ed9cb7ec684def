"""The API's doors, beyond tests/integration/test_api.py: every route with every method and every
kind of bad credential is a 401 (only ``/healthz`` is open, and the email unsubscribe link, which
its own signature authenticates: 404 without it); another token's subscription looks
exactly like one that does not exist; oversized bodies, headers and queries are refused however
they are sent; no answer (errors included) repeats a secret; every error is a problem document.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from notifier.api.auth import SIGNED
from tests.counts import tried
from tests.integration.api.test_api import HOOK, A, B, serving
from tests.integration.deliver.test_delivery_support import settings_for

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
BAD_CREDENTIALS: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer wrong"},
    {"Authorization": "Bearer token-"},  # a prefix of a real token
    {"Authorization": "Bearer token-aa"},  # a real token and more
    {"Authorization": "Bearer TOKEN-A"},
    {"Authorization": "Basic dG9rZW4tYTo="},  # token-a as basic auth
    {"Authorization": "token-a"},
    {"Authorization": "Bearer token-a token-b"},
    {"X-Api-Key": "token-a"},
    {"Cookie": "nf_token=wrong"},
]
COOKIE_ONLY = {"Cookie": "nf_token=token-a"}  # a cookie never authorises a change


def _sample(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "sub_0123456789abcdef0123", path)


async def test_every_route_method_and_bad_credential_is_refused(
    redis: Redis, redis_url: str
) -> None:
    settings = settings_for(redis_url)
    async with serving(settings, redis) as (base, app), aiohttp.ClientSession(base) as http:
        paths = {_sample(r.resource.canonical) for r in app.router.routes() if r.resource}
        paths |= {"/static/live.js", "/v1/nowhere", "/v1/subscriptions/../healthz/x", *SIGNED}
        assert "/healthz" in paths and "/v1/subscriptions" in paths
        for path in sorted(paths):
            for method in METHODS:
                creds = [*BAD_CREDENTIALS]
                if method not in ("GET", "HEAD"):
                    creds.append(COOKIE_ONLY)
                    creds.append({"Authorization": "Bearer wrong", **COOKIE_ONLY})
                for headers in creds:
                    tried("security: unauthenticated or wrong-token requests")
                    async with http.request(method, path, headers=headers) as resp:
                        if path == "/healthz":
                            assert resp.status in (200, 405), (method, path)
                            continue
                        if path == "/v1/email/unsubscribe":  # no valid signature: nothing
                            assert resp.status in (404, 405), (method, path)
                            continue
                        if method == "POST" and path in SIGNED:  # the platform's signature
                            assert resp.status == 404  # checks them; no bot configured: no route
                            continue
                        assert resp.status == 401, (method, path, headers, resp.status)
                        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_anothers_subscription_is_indistinguishable_from_none(
    redis: Redis, redis_url: str
) -> None:
    async with (
        serving(settings_for(redis_url), redis) as (base, _),
        aiohttp.ClientSession(base) as http,
    ):
        async with http.post("/v1/subscriptions", json=HOOK, headers=A) as resp:
            theirs = (await resp.json())["id"]
        nobody = "sub_" + "0" * 20
        for method, body in (("GET", None), ("PATCH", {"teams": ["X"]}), ("DELETE", None)):
            answers = []
            for sub in (theirs, nobody):
                tried("security: requests for another token's subscription")
                async with http.request(
                    method, f"/v1/subscriptions/{sub}", json=body, headers=B
                ) as resp:
                    answers.append((resp.status, await resp.text()))
            assert answers[0] == answers[1] and answers[0][0] == 404, (method, answers)
        async with http.get(f"/v1/subscriptions/{theirs}", headers=A) as resp:
            assert resp.status == 200 and (await resp.json())["teams"] == ["Dortmund"]


async def _status(http: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> int:
    tried("security: oversized requests")
    try:
        async with http.request(method, path, **kw) as resp:
            assert resp.status < 500, (method, path, resp.status)
            return resp.status
    except aiohttp.ClientError:
        return 0  # the server hung up: refused too


async def test_oversized_requests_are_refused_however_sent(redis: Redis, redis_url: str) -> None:
    settings = settings_for(redis_url)
    settings.api.max_body_bytes = 4096
    async with serving(settings, redis) as (base, _), aiohttp.ClientSession(base) as http:
        async with http.post("/v1/subscriptions", json=HOOK, headers=A) as resp:
            sub = f"/v1/subscriptions/{(await resp.json())['id']}"
        big = HOOK | {"description": "x" * 100, "teams": ["t" * 200] * 50}
        json_a = {**A, "Content-Type": "application/json"}

        async def chunks() -> Any:
            for _ in range(64):
                yield b" " * 1024  # JSON whitespace: valid, and endless, without Content-Length

        assert await _status(http, "POST", "/v1/subscriptions", json=big, headers=A) == 413
        assert await _status(http, "PATCH", sub, json=big, headers=A) == 413
        for method, path in (("POST", "/v1/subscriptions"), ("PATCH", sub)):
            assert await _status(http, method, path, data=chunks(), headers=json_a) == 413
        huge_header = {**A, "X-Filler": "y" * 20_000}
        assert await _status(http, "GET", "/v1/subscriptions", headers=huge_header) in (0, 400, 431)
        long_query = "/v1/stream?team=" + "z" * 20_000
        assert await _status(http, "GET", long_query, headers=A) in (0, 400, 414, 422)


SECRET = "whsec_" + "QUJD" * 8  # valid base64, 24 bytes
BOT = "123456:" + "S" * 35


@pytest.mark.parametrize(
    "body",
    [
        HOOK | {"secret": "whsec_" + "A" * 7},  # too short
        HOOK | {"secret": SECRET.replace("whsec_", "wh_")},  # wrong prefix
        HOOK | {"secret": SECRET + "!"},  # not base64
        HOOK | {"secret": SECRET, "url": "ftp://127.0.0.1/"},  # the error is elsewhere
        HOOK | {"secret": SECRET, "kinds": ["nope"]},
        {"channel": "slack", "url": "https://hooks.example/x", "secret": SECRET, "teams": ["X"]},
        {"channel": "telegram", "secret": BOT, "teams": ["X"]},  # chat id missing
        {"channel": "telegram", "secret": BOT + "/", "options": {"chat_id": 1}, "teams": ["X"]},
        {"channel": "telegram", "secret": [BOT], "options": {"chat_id": 1}, "teams": ["X"]},
    ],
)
async def test_a_refused_secret_is_never_echoed(
    redis: Redis, redis_url: str, body: dict[str, Any]
) -> None:
    async with (
        serving(settings_for(redis_url), redis) as (base, _),
        aiohttp.ClientSession(base) as http,
    ):
        tried("security: requests with secrets in refused bodies")
        async with http.post("/v1/subscriptions", json=body, headers=A) as resp:
            text = await resp.text()
        assert resp.status == 422, text
        for secret in (SECRET, SECRET[6:], BOT, BOT.split(":")[1]):
            assert secret[:20] not in text, text


async def test_no_answer_shows_a_secret_of_the_server(redis: Redis, redis_url: str) -> None:
    url = redis_url.replace("redis://", "redis://:hunter2-redis-password@")
    settings = settings_for(url).model_copy(update={"redis_url": url})
    async with serving(settings, redis) as (base, _), aiohttp.ClientSession(base) as http:
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/subscriptions"):
            for headers in (A, {}):
                tried("security: answers searched for server secrets")
                async with http.get(path, headers=headers) as resp:
                    text = await resp.text()
                for secret in ("hunter2-redis-password", "token-a", "token-b"):
                    assert secret not in text, (path, secret)


async def test_every_error_is_a_problem_document(redis: Redis, redis_url: str) -> None:
    # Found by fuzzing: a missing static file was an empty application/octet-stream 404.
    async with (
        serving(settings_for(redis_url), redis) as (base, _),
        aiohttp.ClientSession(base) as http,
    ):
        for path in ("/static/nope.js", "/static/..%2f..%2fsettings.py", "/v1/nowhere"):
            tried("security: error answers checked")
            async with http.get(path, headers=A) as resp:
                assert resp.status == 404, path
                assert resp.content_type == "application/problem+json", path
        async with http.get("/static/live.js", headers=A) as resp:
            assert resp.status == 200 and "javascript" in resp.content_type
