"""Per-chat and per-team limits of the bots: commands per minute, follows per chat.

Kept in memory per process (a token bucket each): a limit exists to keep one chat or one
workspace from flooding the bot, and a replica's share of it is enough for that.
"""

from __future__ import annotations

from notifier.bots import texts
from notifier.bots.chat import Chat
from notifier.channels.ratelimit import SYSTEM_CLOCK, Clock, RateLimiter


class ChatLimits:
    """Commands per minute per chat and per team (workspace, guild); follows per chat."""

    def __init__(
        self,
        *,
        per_chat_per_minute: int,
        per_team_per_minute: int,
        max_follows: int,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.chat = _bucket(per_chat_per_minute, clock)
        self.team = _bucket(per_team_per_minute, clock)
        self.max_follows = max_follows

    def take(self, chat: Chat) -> texts.Answer | None:
        """Count one command; the refusal if the chat or its team is over its limit."""
        slots = [(self.chat, chat.owner)]
        if chat.team:
            slots.append((self.team, f"{chat.platform}:{chat.team}"))
        if any(limiter.delay(key) > 0 for limiter, key in slots):
            return texts.TOO_FAST
        for limiter, key in slots:
            limiter.reserve(key)
        return None


def _bucket(per_minute: int, clock: Clock) -> RateLimiter:
    """``per_minute`` commands a minute, all of them at once if they come in a burst."""
    return RateLimiter(rate=per_minute / 60.0, burst=per_minute, clock=clock)
