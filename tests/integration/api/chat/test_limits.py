"""Commands per minute, per chat and per team, counted in Redis: every replica shares them."""

from __future__ import annotations

from redis.asyncio import Redis

from notifier.api.chat.chats import Chat, Destination
from notifier.api.chat.limits import ChatLimits
from notifier.api.chat.texts import TOO_FAST


def chat(chat_id: str, team: str | None = None) -> Chat:
    return Chat("slack", chat_id, Destination("slack"), team=team)


async def test_limits_per_chat_and_per_team_shared_by_replicas(redis: Redis) -> None:
    now = [600.0]

    def limits() -> ChatLimits:  # another replica: the same counters
        return ChatLimits(
            redis, per_chat_per_minute=2, per_team_per_minute=3, max_follows=5, clock=lambda: now[0]
        )

    a, b = limits(), limits()
    assert [await a.take(chat("C1", "T")), await b.take(chat("C1", "T"))] == [None, None]
    assert await a.take(chat("C1", "T")) is TOO_FAST
    assert await b.take(chat("C2", "T")) is TOO_FAST  # another channel, the team's share spent
    assert await b.take(chat("C3", "T2")) is None
    now[0] += 60  # the next minute
    assert await a.take(chat("C1", "T")) is None
    assert 0 < await redis.ttl(next(iter(await redis.keys("nf:bot:rate:*")))) <= 120
