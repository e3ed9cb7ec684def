"""Build the configured bots around one shared :class:`BotService`."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import aiohttp
import redis.asyncio as aioredis

from notifier.api.chat import slack
from notifier.api.chat.directory import KnownTeams
from notifier.api.chat.limits import ChatLimits
from notifier.api.chat.service import BotService
from notifier.api.chat.telegram import BotApi, TelegramBot
from notifier.bus import keys
from notifier.bus.subscriptions import SubscriptionStore
from notifier.errors import ConfigError
from notifier.settings import Settings

SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,256}")  # what Telegram accepts as secret_token


@dataclass
class Bots:
    """The service and each configured platform's bot."""

    r: aioredis.Redis
    settings: Settings
    service: BotService
    session: aiohttp.ClientSession
    telegram: TelegramBot | None = None

    def now(self) -> float:
        """Seconds since the epoch (signed requests carry their time in these)."""
        return time.time()

    async def first_time(self, platform: str, signature: str) -> bool:
        """Whether a signed request is new; a replay of one already answered is not."""
        key = keys.bot_seen(platform, signature[:128])
        # Remembered longer than any window a signed request is accepted in.
        ttl = 2 * max(self.settings.bots.max_age_s, slack.MAX_AGE_S)
        return bool(await self.r.set(key, 1, nx=True, ex=ttl))


def configured(settings: Settings) -> list[str]:
    """The platforms whose bot is configured."""
    b = settings.bots
    found = []
    if b.telegram.token is not None:
        found.append("telegram")
    if b.discord.public_key is not None:
        found.append("discord")
    if b.slack.signing_secret is not None:
        found.append("slack")
    return found


def inbound(settings: Settings) -> list[str]:
    """The platforms whose configured bot the platform calls (a Telegram webhook, Discord
    interactions, Slack commands and actions): the API serves their routes, no others'. A
    Telegram bot that polls is configured but not called."""
    polling = settings.bots.telegram.mode != "webhook"
    return [p for p in configured(settings) if not (p == "telegram" and polling)]


def needs_api(settings: Settings) -> bool:
    """Whether a configured bot needs the API's inbound routes served (webhooks, slash
    commands, interactions); a Telegram bot in polling mode does not."""
    return bool(inbound(settings))


def check(settings: Settings) -> None:
    """ConfigError naming the setting if a configured bot cannot work (before it starts).

    Not a validator of the settings model: pydantic's message would quote the input, token
    included."""
    t = settings.bots.telegram
    if t.token is None or t.mode != "webhook":
        return
    if not t.webhook_url or not t.webhook_url.startswith("https://"):
        raise ConfigError("bots.telegram.webhook_url: webhook mode needs the public https URL")
    secret = t.secret_token.get_secret_value() if t.secret_token else ""
    if not SECRET_TOKEN.fullmatch(secret):
        raise ConfigError(
            "bots.telegram.secret_token: webhook mode needs 16-256 of A-Z a-z 0-9 _ -"
        )


def build_bots(settings: Settings, r: aioredis.Redis, session: aiohttp.ClientSession) -> Bots:
    """The service (subscriptions, names, limits) and the Telegram bot if it has a token."""
    check(settings)
    b = settings.bots
    known = KnownTeams(
        r,
        aliases=settings.aliases,
        teams=list(settings.teams),
        partitions=settings.streams.partitions,
    )
    limits = ChatLimits(
        r,
        per_chat_per_minute=b.commands_per_minute,
        per_team_per_minute=b.team_commands_per_minute,
        max_follows=b.max_follows,
    )
    store = SubscriptionStore(r, aliases=settings.aliases)
    service = BotService(r, store, known, limits, states=known)
    bots = Bots(r, settings, service, session)
    if b.telegram.token is not None:
        token = b.telegram.token.get_secret_value()
        api = BotApi(session, settings.delivery.telegram_url, token)
        bots.telegram = TelegramBot(api, service, r, b.telegram, token)
    return bots
