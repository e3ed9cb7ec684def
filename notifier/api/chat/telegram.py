"""The Telegram bot: Bot API calls, updates to commands, answers to messages and keyboards.

Updates come by long polling (``getUpdates`` with an offset kept in Redis) or by webhook
(``setWebhook`` with a ``secret_token``; ``notifier.api.chat.routes`` checks the header). Either way
each update is handled once: its ``update_id`` is marked in Redis before it is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import redis.asyncio as aioredis

from notifier.api.chat.chats import Chat, Destination
from notifier.api.chat.platform import post_json
from notifier.api.chat.service import BotService
from notifier.api.chat.texts import HELP, Answer
from notifier.bus import keys
from notifier.bus.connect import cancel
from notifier.channels.base import as_seconds
from notifier.channels.ratelimit import fingerprint
from notifier.errors import BotError
from notifier.settings import TelegramBotSettings

log = logging.getLogger("notifier.api.chat.telegram")
T = TypeVar("T")
ADMINS = frozenset({"creator", "administrator"})
GROUPS = frozenset({"group", "supergroup"})
UPDATES = ["message", "callback_query"]
SEEN_TTL_S = 86400
CALLBACK_MAX = 64  # bytes of callback_data Telegram keeps
MAX_BACKOFF_S = 30.0


class BotApi:
    """The Bot API methods the bot uses; the token stays in the URL, never in a message."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self._session = session
        self._base = f"{base_url.rstrip('/')}/bot{token}"

    async def call(self, method: str, timeout_s: float = 10.0, **params: Any) -> Any:
        """Call ``method``; its ``result``, or BotError with Telegram's description."""
        body = {k: v for k, v in params.items() if v is not None}
        answer = await post_json(
            self._session, f"{self._base}/{method}", body, what=method, timeout_s=timeout_s
        )
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            info = answer if isinstance(answer, dict) else {}
            params_ = info.get("parameters") if isinstance(info.get("parameters"), dict) else {}
            raise BotError(
                f"{method}: telegram {info.get('error_code')}: {info.get('description', '')}",
                status=info.get("error_code") if isinstance(info.get("error_code"), int) else None,
                retry_after=as_seconds((params_ or {}).get("retry_after")),
            )
        return answer.get("result")


def menu() -> list[dict[str, str]]:
    """The ``setMyCommands`` list: each verb and what it does (from the help text)."""
    out = []
    for line in HELP.lines:
        names, _, what = line.partition(": ")
        for name in names.split(", "):
            verb = name.split()[0].lstrip("/")
            out.append({"command": verb, "description": what[:256]})
    return [*out, {"command": "help", "description": "what this bot can do"}]


def keyboard(answer: Answer) -> dict[str, Any] | None:
    """An inline keyboard of the answer's choices, one per row (those whose data fits)."""
    rows = [
        [{"text": c.label[:64], "callback_data": c.command}]
        for c in answer.choices
        if len(c.command.encode()) <= CALLBACK_MAX
    ]
    return {"inline_keyboard": rows} if rows else None


