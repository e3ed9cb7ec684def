"""Discord interactions and Slack slash commands through the API: signed by the real libraries
(PyNaCl; slack_sdk's signer), refused unsigned, stale or replayed before anything is parsed;
the same verbs answered as embeds and Block Kit; the slash commands registered over REST."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
import pytest
from redis.asyncio import Redis
from slack_sdk.signature import SignatureVerifier

from notifier.api.chat.routes import DISCORD, PATHS, SLACK, SLACK_ACTIONS, TELEGRAM
from notifier.bus.subscriptions import SubscriptionStore
from notifier.settings import Settings
from tests.integration.api.chat.fixtures import (
    APP_ID,
    DISCORD_KEY,
    DISCORD_TOKEN,
    SLACK_SECRET,
    SLACK_TOKEN,
    bot_settings,
)
from tests.integration.api.chat.platforms import DiscordServer, SlackServer
from tests.integration.api.test_api import serving as serving_api
from workers.cli.bots import discord_register

CHANNEL, GUILD = "998877665544", "5566778899"
MANAGE_GUILD = str(1 << 5)


def interaction(name: str, value: str | None = None, perms: str = MANAGE_GUILD) -> dict[str, Any]:
    options = [{"name": "what", "type": 3, "value": value}] if value is not None else []
    return {
        "id": "1",
        "type": 2,
        "application_id": APP_ID,
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "member": {"user": {"id": "42"}, "permissions": perms},
        "data": {"id": "2", "name": name, "type": 1, "options": options},
        "token": "interaction-token",
        "version": 1,
    }


def discord_signed(body: bytes, stamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if stamp is None else stamp)
    sig = DISCORD_KEY.sign(ts.encode() + body).signature.hex()
    return {
        "X-Signature-Ed25519": sig,
        "X-Signature-Timestamp": ts,
        "Content-Type": "application/json",
    }


def slack_signed(body: bytes, stamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if stamp is None else stamp)
    sig = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=ts, body=body)
    assert sig is not None
    return {
        "X-Slack-Signature": sig,
        "X-Slack-Request-Timestamp": ts,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def slash(text: str, command: str = "/footy") -> bytes:
    fields = {
        "token": "deprecated",
        "team_id": "T0001",
        "team_domain": "club",
        "channel_id": "C0123456",
        "user_id": "U2147483697",
        "command": command,
        "text": text,
        "response_url": "https://hooks.slack.com/commands/1234/5678",
    }
    return urlencode(fields).encode()


@pytest.fixture
async def api(
    redis: Redis,
    redis_url: str,
    discord_api: tuple[DiscordServer, str],
    slack_api: tuple[SlackServer, str],
) -> AsyncIterator[tuple[aiohttp.ClientSession, Settings]]:
    config = bot_settings(redis_url, discord_url=discord_api[1], slack_url=slack_api[1])
    async with serving_api(config, redis) as (base, _), aiohttp.ClientSession(base) as http:
        yield http, config


async def post_discord(http: aiohttp.ClientSession, body: dict[str, Any]) -> tuple[int, Any]:
    raw = orjson.dumps(body)
    async with http.post("/v1/discord/interactions", data=raw, headers=discord_signed(raw)) as r:
        return r.status, await r.json(content_type=None)


async def post_slack(http: aiohttp.ClientSession, text: str) -> tuple[int, Any]:
    raw = slash(text)
    async with http.post("/v1/slack/commands", data=raw, headers=slack_signed(raw)) as r:
        return r.status, await r.json(content_type=None)


async def test_discord_ping_pong_and_a_follow_answered_with_an_embed(
    api: tuple[aiohttp.ClientSession, Settings], redis: Redis
) -> None:
    http, _ = api
    assert await post_discord(http, {"id": "0", "type": 1}) == (200, {"type": 1})
    status, body = await post_discord(http, interaction("follow", "Dortmund"))
    assert status == 200 and body["type"] == 4
    embed = body["data"]["embeds"][0]
    assert embed["title"] == "Following team Dortmund. Alerts will come to this chat."
    assert body["data"]["allowed_mentions"] == {"parse": []}
    subs = await SubscriptionStore(redis).list_owned(f"discord:{GUILD}:{CHANNEL}")
    spec = subs[0].spec
    assert (spec.channel, spec.url) == ("discord", f"/api/v10/channels/{CHANNEL}/messages")
    assert spec.secret == DISCORD_TOKEN
    status, body = await post_discord(http, interaction("follow", "t"))
    buttons = body["data"]["components"][0]["components"]
    assert [b["custom_id"] for b in buttons] == ["/follow team:Atalanta", "/follow team:Dortmund"]
    click = {**interaction("follow"), "type": 3, "data": {"custom_id": buttons[0]["custom_id"]}}
    _, body = await post_discord(http, click)
    assert body["data"]["embeds"][0]["title"].startswith("Following team Atalanta")
    _, body = await post_discord(http, interaction("unfollow", "Dortmund", perms="0"))
    assert body["data"]["flags"] == 64  # refused, to the member only
    assert body["data"]["embeds"][0]["title"].startswith("In a group only admins")


async def test_discord_refuses_unsigned_forged_stale_and_replayed_requests(
    api: tuple[aiohttp.ClientSession, Settings],
) -> None:
    http, _ = api
    raw = orjson.dumps(interaction("help"))
    old = int(time.time()) - 3600
    forged = discord_signed(raw) | {"X-Signature-Ed25519": "00" * 64}
    for headers, body in (
        ({}, raw),
        (forged, raw),
        (discord_signed(raw, old), raw),
        (discord_signed(raw), raw + b" "),  # the body changed after signing
        (discord_signed(b"{not json"), b"{not json"),  # verified first: the signature fails
    ):
        if body == b"{not json":
            headers = {**headers, "X-Signature-Ed25519": "ab" * 64}
        async with http.post("/v1/discord/interactions", data=body, headers=headers) as resp:
            assert resp.status == 401, headers
            assert DISCORD_TOKEN not in await resp.text()
    headers = discord_signed(raw)
    async with http.post("/v1/discord/interactions", data=raw, headers=headers) as resp:
        assert resp.status == 200
    async with http.post("/v1/discord/interactions", data=raw, headers=headers) as resp:
        assert resp.status == 401  # the same signed request again: a replay


async def test_discord_register_puts_every_verb(
    redis_url: str, discord_api: tuple[DiscordServer, str]
) -> None:
    server, url = discord_api
    assert await discord_register(bot_settings(redis_url, discord_url=url)) == 11
    commands = server.sent(f"commands:{APP_ID}")[0]["commands"]
    names = [c["name"] for c in commands]
    assert names[:3] == ["follow", "unfollow", "list"] and "start" not in names
    follow = commands[0]
    assert follow["options"][0] == {
        "name": "what",
        "description": "team, competition or tie",
        "type": 3,
        "required": True,
    }


async def test_slack_signature_is_slack_sdks_and_a_follow_answers_in_block_kit(
    api: tuple[aiohttp.ClientSession, Settings], redis: Redis
) -> None:
    http, _ = api
    status, body = await post_slack(http, "follow Dortmund")
    assert status == 200 and body["response_type"] == "in_channel"
    assert (
        body["blocks"][0]["text"]["text"]
        == "*Following team Dortmund. Alerts will come to this chat.*"
    )
    subs = await SubscriptionStore(redis).list_owned("slack:T0001:C0123456")
    spec = subs[0].spec
    assert (spec.channel, spec.options, spec.secret) == (
        "slack",
        {"channel": "C0123456"},
        SLACK_TOKEN,
    )
    assert spec.url.endswith("/api/chat.postMessage")
    status, body = await post_slack(http, "fly")
    assert body["response_type"] == "ephemeral" and "unknown command 'fly'" in body["text"]


async def test_slack_buttons_come_back_as_actions_and_are_answered_in_the_channel(
    api: tuple[aiohttp.ClientSession, Settings], slack_api: tuple[SlackServer, str]
) -> None:
    http, _ = api
    server, _ = slack_api
    _, body = await post_slack(http, "follow t")
    buttons = body["blocks"][-1]["elements"]
    assert [b["value"] for b in buttons] == ["/follow team:Atalanta", "/follow team:Dortmund"]
    click = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "channel": {"id": "C0123456"},
        "user": {"id": "U2147483697"},
        "actions": [{"action_id": buttons[0]["action_id"], "value": buttons[0]["value"]}],
    }
    raw = urlencode({"payload": orjson.dumps(click).decode()}).encode()
    async with http.post("/v1/slack/actions", data=raw, headers=slack_signed(raw)) as resp:
        assert resp.status == 200
    posted = server.messages("C0123456")
    assert posted[-1]["text"] == "Following team Atalanta. Alerts will come to this chat."
    async with http.post("/v1/slack/actions", data=raw, headers=slack_signed(raw)) as resp:
        assert resp.status == 401  # replayed
    forged = urlencode({"payload": "{}"}).encode()
    async with http.post("/v1/slack/actions", data=forged, headers=slack_signed(raw)) as resp:
        assert resp.status == 401  # signed for another body


async def test_slack_refuses_unsigned_stale_and_replayed_requests(
    api: tuple[aiohttp.ClientSession, Settings],
) -> None:
    http, _ = api
    raw = slash("list")
    stale = slack_signed(raw, int(time.time()) - 301)
    for headers, body in (({}, raw), (stale, raw), (slack_signed(raw), raw + b"&x=1")):
        async with http.post("/v1/slack/commands", data=body, headers=headers) as resp:
            assert resp.status == 401
            text = await resp.text()
            assert SLACK_SECRET not in text and SLACK_TOKEN not in text
    headers = slack_signed(raw)
    async with http.post("/v1/slack/commands", data=raw, headers=headers) as resp:
        assert resp.status == 200
    async with http.post("/v1/slack/commands", data=raw, headers=headers) as resp:
        assert resp.status == 401


async def test_unconfigured_platforms_are_neither_served_nor_documented(
    redis: Redis, redis_url: str
) -> None:
    config = Settings.load(None, redis_url=redis_url)
    async with serving_api(config, redis) as (base, _), aiohttp.ClientSession(base) as http:
        for path in sorted(PATHS):
            async with http.post(path, data=b"{}") as resp:
                assert resp.status == 404
        async with http.get("/openapi.json") as resp:
            paths = (await resp.json())["paths"]
    assert {TELEGRAM, DISCORD, SLACK, SLACK_ACTIONS} == PATHS and not set(paths) & PATHS


async def test_configured_platforms_are_documented(
    api: tuple[aiohttp.ClientSession, Settings],
) -> None:
    http, _ = api
    async with http.get("/openapi.json") as resp:
        paths = (await resp.json())["paths"]
    assert paths[DISCORD]["post"]["security"] == []  # signed by the platform instead
    assert {DISCORD, SLACK, SLACK_ACTIONS} <= set(paths)
    assert TELEGRAM not in paths  # its bot polls here: no webhook


async def test_no_secret_reaches_the_logs(
    api: tuple[aiohttp.ClientSession, Settings], caplog: pytest.LogCaptureFixture
) -> None:
    http, _ = api
    caplog.set_level(logging.DEBUG)
    await post_discord(http, interaction("follow", "Dortmund"))
    await post_slack(http, "follow Dortmund")
    raw = slash("list")
    for _ in range(2):  # the second one is a refused replay, logged as such
        async with http.post("/v1/slack/commands", data=raw, headers=slack_signed(raw)):
            pass
    async with http.post("/v1/discord/interactions", data=b"{}", headers={}) as resp:
        assert resp.status == 401
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "bot_request_refused" in logged
    for secret in (DISCORD_TOKEN, SLACK_TOKEN, SLACK_SECRET):
        assert secret not in logged
