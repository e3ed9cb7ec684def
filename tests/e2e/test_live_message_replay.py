"""A whole replayed tie on one live message per platform: the demo second leg (goals, two VAR
decisions, extra time, a shoot-out) through the real pipeline, to local servers speaking the
Telegram Bot API, Discord webhooks and the Slack Web API. Each platform gets one message,
created once and then only edited, that ends on the result."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from notifier.bus.subscriptions import SubscriptionStore
from notifier.settings import DeliverySettings, Settings
from tests.e2e.helpers import Collect
from tests.integration.deliver.live_platforms import Platforms, platforms
from tests.integration.deliver.test_delivery_support import LOOPBACK, eventually
from tests.integration.deliver.test_live_message import live_subscriptions
from workers.cli.commands import demo_options, replay
from workers.deliver.dispatcher import pending_work

pytestmark = pytest.mark.e2e
RESULT = "Atalanta win 5-4 on penalties (2-2 on aggregate). Atalanta reach the round of 16"


async def test_a_whole_tie_on_one_live_message_per_platform(redis: Redis, redis_url: str) -> None:
    async with platforms() as p:
        delivery = DeliverySettings(
            allow_http=True,
            allow_networks=LOOPBACK,
            telegram_url=p.url,
            discord_url=p.url,
            slack_api_url=p.url,
            retry_poll_s=0.05,
        )
        settings = Settings.load(None, redis_url=redis_url).model_copy(
            update={"delivery": delivery}
        )
        await live_subscriptions(SubscriptionStore(redis), p)
        sink = Collect()
        await replay(settings, demo_options(600, as_json=False), sinks=[sink])
        await eventually(lambda: _ends(p), within=20)
        assert await pending_work(redis, settings) == 0
    goals = [a for a in sink.alerts if a.kind == "goal"]
    assert len(goals) >= 4 and any(a.kind == "goal_cancelled" for a in sink.alerts)
    for platform in ("telegram", "discord", "slack"):
        creates, edits = p.of(platform, "create"), p.of(platform, "edit")
        assert len(creates) == 1, (platform, p.calls)  # one message for the whole tie
        assert len(edits) >= 5 and set(edits) == set(creates)  # edited, never another
        print(f"{platform}: 1 message, {len(edits)} edits for {len(sink.alerts)} alerts")
        (shown,) = p.messages[platform].values()
        lines = shown.splitlines()
        assert lines[-1] == RESULT
        assert lines[0].startswith("Atalanta 2-0 Dortmund")
        assert not any("Guirassy" in line and "38'" in line for line in lines)  # ruled out


async def _ends(p: Platforms) -> bool:
    msgs = p.messages
    return all(any(RESULT in t for t in msgs[k].values()) for k in ("telegram", "discord", "slack"))
