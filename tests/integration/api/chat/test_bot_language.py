"""``/lang xx`` end to end: it sets the language of every follow of the chat (and of the follows
it makes later), the next alert reaches the chat in that language through the real dispatcher
and the local Bot API, and ``/score`` speaks it too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from redis.asyncio import Redis

from notifier.api.chat.telegram import TelegramBot
from notifier.api.chat.wiring import build_bots
from notifier.bus import keys
from notifier.bus.subscriptions import SubscriptionStore
from notifier.bus.watches import Watch, add_watch
from notifier.domain.engine import MatchState
from notifier.domain.models import MatchStatus, Score
from tests.integration.api.chat.fixtures import bot_settings
from tests.integration.api.chat.platforms import BotApiServer
from tests.integration.api.chat.test_telegram_bot import PRIVATE, say
from tests.integration.api.test_api_stream import GOAL_PARTS
from tests.integration.deliver.test_delivery_support import dispatching, make_alert, publish

ENGLISH = "GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate"
GERMAN = "TOR Atalanta 1:0 Dortmund (Scamacca 23'). Dortmund führt im Gesamtstand mit 2:1"


@pytest.fixture
async def tg(
    redis: Redis, redis_url: str, bot_api: tuple[BotApiServer, str]
) -> AsyncIterator[TelegramBot]:
    _, url = bot_api
    async with aiohttp.ClientSession() as session:
        made = build_bots(bot_settings(redis_url, telegram_url=url), redis, session).telegram
        assert made is not None
        yield made


async def test_lang_de_makes_the_next_alert_arrive_in_german(
    tg: TelegramBot, bot_api: tuple[BotApiServer, str], redis: Redis, redis_url: str
) -> None:
    server, url = bot_api
    await say(tg, server, "/follow Dortmund")
    assert await say(tg, server, "/lang de") == "Language set: de."
    await say(tg, server, "/follow Atalanta")  # made after /lang: in German from the start
    subs = await SubscriptionStore(redis).list_owned(f"telegram:{PRIVATE}")
    assert sorted(s.spec.lang or "" for s in subs) == ["de", "de"]
    await say(tg, server, "/unfollow Atalanta")  # one follow of the match: one alert
    answers = len(server.messages(PRIVATE))
    async with dispatching(redis, bot_settings(redis_url, telegram_url=url)) as d:
        await publish(redis, make_alert(parts=GOAL_PARTS, text=ENGLISH))
        await server.wait_for(lambda: len(server.messages(PRIVATE)) > answers)
        await d.engine.idle()
    alerts = [re.sub(r"\\(.)", r"\1", m) for m in server.messages(PRIVATE)[answers:]]
    assert len(alerts) == 1
    assert alerts[0] == "⚽ *Tor*\n" + GERMAN  # the channel's label in German too


async def test_score_and_tie_answer_in_the_chats_language(
    tg: TelegramBot, bot_api: tuple[BotApiServer, str], redis: Redis
) -> None:
    server, _ = bot_api
    watch = Watch(provider="api-football", match_id="9", tie="t1")
    await add_watch(redis, watch)
    state = MatchState(
        match=watch.key,
        tie="t1",
        home="Atalanta",
        away="Dortmund",
        status=MatchStatus.SECOND_HALF,
        minute=64,
        score=Score(home=1, away=0),
        prior=Score(home=0, away=2),
        prior_away=Score(home=0, away=0),
    )
    await redis.set(keys.match_state(0, watch.key), state.model_dump_json())
    await say(tg, server, "/follow Dortmund")
    english = "Live:\nAtalanta 1-0 Dortmund, 64'. Dortmund lead 2-1 on aggregate"
    assert await say(tg, server, "/score") == english
    await say(tg, server, "/lang de")
    assert await say(tg, server, "/score") == (
        "Live:\nAtalanta 1:0 Dortmund, 64'. Dortmund führt im Gesamtstand mit 2:1"
    )
    tie = await say(tg, server, "/tie")
    assert tie.startswith("Ties:\nAtalanta v Dortmund. Dortmund führt im Gesamtstand mit 2:1. ")
    assert "on aggregate" not in tie
