"""The bots' tests share (a plugin of tests/conftest.py): tokens, settings pointing at the local
platform servers, and those servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from nacl.signing import SigningKey

from notifier.settings import Settings
from tests.integration.api.chat.platforms import BotApiServer, DiscordServer, SlackServer, serving

TG_TOKEN = "123456:" + "A" * 35
DISCORD_TOKEN = "MTIz" + "b" * 40 + ".x.y"
SLACK_TOKEN = "xoxb-1-2-" + "c" * 24
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TG_SECRET = "webhook-secret-" + "s" * 16
APP_ID = "111222333444"
DISCORD_KEY = SigningKey(bytes(range(32)))  # a fixed key: the application's signing key


def bot_settings(
    redis_url: str,
    *,
    telegram_url: str = "http://127.0.0.1:9",
    discord_url: str = "http://127.0.0.1:9",
    slack_url: str = "http://127.0.0.1:9",
    **bots: Any,
) -> Settings:
    """Every bot configured, pointing at local servers; loopback deliveries allowed."""
    delivery = {
        "allow_http": True,
        "allow_networks": ["127.0.0.0/8"],
        "telegram_url": telegram_url,
        "discord_url": discord_url,
        "retry_schedule_s": [0.2, 0.5, 1.0],
        "jitter": 0.0,
        "retry_poll_s": 0.05,
        "timeout_s": 5.0,
    }
    config: dict[str, Any] = {
        "telegram": {"token": TG_TOKEN, "mode": "polling", "poll_timeout_s": 1},
        "discord": {
            "public_key": DISCORD_KEY.verify_key.encode().hex(),
            "application_id": APP_ID,
            "token": DISCORD_TOKEN,
        },
        "slack": {
            "signing_secret": SLACK_SECRET,
            "bot_token": SLACK_TOKEN,
            "api_url": slack_url + "/api",
        },
    }
    config.update(bots)
    return Settings.load(None, redis_url=redis_url, delivery=delivery, bots=config)


@pytest.fixture
async def bot_api() -> AsyncIterator[tuple[BotApiServer, str]]:
    """A local Telegram Bot API."""
    server = BotApiServer(TG_TOKEN)
    async with serving(server.app()) as url:
        yield server, url


@pytest.fixture
async def discord_api() -> AsyncIterator[tuple[DiscordServer, str]]:
    """A local Discord REST API."""
    server = DiscordServer(DISCORD_TOKEN)
    async with serving(server.app()) as url:
        yield server, url


@pytest.fixture
async def slack_api() -> AsyncIterator[tuple[SlackServer, str]]:
    """A local Slack Web API."""
    server = SlackServer(SLACK_TOKEN, channels={"C0123456"})
    async with serving(server.app()) as url:
        yield server, url
