"""The Telegram bot against a local Bot API: commands in private chats and groups, the inline
keyboard, admins, limits, each update once, and the webhook's secret token."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from notifier.api.chat.telegram import BotApi, TelegramBot, run_bot
from notifier.api.chat.wiring import build_bots
from notifier.bus import keys
from notifier.bus.connect import cancel
from notifier.bus.subscriptions import SubscriptionStore
from notifier.bus.watches import Watch, add_watch, save_tie
from notifier.domain.engine import MatchState
from notifier.domain.models import MatchStatus, Score
from notifier.domain.tie import TieSpec, parse_first_leg
from notifier.errors import BotError
from notifier.settings import Settings
from tests.integration.api.chat.fixtures import TG_SECRET, TG_TOKEN, bot_settings
from tests.integration.api.chat.platforms import BotApiServer
from tests.integration.api.test_api import serving as serving_api
from workers.cli import commands

PRIVATE, GROUP, ADMIN, MEMBER = 42, -100500, 7, 8


def message(text: str, chat: int = PRIVATE, user: int = PRIVATE) -> dict[str, Any]:
    kind = "private" if chat > 0 else "supergroup"
    return {
        "message": {
            "message_id": 1,
            "from": {"id": user, "is_bot": False, "first_name": "Ann"},
            "chat": {"id": chat, "type": kind},
            "date": 0,
            "text": text,
        }
    }


@pytest.fixture
async def bot(
    redis: Redis, redis_url: str, bot_api: tuple[BotApiServer, str]
) -> AsyncIterator[TelegramBot]:
    _, url = bot_api
    async with aiohttp.ClientSession() as session:
        made = build_bots(settings(redis_url, url), redis, session).telegram
        assert made is not None
        yield made


def settings(redis_url: str, url: str, **bots: Any) -> Settings:
    return bot_settings(redis_url, telegram_url=url, **bots)


async def say(bot: TelegramBot, server: BotApiServer, text: str, **who: int) -> str:
    """Send one command through getUpdates; the bot's answer."""
    chat = who.get("chat", PRIVATE)
    before = len(server.messages(chat))
    await server.push(message(text, **who))
    assert await bot.poll_once() == 1
    texts = server.messages(chat)
    assert len(texts) == before + 1
    return texts[-1]


async def test_follow_in_a_private_chat_makes_the_chats_subscription(
    bot: TelegramBot, bot_api: tuple[BotApiServer, str], redis: Redis
) -> None:
    server, _ = bot_api
    answer = await say(bot, server, "/follow Dortmund")
    assert answer == "Following team Dortmund. Alerts will come to this chat."
    subs = await SubscriptionStore(redis).list_owned(f"telegram:{PRIVATE}")
    assert len(subs) == 1
    spec = subs[0].spec
    assert (spec.channel, spec.teams, spec.options) == ("telegram", ["Dortmund"], {"chat_id": "42"})
    assert spec.secret == TG_TOKEN
    assert (
        await say(bot, server, "/follow borussia dortmund") == "This chat already follows Dortmund."
    )
    assert "team Dortmund" in await say(bot, server, "/list")
    assert "Stopped following Dortmund" in await say(bot, server, "/unfollow dortmund")
    assert await SubscriptionStore(redis).list_owned(f"telegram:{PRIVATE}") == []


async def test_several_matches_give_an_inline_keyboard_and_a_button_follows(
    bot: TelegramBot, bot_api: tuple[BotApiServer, str], redis: Redis
) -> None:
    server, _ = bot_api
    assert await say(bot, server, "/follow t") == "Several matches for 't': pick one."
    markup = server.sent("sendMessage")[-1]["reply_markup"]
    buttons = [row[0] for row in markup["inline_keyboard"]]
    assert [b["text"] for b in buttons] == ["Atalanta", "Dortmund"]
    assert buttons[0]["callback_data"] == "/follow team:Atalanta"
    query = {
        "id": "cb-1",
        "from": {"id": PRIVATE},
        "message": message("")["message"],
        "data": buttons[0]["callback_data"],
    }
    await server.push({"callback_query": query})
    assert await bot.poll_once() == 1
    assert server.sent("answerCallbackQuery")[-1]["callback_query_id"] == "cb-1"
    assert server.messages(PRIVATE)[-1] == "Following team Atalanta. Alerts will come to this chat."


