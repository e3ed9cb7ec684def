"""One live message per match or tie, created once and then edited, on chat platforms that can
edit: Telegram (``sendMessage`` / ``editMessageText``), Discord webhooks (``?wait=true`` on
create for the message id, ``PATCH .../messages/{id}``) and Slack's Web API with a bot token
(``chat.postMessage`` / ``chat.update``). A message that can no longer be edited (deleted, too
old) raises :class:`MessageGoneError`: the caller posts a new one. Each request goes through the
channel's own rate limits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from notifier.channels.base import HttpChannel, Target
from notifier.channels.discord import DiscordChannel
from notifier.channels.http import Reply
from notifier.channels.telegram import TelegramChannel, _chat_id, _token
from notifier.errors import ChannelError, MessageGoneError
from notifier.net import retry_after

TELEGRAM_GONE = ("message to edit not found", "message can't be edited")
SLACK_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
DISCORD_UNKNOWN_MESSAGE = 10008


class LiveOps(Protocol):
    """Create and edit one message."""

    async def create(self, target: Target, text: str) -> str:
        """Post ``text``; the new message's id."""
        ...

    async def edit(self, target: Target, message_id: str, text: str) -> None:
        """Make message ``message_id`` show ``text`` (MessageGoneError if it cannot)."""
        ...


def _json(reply: Reply) -> dict[str, Any]:
    body = reply.json()
    return body if isinstance(body, dict) else {}


class TelegramLive:
    """Telegram Bot API."""

    def __init__(self, channel: TelegramChannel) -> None:
        self.channel = channel

    def _url(self, target: Target, method: str) -> str:
        return f"{self.channel.base_url}/bot{_token(target)}/{method}"

    async def create(self, target: Target, text: str) -> str:
        """``sendMessage``: ``result.message_id``."""
        body = {"chat_id": _chat_id(target), "text": text, "disable_web_page_preview": True}
        reply = await self.channel.call(self._url(target, "sendMessage"), body, target)
        self.channel.check(reply, target)
        message = _json(reply).get("result") or {}
        if not isinstance(message, dict) or "message_id" not in message:
            raise ChannelError("telegram: sendMessage answered without a message_id")
        return str(message["message_id"])

    async def edit(self, target: Target, message_id: str, text: str) -> None:
        """``editMessageText``; 'message is not modified' is no error."""
        body = {"chat_id": _chat_id(target), "message_id": int(message_id), "text": text}
        reply = await self.channel.call(self._url(target, "editMessageText"), body, target)
        data = _json(reply)
        if data.get("ok") is False:
            said = str(data.get("description", ""))
            if "message is not modified" in said:
                return
            if any(gone in said for gone in TELEGRAM_GONE):
                raise MessageGoneError(f"telegram: {said}", permanent=True)
        self.channel.check(reply, target)


class DiscordLive:
    """Discord webhook messages."""

    def __init__(self, channel: DiscordChannel) -> None:
        self.channel = channel

    async def create(self, target: Target, text: str) -> str:
        """Execute the webhook with ``?wait=true``: the message object's ``id``."""
        url = self.channel.endpoint(target) + "?wait=true"
        body = {"content": text[:2000], "allowed_mentions": {"parse": []}}
        reply = await self.channel.call(url, body, target)
        self.channel.check(reply, target)
        message_id = _json(reply).get("id")
        if not message_id:
            raise ChannelError("discord: the webhook answered without a message id")
        return str(message_id)

    async def edit(self, target: Target, message_id: str, text: str) -> None:
        """``PATCH /webhooks/{id}/{token}/messages/{message_id}``."""
        url = f"{self.channel.endpoint(target)}/messages/{message_id}"
        body = {"content": text[:2000], "allowed_mentions": {"parse": []}}
        reply = await self.channel.call(url, body, target, method="PATCH")
        if reply.status == 404 and _json(reply).get("code") == DISCORD_UNKNOWN_MESSAGE:
            raise MessageGoneError("discord: unknown message", permanent=True, status=404)
        self.channel.check(reply, target)


class SlackLive:
    """Slack Web API with a bot token (the target's secret) and ``options.channel``."""

    def __init__(self, channel: HttpChannel, api_url: str) -> None:
        self.channel = channel
        self.api_url = api_url.rstrip("/")

    async def _call(self, target: Target, method: str, body: dict[str, Any]) -> dict[str, Any]:
        token = target.secret_value() or ""
        auth = {"Authorization": f"Bearer {token}"}
        url = f"{self.api_url}/api/{method}"
        reply = await self.channel.call(url, body, target, headers=auth)
        data = _json(reply)
        if reply.status == 429:
            wait = retry_after(reply.headers.get("Retry-After"), datetime.now(UTC))
            raise ChannelError("slack: rate limited", retry_after=wait, status=429)
        if data.get("ok") is True:
            return data
        error = str(data.get("error") or f"HTTP {reply.status}")
        if error in SLACK_GONE:
            raise MessageGoneError(f"slack: {error}", permanent=True)
        if error in ("ratelimited", "internal_error", "fatal_error") or reply.status >= 500:
            raise ChannelError(f"slack: {error}", status=reply.status)
        raise ChannelError(f"slack: {error}", permanent=True, status=reply.status)

    async def create(self, target: Target, text: str) -> str:
        """``chat.postMessage``: the message is named by its channel and ``ts``."""
        data = await self._call(
            target, "chat.postMessage", {"channel": target.options.get("channel"), "text": text}
        )
        return f"{data.get('channel')}:{data.get('ts')}"

    async def edit(self, target: Target, message_id: str, text: str) -> None:
        """``chat.update`` of that channel and ``ts``."""
        channel, _, ts = message_id.partition(":")
        await self._call(target, "chat.update", {"channel": channel, "ts": ts, "text": text})
