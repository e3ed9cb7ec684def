"""Build the configured bots around one shared :class:`BotService`."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp
import redis.asyncio as aioredis

from notifier import keys
from notifier.bots.directory import KnownTeams
from notifier.bots.limits import ChatLimits
from notifier.bots.service import BotService
from notifier.bots.telegram import BotApi, TelegramBot
from notifier.settings import Settings
from notifier.subscription_store import SubscriptionStore

REPLAY_TTL_S = 600  # a signature is remembered longer than the window it is accepted in


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
        return bool(await self.r.set(key, 1, nx=True, ex=REPLAY_TTL_S))


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


def needs_api(settings: Settings) -> bool:
    """Whether a configured bot needs the API's inbound routes served (webhooks, slash
    commands, interactions); a Telegram bot in polling mode does not."""
    b = settings.bots
    webhook = b.telegram.token is not None and b.telegram.mode == "webhook"
    return webhook or b.discord.public_key is not None or b.slack.signing_secret is not None


def build_bots(settings: Settings, r: aioredis.Redis, session: aiohttp.ClientSession) -> Bots:
    """The service (subscriptions, names, limits) and the Telegram bot if it has a token."""
    b = settings.bots
    known = KnownTeams(
        r,
        aliases=settings.aliases,
        teams=list(settings.teams),
        partitions=settings.streams.partitions,
    )
    limits = ChatLimits(
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
