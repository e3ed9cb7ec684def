"""Local servers that speak the chat platforms' APIs, for the bots' tests.

``BotApiServer``: the Telegram Bot API methods the bot and the telegram channel call
(getUpdates with offset and long-poll timeout, sendMessage, setWebhook, deleteWebhook,
getChatMember, answerCallbackQuery), on ``/bot<token>/<method>``. ``DiscordServer``: Discord REST
(``POST /api/v10/channels/{id}/messages``, ``PUT /api/v10/applications/{app}/commands``).
``SlackServer``: the Slack Web API's ``chat.postMessage``. Each checks the credentials a real one
checks and records what it was sent; ``wait_for`` awaits a condition on the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

WAIT_S = 20.0


class Recorder:
    """What a server was sent, and a way to wait until something arrives."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Condition()

    async def record(self, method: str, body: dict[str, Any]) -> None:
        """Keep one call and wake the waiters."""
        async with self._changed:
            self.calls.append((method, body))
            self._changed.notify_all()

    def sent(self, method: str) -> list[dict[str, Any]]:
        """The bodies of every call of ``method``."""
        return [b for m, b in self.calls if m == method]

    async def wait_for(self, check: Callable[[], bool], within_s: float = WAIT_S) -> None:
        """Until ``check()`` holds (TimeoutError after ``within_s`` s)."""
        async with asyncio.timeout(within_s), self._changed:
            await self._changed.wait_for(check)


@dataclass
class BotApiServer(Recorder):
    """The Telegram Bot API of one bot."""

    token: str
    members: dict[tuple[int, int], str] = field(default_factory=dict)  # (chat, user) -> status
    updates: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    next_id: int = 1000

    def __post_init__(self) -> None:
        Recorder.__init__(self)
        self._new = asyncio.Event()
        self._message_id = 0

    async def push(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; its update_id."""
        self.next_id += 1
        self.updates.append({"update_id": self.next_id, **update})
        await self.record("update", update)
        self._new.set()
        return self.next_id

    def transcript(self, chat: int) -> list[str]:
        """The chat as a person sees it: what was typed (``>``) and what the bot sent (``<``),
        MarkdownV2 shown as the app renders it (escapes gone, bold and italics kept as marks)."""
        lines = []
        for method, body in self.calls:
            if method == "update" and "message" in body and body["message"]["chat"]["id"] == chat:
                lines.append(f"> {body['message']['text']}")
            elif method == "update" and "callback_query" in body:
                lines.append(f"> [button] {body['callback_query']['data']}")
            elif method == "sendMessage" and int(body["chat_id"]) == chat:
                text = body["text"]
                if body.get("parse_mode") == "MarkdownV2":
                    text = re.sub(r"\\(.)", r"\1", text)
                lines.append("< " + text.replace("\n", "\n  "))
        return lines

    def messages(self, chat: int) -> list[str]:
        """The texts sent to ``chat``, in order."""
        return [b["text"] for b in self.sent("sendMessage") if int(b["chat_id"]) == chat]

    def answers(self, chat: int) -> list[str]:
        """The bot's answers to ``chat`` (plain text; alerts come in MarkdownV2)."""
        return [
            b["text"]
            for b in self.sent("sendMessage")
            if int(b["chat_id"]) == chat and "parse_mode" not in b
        ]

    async def handle(self, request: web.Request) -> web.Response:
        """``/bot<token>/<method>``."""
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        body = await request.json() if request.can_read_body else {}
        await self.record(method, body)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        result = await handler(body)
        return web.json_response({"ok": True, "result": result})

    async def _getUpdates(self, body: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: N802
        offset = int(body.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(float(body.get("timeout") or 0)):
                    await self._new.wait()
        return self.updates[: int(body.get("limit") or 100)]

    async def _sendMessage(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self._message_id += 1
        return {"message_id": self._message_id, "chat": {"id": int(body["chat_id"])}}

    async def _setWebhook(self, body: dict[str, Any]) -> bool:  # noqa: N802
        self.webhook = body
        return True

    async def _deleteWebhook(self, body: dict[str, Any]) -> bool:  # noqa: N802
        self.webhook = {}
        return True

    async def _getChatMember(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        key = (int(body["chat_id"]), int(body["user_id"]))
        return {"status": self.members.get(key, "member"), "user": {"id": key[1]}}

    async def _answerCallbackQuery(self, body: dict[str, Any]) -> bool:  # noqa: N802
        return True

    async def _setMyCommands(self, body: dict[str, Any]) -> bool:  # noqa: N802
        return True

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        return app


@dataclass
class DiscordServer(Recorder):
    """Discord REST for one bot token."""

    token: str

    def __post_init__(self) -> None:
        Recorder.__init__(self)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages posted to ``channel``."""
        return [b for m, b in self.calls if m == f"channel:{channel}"]

    async def create_message(self, request: web.Request) -> web.Response:
        """``POST /api/v10/channels/{id}/messages``."""
        if not self._authorized(request):
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        await self.record(f"channel:{request.match_info['id']}", await request.json())
        return web.json_response({"id": str(len(self.calls)), "type": 0})

    async def put_commands(self, request: web.Request) -> web.Response:
        """``PUT /api/v10/applications/{app}/commands``: overwrite, answer them with ids."""
        if not self._authorized(request):
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        commands = await request.json()
        await self.record(f"commands:{request.match_info['app']}", {"commands": commands})
        return web.json_response([{**c, "id": str(i + 1)} for i, c in enumerate(commands)])

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_post("/api/v10/channels/{id}/messages", self.create_message)
        app.router.add_put("/api/v10/applications/{app}/commands", self.put_commands)
        return app


@dataclass
class SlackServer(Recorder):
    """The Slack Web API's chat.postMessage for one bot token and its channels."""

    token: str
    channels: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        Recorder.__init__(self)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages posted to ``channel``."""
        return [b for b in self.sent("chat.postMessage") if b.get("channel") == channel]

    async def post_message(self, request: web.Request) -> web.Response:
        """``POST /api/chat.postMessage`` (JSON, bearer token)."""
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        body = await request.json()
        if body.get("channel") not in self.channels:
            return web.json_response({"ok": False, "error": "channel_not_found"})
        await self.record("chat.postMessage", body)
        return web.json_response({"ok": True, "channel": body["channel"], "ts": "1.0"})

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_post("/api/chat.postMessage", self.post_message)
        return app


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 (a free port); its base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)  # a long poll: no wait
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