async def test_in_a_group_only_admins_change_follows(
    bot: TelegramBot, bot_api: tuple[BotApiServer, str], redis: Redis
) -> None:
    server, _ = bot_api
    server.members[(GROUP, ADMIN)] = "administrator"
    refused = await say(bot, server, "/follow Dortmund", chat=GROUP, user=MEMBER)
    assert refused == "In a group only admins can change what the chat follows."
    assert server.sent("getChatMember")[-1] == {"chat_id": GROUP, "user_id": MEMBER}
    assert await SubscriptionStore(redis).list_owned(f"telegram:{GROUP}") == []
    assert "Following" in await say(bot, server, "/follow Dortmund", chat=GROUP, user=ADMIN)
    assert "Dortmund" in await say(bot, server, "/list", chat=GROUP, user=MEMBER)  # reading: anyone


async def test_preferences_kinds_and_mute_apply_to_every_follow(
    bot: TelegramBot, bot_api: tuple[BotApiServer, str], redis: Redis
) -> None:
    server, _ = bot_api
    await say(bot, server, "/follow Dortmund")
    await say(bot, server, "/follow Atalanta")
    answer = await say(bot, server, "/kinds goal result")
    assert answer.startswith("Alerts sent: goal, result, goal_cancelled")  # VAR follows goals
    assert "No alert kind 'goals'" in await say(bot, server, "/kinds goals")
    assert await say(bot, server, "/mute") == "Alerts paused. /unmute resumes them."
    subs = await SubscriptionStore(redis).list_owned(f"telegram:{PRIVATE}")
    kinds = ["goal", "result", "goal_cancelled"]
    assert [(s.spec.kinds, s.enabled) for s in subs] == [(kinds, False)] * 2
    assert "(muted)" in await say(bot, server, "/list")
    assert await say(bot, server, "/unmute") == "Alerts resumed."
    assert await say(bot, server, "/delay 30") == "Alerts to this chat will be held 30 s."
    assert "from 0 to 900" in await say(bot, server, "/delay soon")
    assert await say(bot, server, "/lang xx") == (
        "No alerts in 'xx'. Known languages: en, de, it, es, fr, pt"
    )
    assert await say(bot, server, "/lang en") == "Language set: en."
    prefs = await redis.hgetall(keys.bot_chat(f"telegram:{PRIVATE}"))
    assert prefs == {b"delay_s": b"30", b"lang": b"en"}
    subs = await SubscriptionStore(redis).list_owned(f"telegram:{PRIVATE}")
    assert [(s.spec.delay_s, s.spec.lang) for s in subs] == [(30, "en")] * 2  # what delivery reads
    assert "Stopped following Dortmund, Atalanta" in await say(bot, server, "/unfollow all")


