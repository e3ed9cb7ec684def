"""Per-chat and per-team limits of the bots: commands per minute, follows per chat.

Counted in Redis (a counter per chat, and per Slack workspace / Discord guild, per minute), so
every replica answering a platform (API replicas behind a webhook, the polling bot) shares them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis.asyncio as aioredis

from notifier.api.chat import texts
from notifier.api.chat.chats import Chat
from notifier.bus import keys
from notifier.bus.connect import translate_errors

WINDOW_S = 60


class ChatLimits:
    """Commands per minute per chat and per team (workspace, guild); follows per chat."""

    def __init__(
        self,
        r: aioredis.Redis,
        *,
        per_chat_per_minute: int,
        per_team_per_minute: int,
        max_follows: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.r = r
        self.per_chat = per_chat_per_minute
        self.per_team = per_team_per_minute
        self.max_follows = max_follows
        self.clock = clock

    async def take(self, chat: Chat) -> texts.Answer | None:
        """Count one command; the refusal if the chat or its team is over its limit."""
        window = int(self.clock() // WINDOW_S)
        counts = [(keys.bot_rate(chat.owner, window), self.per_chat)]
        if chat.team:
            counts.append((keys.bot_rate(f"{chat.platform}:{chat.team}", window), self.per_team))
        over = False
        for key, limit in counts:  # one key at a time: they live in different cluster slots
            over |= await self._count(key) > limit
        return texts.TOO_FAST if over else None

    async def _count(self, key: str) -> int:
        with translate_errors("bot limits"):
            async with self.r.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, 2 * WINDOW_S)
                count, _ = await pipe.execute()
        return int(count)