class TelegramBot:
    """Answers the updates of one bot."""

    def __init__(
        self,
        api: BotApi,
        service: BotService,
        r: aioredis.Redis,
        settings: TelegramBotSettings,
        token: str,
    ) -> None:
        self.api = api
        self.service = service
        self.r = r
        self.settings = settings
        self._token = token
        self.name = fingerprint(token)  # what keys and logs call this bot

    async def handle(self, update: dict[str, Any]) -> bool:
        """Answer one update, once (False if it was handled before or is not for us)."""
        update_id = update.get("update_id")
        if not isinstance(update_id, int):
            return False
        seen = keys.bot_seen(f"telegram:{self.name}", str(update_id))
        if not await self.r.set(seen, 1, nx=True, ex=SEEN_TTL_S):
            return False
        if isinstance(update.get("callback_query"), dict):
            return await self._callback(update["callback_query"])
        if isinstance(update.get("message"), dict):
            return await self._message(update["message"])
        return False

    async def _message(self, message: dict[str, Any]) -> bool:
        text = message.get("text")
        if not isinstance(text, str) or not text.startswith("/") or not self._for_me(text):
            return False
        chat = self.chat(message, _user(message))
        if chat is None:
            return False
        await self.reply(chat, message, await self.service.answer(chat, text))
        return True

    async def _callback(self, query: dict[str, Any]) -> bool:
        message, data = query.get("message"), query.get("data")
        await self.api.call("answerCallbackQuery", callback_query_id=query.get("id"))
        if not isinstance(message, dict) or not isinstance(data, str):
            return False
        chat = self.chat(message, _user(query))
        if chat is None:
            return False
        await self.reply(chat, message, await self.service.answer(chat, data))
        return True

    def _for_me(self, text: str) -> bool:
        """``/cmd@OtherBot`` in a group is another bot's."""
        head = text.split(maxsplit=1)[0]
        _, at, name = head.partition("@")
        wanted = (self.settings.username or "").lstrip("@").casefold()
        return not at or not wanted or name.casefold() == wanted

    def chat(self, message: dict[str, Any], user: int | None) -> Chat | None:
        """The chat a message came from, owning the subscriptions it makes."""
        info = message.get("chat")
        if not isinstance(info, dict) or not isinstance(info.get("id"), int):
            return None
        chat_id: int = info["id"]
        options: dict[str, str | int | bool] = {"chat_id": str(chat_id)}
        thread = message.get("message_thread_id")
        if message.get("is_topic_message") and isinstance(thread, int):
            options["message_thread_id"] = thread
        dest = Destination("telegram", secret=self._token, options=options)
        return Chat(
            "telegram",
            str(chat_id),
            dest,
            group=info.get("type") in GROUPS,
            is_admin=self._admin_check(chat_id, user),
        )

    def _admin_check(self, chat_id: int, user: int | None) -> Callable[[], Any]:
        async def is_admin() -> bool:
            if user is None:
                return False
            member = await self.api.call("getChatMember", chat_id=chat_id, user_id=user)
            return isinstance(member, dict) and member.get("status") in ADMINS

        return is_admin

    async def reply(self, chat: Chat, message: dict[str, Any], answer: Answer) -> None:
        """Send the answer to the chat (in the message's topic, if any)."""
        await self.api.call(
            "sendMessage",
            chat_id=int(chat.id),
            text=answer.text,
            reply_markup=keyboard(answer),
            message_thread_id=chat.destination.options.get("message_thread_id"),
            disable_web_page_preview=True,
        )

    async def set_commands(self) -> None:
        """Tell Telegram the command list, so apps offer it when a user types ``/``."""
        await self.api.call("setMyCommands", commands=menu())

    async def set_webhook(self) -> None:
        """Webhook mode: tell Telegram where to POST updates, with the secret token."""
        secret = self.settings.secret_token
        await self.api.call(
            "setWebhook",
            url=self.settings.webhook_url,
            secret_token=secret.get_secret_value() if secret else None,
            allowed_updates=UPDATES,
        )
        log.info("telegram_webhook_set", extra={"bot": self.name})

    async def poll(self, stop: asyncio.Event, *, max_rounds: int | None = None) -> None:
        """Long-poll ``getUpdates`` until ``stop`` (or ``max_rounds`` rounds: tests)."""
        failures, rounds, ready = 0, 0, False
        while not stop.is_set() and (max_rounds is None or rounds < max_rounds):
            rounds += 1
            try:
                if not ready:  # getUpdates is refused while a webhook is set
                    await self.api.call("deleteWebhook")
                    ready = True
                await self.poll_once(stop)
                failures = 0
            except BotError as exc:
                failures += 1
                wait = exc.retry_after or min(MAX_BACKOFF_S, 0.5 * 2**failures)
                log.warning("telegram_poll_failed", extra={"bot": self.name, "error": str(exc)})
                await unless_stopped(stop, asyncio.sleep(wait))

    async def poll_once(self, stop: asyncio.Event | None = None) -> int:
        """One ``getUpdates`` round: answer each update, then move the offset past it.

        A ``stop`` ends the long poll at once: updates it would have fetched are not confirmed
        (the offset stays), so Telegram hands them out again next time."""
        key = keys.bot_offset(f"telegram:{self.name}")
        offset = int(await self.r.get(key) or 0)
        wait = self.settings.poll_timeout_s
        fetch = self.api.call(
            "getUpdates",
            timeout_s=wait + 10.0,
            offset=offset or None,
            timeout=wait,
            limit=100,
            allowed_updates=UPDATES,
        )
        updates = await unless_stopped(stop or asyncio.Event(), fetch)
        handled = 0
        for update in updates if isinstance(updates, list) else []:
            if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
                continue
            try:
                handled += await self.handle(update)
            except BotError as exc:
                log.warning("telegram_answer_failed", extra={"bot": self.name, "error": str(exc)})
            await self.r.set(key, update["update_id"] + 1)
        return handled


async def unless_stopped(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
    """``work``'s result, or None (``work`` cancelled) if ``stop`` is set first."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel(stopper)
    if task.done():
        return task.result()
    await cancel(task)
    return None


def _user(item: dict[str, Any]) -> int | None:
    sender = item.get("from")
    user = sender.get("id") if isinstance(sender, dict) else None
    return user if isinstance(user, int) else None


async def run_bot(bot: TelegramBot, stop: asyncio.Event, *, tries: int = 10) -> None:
    """Run the bot until ``stop``: long polling, or (webhook mode) register the webhook once."""
    if bot.settings.mode == "polling":
        with contextlib.suppress(BotError):  # the menu is a nicety: the bot answers without it
            await bot.set_commands()
        await bot.poll(stop)
        return
    for attempt in range(tries):
        try:
            await bot.set_webhook()
            await bot.set_commands()
            break
        except BotError as exc:
            log.warning("telegram_webhook_failed", extra={"bot": bot.name, "error": str(exc)})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(exc.retry_after or min(MAX_BACKOFF_S, 2.0**attempt)):
                    await stop.wait()
            if stop.is_set():
                return
    await stop.wait()