async def test_score_and_tie_answer_from_the_live_state(
    bot: TelegramBot, bot_api: tuple[BotApiServer, str], redis: Redis
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
    assert "None of what this chat follows" in await say(bot, server, "/score")
    await say(bot, server, "/follow Dortmund")
    assert await say(bot, server, "/score") == (
        "Live:\nAtalanta 1-0 Dortmund, 64'. Dortmund lead 2-1 on aggregate"
    )
    assert await say(bot, server, "/tie") == (
        "Ties:\nAtalanta v Dortmund. Dortmund lead 2-1 on aggregate. "
        "Atalanta need one goal to force extra time"
    )


async def test_commands_per_minute_per_chat(
    redis: Redis, redis_url: str, bot_api: tuple[BotApiServer, str]
) -> None:
    server, url = bot_api
    async with aiohttp.ClientSession() as session:
        bot = build_bots(settings(redis_url, url, commands_per_minute=3), redis, session).telegram
        assert bot is not None
        for _ in range(3):
            assert (await say(bot, server, "/help")).startswith("I send live football alerts")
        assert await say(bot, server, "/help") == "Too many commands: wait a minute and try again."
        assert (await say(bot, server, "/help", chat=99, user=99)).startswith("I send")


async def test_an_update_is_answered_once_and_other_bots_commands_are_left_alone(
    redis: Redis, redis_url: str, bot_api: tuple[BotApiServer, str]
) -> None:
    server, url = bot_api
    async with aiohttp.ClientSession() as session:
        bots = build_bots(
            settings(redis_url, url, telegram={"token": TG_TOKEN, "username": "nfbot"}),
            redis,
            session,
        )
        bot = bots.telegram
        assert bot is not None
        update = {"update_id": 5, **message("/help@nfbot")}
        assert await bot.handle(update) is True
        assert await bot.handle(update) is False  # redelivered: not answered twice
        assert await bot.handle({"update_id": 6, **message("/help@otherbot")}) is False
        assert len(server.messages(PRIVATE)) == 1


async def test_polling_moves_the_offset_and_survives_an_unauthorized_token(
    bot: TelegramBot, bot_api: tuple[BotApiServer, str], redis: Redis
) -> None:
    server, _ = bot_api
    await server.push(message("/help"))
    await bot.poll(asyncio.Event(), max_rounds=2)
    offsets = [b.get("offset") for b in server.sent("getUpdates")]
    assert offsets[0] is None and offsets[1] == server.next_id + 1
    assert server.sent("deleteWebhook") == [{}]
    assert len(server.messages(PRIVATE)) == 1


WEBHOOK = {
    "token": TG_TOKEN,
    "mode": "webhook",
    "secret_token": TG_SECRET,
    "webhook_url": "https://bot.example/v1/telegram/webhook",
}


async def test_webhook_mode_sets_the_webhook_and_checks_the_secret_first(
    redis: Redis, redis_url: str, bot_api: tuple[BotApiServer, str]
) -> None:
    server, url = bot_api
    config = settings(redis_url, url, telegram=WEBHOOK)
    async with aiohttp.ClientSession() as session:
        bot = build_bots(config, redis, session).telegram
        assert bot is not None
        stop = asyncio.Event()
        stop.set()
        await run_bot(bot, stop)
    menu = server.sent("setMyCommands")[0]["commands"]
    assert [c["command"] for c in menu][:3] == ["follow", "unfollow", "list"]
    assert {"mute", "unmute", "help"} <= {c["command"] for c in menu}
    for c in menu:  # what Telegram accepts
        assert re.fullmatch(r"[a-z0-9_]{1,32}", c["command"]) and 1 <= len(c["description"]) <= 256
    assert server.webhook == {
        "url": WEBHOOK["webhook_url"],
        "secret_token": TG_SECRET,
        "allowed_updates": ["message", "callback_query"],
    }
    async with serving_api(config, redis) as (base, _), aiohttp.ClientSession(base) as http:
        path = "/v1/telegram/webhook"
        for wrong in ({}, {"X-Telegram-Bot-Api-Secret-Token": "nope"}):
            async with http.post(path, data=b"{not json", headers=wrong) as resp:
                assert resp.status == 401  # refused before the body is read
                assert TG_SECRET not in await resp.text()
        good = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        update = {"update_id": 77, **message("/follow Dortmund")}
        for _ in range(2):  # Telegram redelivers when unsure: answered once
            async with http.post(path, json=update, headers=good) as resp:
                assert resp.status == 200
        async with http.post(path, data=b"{not json", headers=good) as resp:
            assert resp.status == 400
    assert server.messages(PRIVATE) == ["Following team Dortmund. Alerts will come to this chat."]


async def test_follows_per_chat_are_limited(
    redis: Redis, redis_url: str, bot_api: tuple[BotApiServer, str]
) -> None:
    server, url = bot_api
    async with aiohttp.ClientSession() as session:
        bot = build_bots(settings(redis_url, url, max_follows=1), redis, session).telegram
        assert bot is not None
        assert "Following team Dortmund" in await say(bot, server, "/follow Dortmund")
        assert await say(bot, server, "/follow Atalanta") == (
            "A chat can follow at most 1 teams, competitions or ties. /unfollow one first."
        )


async def test_a_tie_is_followed_by_its_id_and_shown_by_its_teams(
    bot: TelegramBot, bot_api: tuple[BotApiServer, str], redis: Redis
) -> None:
    server, _ = bot_api
    spec = TieSpec(
        id="replay:api-football:9",
        first_leg=parse_first_leg("Borussia Dortmund 2-0 Atalanta"),
        second_leg="api-football:9",
    )
    await save_tie(redis, spec, 0)
    answer = await say(bot, server, "/follow atalanta v")
    assert answer == "Following tie Atalanta v Dortmund. Alerts will come to this chat."
    subs = await SubscriptionStore(redis).list_owned(f"telegram:{PRIVATE}")
    assert subs[0].spec.ties == ["replay:api-football:9"]
    button = await say(bot, server, "/follow tie:replay:api-football:9")
    assert button == "This chat already follows Atalanta v Dortmund."
    assert await say(bot, server, "/list") == "This chat follows:\ntie Atalanta v Dortmund"
    assert "Stopped following Atalanta v Dortmund" in await say(
        bot, server, "/unfollow atalanta v dortmund"
    )


async def test_a_refused_call_names_the_method_never_the_token(
    bot_api: tuple[BotApiServer, str],
) -> None:
    _, url = bot_api
    wrong = "999999:" + "W" * 35
    async with aiohttp.ClientSession() as session:
        with pytest.raises(BotError) as caught:
            await BotApi(session, url, wrong).call("getUpdates")
        with pytest.raises(BotError) as unreachable:
            await BotApi(session, "http://127.0.0.1:9", wrong).call("sendMessage")
    assert str(caught.value) == "getUpdates: telegram 401: Unauthorized"
    assert caught.value.status == 401
    assert str(unreachable.value) == "sendMessage: ClientConnectorError"


async def test_notifier_run_starts_the_configured_bot(
    redis: Redis, redis_url: str, bot_api: tuple[BotApiServer, str], tmp_path: Path
) -> None:
    server, url = bot_api
    config = settings(redis_url, url)
    config = config.model_copy(update={"api": config.api.model_copy(update={"port": 0})})
    await server.push(message("/help"))
    running = asyncio.create_task(commands.run(config, ties_dir=tmp_path))
    try:
        await server.wait_for(lambda: bool(server.messages(PRIVATE)))
    finally:
        await cancel(running)
    assert server.messages(PRIVATE)[0].startswith("I send live football alerts")
    assert server.sent("setMyCommands")


async def test_notifier_bot_telegram_runs_it_alone_until_sigterm(
    redis: Redis, redis_url: str, bot_api: tuple[BotApiServer, str]
) -> None:
    server, url = bot_api
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "NOTIFIER_BOTS__TELEGRAM__TOKEN": TG_TOKEN,
        "NOTIFIER_BOTS__TELEGRAM__POLL_TIMEOUT_S": "30",
        "NOTIFIER_DELIVERY__TELEGRAM_URL": url,
    }
    await server.push(message("/follow Dortmund"))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workers.cli",
        "bot",
        "telegram",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await server.wait_for(lambda: bool(server.messages(PRIVATE)))
        await server.wait_for(lambda: len(server.sent("getUpdates")) >= 2)  # a long poll waits
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert server.messages(PRIVATE) == ["Following team Dortmund. Alerts will come to this chat."]
    assert TG_TOKEN not in err.decode()
