"""The bots end to end, one replay for all three platforms: each chat follows Dortmund, the demo
replays (notifier/data/scenarios, the real pipeline, fast), the chats get the alerts, ``/score`` in
mid-match answers with the live score and aggregate, ``/unfollow`` stops the alerts.

Telegram runs as ``notifier demo`` runs it (long polling, started by the replay itself); Discord
and Slack send signed requests to the API the demo serves for them."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import aiohttp
import orjson
import pytest
from redis.asyncio import Redis

from notifier.channels.telegram import escape_markdown_v2
from notifier.domain.alerts import Alert
from tests.e2e.helpers import Collect
from tests.integration.api.chat.fixtures import bot_settings
from tests.integration.api.chat.platforms import BotApiServer, DiscordServer, Recorder, SlackServer
from tests.integration.api.chat.test_chat_apps import (
    CHANNEL,
    discord_signed,
    interaction,
    slack_signed,
    slash,
)
from tests.integration.api.chat.test_telegram_bot import GROUP, message
from workers.cli.commands import demo_options, replay

pytestmark = pytest.mark.e2e
SPEED = 600.0
SLACK_CHANNEL = "C0123456"
SCORE = re.compile(
    r"^Live:\n(Atalanta \d-\d Dortmund, \d+(\+\d+)?'|Half-time: Atalanta \d-\d Dortmund)\. "
    r"(\w+ lead \d-\d|\d-\d) on aggregate"
)
TRANSCRIPT = os.environ.get("BOTS_TRANSCRIPT")  # a file to write the Telegram chat to


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def api_up(http: aiohttp.ClientSession) -> None:
    async with asyncio.timeout(20):
        while True:
            try:
                async with http.get("/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.02)


class Chats:
    """The three chats: commands in, answers out."""

    def __init__(self, tg: BotApiServer, http: aiohttp.ClientSession) -> None:
        self.tg, self.http = tg, http

    async def telegram(self, text: str) -> str:
        before = len(self.tg.answers(GROUP))  # alerts may arrive meanwhile: answers only
        await self.tg.push(message(text, chat=GROUP, user=7))
        await self.tg.wait_for(lambda: len(self.tg.answers(GROUP)) > before)
        return self.tg.answers(GROUP)[before]

    async def discord(self, verb: str, value: str | None = None) -> str:
        raw = orjson.dumps(interaction(verb, value))
        headers = discord_signed(raw)
        async with self.http.post("/v1/discord/interactions", data=raw, headers=headers) as r:
            body = await r.json()
        embed = body["data"]["embeds"][0]
        return "\n".join(filter(None, (embed["title"], embed["description"])))

    async def slack(self, text: str) -> str:
        raw = slash(text)
        async with self.http.post("/v1/slack/commands", data=raw, headers=slack_signed(raw)) as r:
            body = await r.json()
        return str(body["text"])

    async def all(self, verb: str, value: str = "") -> list[str]:
        return [
            await self.telegram(f"/{verb} {value}".strip()),
            await self.discord(verb, value or None),
            await self.slack(f"{verb} {value}".strip()),
        ]


def said(server: Recorder, words: str) -> bool:
    """Whether anything sent to ``server`` contains ``words``."""
    return words in str(server.calls)


def received(alerts: list[Alert], tg: list[str], dc: list[str], sl: list[str]) -> list[set[str]]:
    """Which alerts (ids) each chat got, by their text as each platform shows it."""
    return [
        {a.id for a in alerts if any(escape_markdown_v2(a.text) in m for m in tg)},
        {a.id for a in alerts if a.text in dc},
        {a.id for a in alerts if a.text in sl},
    ]


async def test_follow_alerts_score_unfollow_on_telegram_discord_and_slack(
    redis: Redis,
    redis_url: str,
    bot_api: tuple[BotApiServer, str],
    discord_api: tuple[DiscordServer, str],
    slack_api: tuple[SlackServer, str],
) -> None:
    tg, dc, sl = bot_api[0], discord_api[0], slack_api[0]
    tg.members[(GROUP, 7)] = "administrator"
    port = free_port()
    config = bot_settings(
        redis_url, telegram_url=bot_api[1], discord_url=discord_api[1], slack_url=slack_api[1]
    )
    config = config.model_copy(update={"api": config.api.model_copy(update={"port": port})})
    sink = Collect()
    await tg.push(message("/follow Dortmund", chat=GROUP, user=7))  # typed before the demo
    started = time.monotonic()
    demo = asyncio.create_task(replay(config, demo_options(SPEED, False), sinks=[sink]))
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
        chats = Chats(tg, http)
        await tg.wait_for(lambda: bool(tg.answers(GROUP)))
        assert tg.answers(GROUP) == ["Following team Dortmund. Alerts will come to this chat."]
        await api_up(http)
        assert (await chats.discord("follow", "Dortmund")).startswith("Following team Dortmund")
        assert (await chats.slack("follow Dortmund")).startswith("Following team Dortmund")

        for server in (tg, dc, sl):  # the goal, then the VAR taking one back (38')
            await server.wait_for(partial(said, server, "ruled out"), within_s=30)
        assert all(
            "Scamacca" in str(m)
            for m in (tg.messages(GROUP), dc.messages(CHANNEL), sl.messages(SLACK_CHANNEL))
        )
        scores = await chats.all("score")
        for answer in scores:
            assert SCORE.match(answer), answer
        assert "Stopped following Dortmund" in (await chats.all("unfollow", "Dortmund"))[0]
        stopped_at = datetime.now(UTC)
        await asyncio.wait_for(demo, timeout=60)
    elapsed = time.monotonic() - started
    alerts = sink.alerts
    tg_alerts = [m for m in tg.messages(GROUP) if m not in tg.answers(GROUP)]
    dc_texts = [e["description"] for m in dc.messages(CHANNEL) for e in m["embeds"]]
    sl_texts = [m["text"] for m in sl.messages(SLACK_CHANNEL)]
    later = {a.id for a in alerts if a.emitted_at > stopped_at}
    assert later and alerts[-1].kind == "result"  # the match went on after the unfollow ...
    in_chat = tg.messages(GROUP)
    stop = next(i for i, m in enumerate(in_chat) if "Stopped following Dortmund" in str(m))
    assert all(m in tg.answers(GROUP) for m in in_chat[stop:]), "an alert after the unfollow"
    for got in received(alerts, tg_alerts, dc_texts, sl_texts):
        assert got and not got & later  # ... and nothing of it reached the chats
        assert any(a.kind == "goal" and a.id in got for a in alerts)
    if TRANSCRIPT:  # for the record: the Telegram chat as its members saw it
        text = "\n".join(tg.transcript(GROUP)) + f"\n# {elapsed:.1f} s\n"
        await asyncio.to_thread(Path(TRANSCRIPT).write_text, text)
