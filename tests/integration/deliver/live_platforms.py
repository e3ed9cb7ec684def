"""Local servers that answer as the Telegram Bot API, Discord webhooks and the Slack Web API do
for the calls a live message makes: create, edit, and their error shapes for a message that is
gone or not modified. Each keeps its messages (id -> text) and every call made."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DISCORD_HOOK = "/api/webhooks/1234567890/hooktoken-abc"
SLACK_TOKEN = "xoxb-1111-2222-abcdefghij"


@dataclass
class Platforms:
    """What each platform holds: messages by id, and calls as (platform, verb, message id)."""

    url: str = ""
    messages: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"telegram": {}, "discord": {}, "slack": {}}
    )
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(101))

    def of(self, platform: str, verb: str) -> list[str]:
        """Message ids of the calls of one kind."""
        return [m for p, v, m in self.calls if p == platform and v == verb]

    def _new(self, platform: str, text: str) -> str:
        mid = str(next(self.ids))
        self.messages[platform][mid] = text
        self.calls.append((platform, "create", mid))
        return mid

    def _edit(self, platform: str, mid: str, text: str) -> str:
        """'ok', 'gone' or 'same'."""
        held = self.messages[platform]
        if mid not in held:
            return "gone"
        if held[mid] == text:
            return "same"
        held[mid] = text
        self.calls.append((platform, "edit", mid))
        return "ok"

    # -- Telegram Bot API ----------------------------------------------------------------------

    async def telegram(self, request: web.Request) -> web.Response:
        body = await request.json()
        method = request.match_info["method"]
        chat = {"id": body.get("chat_id"), "type": "supergroup", "title": "Tifosi"}
        if method == "sendMessage":
            mid = self._new("telegram", body["text"])
            msg = {"message_id": int(mid), "date": 1767225600, "chat": chat, "text": body["text"]}
            return web.json_response({"ok": True, "result": msg})
        outcome = self._edit("telegram", str(body["message_id"]), body["text"])
        if outcome == "gone":
            return _telegram_error("Bad Request: message to edit not found")
        if outcome == "same":
            return _telegram_error(
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message"
            )
        msg = {"message_id": body["message_id"], "chat": chat, "text": body["text"]}
        return web.json_response({"ok": True, "result": msg | {"edit_date": 1767225700}})

    # -- Discord webhooks ----------------------------------------------------------------------

    async def discord_execute(self, request: web.Request) -> web.Response:
        body = await request.json()
        if request.query.get("wait") != "true":
            self._new("discord", body["content"])
            return web.Response(status=204)
        mid = self._new("discord", body["content"])
        return web.json_response(_discord_message(mid, body["content"]))

    async def discord_edit(self, request: web.Request) -> web.Response:
        body = await request.json()
        mid = request.match_info["mid"]
        if self._edit("discord", mid, body["content"]) == "gone":
            return web.json_response({"message": "Unknown Message", "code": 10008}, status=404)
        return web.json_response(_discord_message(mid, body["content"]))

    # -- Slack Web API -------------------------------------------------------------------------

    async def slack(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SLACK_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        body = await request.json()
        if request.match_info["method"] == "chat.postMessage":
            ts = f"1767225600.{next(self.ids):06d}"
            self.messages["slack"][ts] = body["text"]
            self.calls.append(("slack", "create", ts))
            msg = {"type": "message", "text": body["text"], "ts": ts, "bot_id": "B123"}
            return web.json_response(
                {"ok": True, "channel": body["channel"], "ts": ts, "message": msg}
            )
        outcome = self._edit("slack", body["ts"], body["text"])
        if outcome == "gone":
            return web.json_response({"ok": False, "error": "message_not_found"})
        return web.json_response(
            {"ok": True, "channel": body["channel"], "ts": body["ts"], "text": body["text"]}
        )


def _telegram_error(description: str) -> web.Response:
    body = {"ok": False, "error_code": 400, "description": description}
    return web.json_response(body, status=400)


def _discord_message(mid: str, content: str) -> dict[str, Any]:
    return {
        "id": mid,
        "type": 0,
        "content": content,
        "channel_id": "5550001",
        "webhook_id": "1234567890",
        "author": {"id": "1234567890", "username": "match-notifier", "bot": True},
    }


@contextlib.asynccontextmanager
async def platforms() -> AsyncIterator[Platforms]:
    """The three platforms on one loopback port for the duration of the block."""
    p = Platforms()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", p.telegram)
    app.router.add_post(DISCORD_HOOK, p.discord_execute)
    app.router.add_patch(DISCORD_HOOK + "/messages/{mid}", p.discord_edit)
    app.router.add_post("/api/{method}", p.slack)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    p.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield p
    finally:
        await runner.cleanup()
