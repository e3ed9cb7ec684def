"""Live messages through the real dispatcher, against local servers speaking the Telegram Bot
API, Discord webhooks and the Slack Web API: one message created, then edited; a message that
can no longer be edited is replaced by a new one; a new dispatcher edits the same message."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.subscriptions import Subscription
from notifier.domain.models import Score
from tests.integration.deliver.live_platforms import DISCORD_HOOK, SLACK_TOKEN, Platforms, platforms
from tests.integration.deliver.test_delivery_support import (
    dispatching,
    eventually,
    make_alert,
    publish,
    settings_for,
    subscribe,
)

TELEGRAM_TOKEN = "123456:" + "A" * 35


async def live_subscriptions(store: SubscriptionStore, p: Platforms) -> list[Subscription]:
    """One live subscription per platform, following Dortmund."""
    common: dict[str, Any] = {"style": "live", "teams": ["Dortmund"]}
    return [
        await subscribe(
            store, channel="telegram", secret=TELEGRAM_TOKEN, options={"chat_id": -100123}, **common
        ),
        await subscribe(store, channel="discord", url=p.url + DISCORD_HOOK, **common),
        await subscribe(
            store, channel="slack", secret=SLACK_TOKEN, options={"channel": "C0123ABC"}, **common
        ),
    ]


def _shows(p: Platforms, platform: str, text: str) -> bool:
    return any(text in shown for shown in p.messages[platform].values())


async def test_one_message_edited_replaced_when_gone_and_kept_across_restarts(
    redis: Redis, redis_url: str
) -> None:
    async with platforms() as p:
        settings = settings_for(redis_url, base=p.url, slack_api_url=p.url)
        await live_subscriptions(SubscriptionStore(redis), p)
        goal = make_alert(1, kind="goal", data={"side": "away", "goal": {"player": "Guirassy"}},
                          score=Score(home=0, away=1))  # fmt: skip
        card = make_alert(2, kind="red_card", data={"side": "home", "player": "Kossounou"},
                          score=Score(home=0, away=1), minute=67)  # fmt: skip
        async with dispatching(redis, settings, "d1"):
            await publish(redis, goal)
            await eventually(lambda: _all(p, "Guirassy (Dortmund) 21'"), within=8)
        for platform in ("telegram", "discord", "slack"):
            assert len(p.of(platform, "create")) == 1, p.calls
        # A new dispatcher edits the same messages (their ids are in Redis).
        async with dispatching(redis, settings, "d2"):
            await publish(redis, card)
            await eventually(lambda: _all(p, "Kossounou (Atalanta) 67'"), within=8)
        for platform in ("telegram", "discord", "slack"):
            assert len(p.of(platform, "create")) == 1 and len(p.of(platform, "edit")) == 1
            p.messages[platform].clear()  # deleted in the chat
        async with dispatching(redis, settings, "d3"):
            await publish(redis, make_alert(3, kind="full_time", score=Score(home=0, away=1)))
            await eventually(lambda: _all(p, "⚽ Guirassy (Dortmund) 21'"), within=8)
    for platform in ("telegram", "discord", "slack"):
        assert len(p.of(platform, "create")) == 2, p.calls  # replaced once
        (shown,) = p.messages[platform].values()
        assert shown.splitlines()[:1] == ["Atalanta 0-1 Dortmund · 23'"]
        assert "🟥 Kossounou (Atalanta) 67'" in shown.splitlines()


async def _all(p: Platforms, text: str) -> bool:
    return all(_shows(p, platform, text) for platform in ("telegram", "discord", "slack"))
