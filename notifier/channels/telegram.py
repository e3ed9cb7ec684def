"""Telegram Bot API ``sendMessage`` in MarkdownV2; the bot token is the target's secret."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from notifier.channels import format as fmt
from notifier.channels.base import MAX_BODY, HttpChannel, Target, as_seconds, check_reply
from notifier.channels.http import DeliveryClient, Reply
from notifier.channels.ratelimit import SYSTEM_CLOCK, Clock, RateLimiter, fingerprint
from notifier.domain.alerts import Alert
from notifier.errors import ChannelError

# Every character MarkdownV2 gives a meaning to, and the backslash itself.
MARKDOWN_V2_SPECIAL = "\\_*[]()~`>#+-=|{}.!"
_ESCAPES = str.maketrans({c: "\\" + c for c in MARKDOWN_V2_SPECIAL})
_TOKEN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")
TEXT_LIMIT = 3500  # characters of alert text; Telegram allows 4096 after parsing


def escape_markdown_v2(text: str) -> str:
    """``text`` with every MarkdownV2 special character escaped, so it renders literally."""
    return text.translate(_ESCAPES)


def telegram_text(alert: Alert) -> str:
    """The message: bold label, the alert text, and the aggregate in italics."""
    s = fmt.style(alert)
    lines = [
        f"{s.emoji} *{escape_markdown_v2(s.label)}*",
        escape_markdown_v2(fmt.truncate(alert.text, TEXT_LIMIT)),
    ]
    if (agg := fmt.aggregate_line(alert)) is not None:
        lines.append(
            f"_{escape_markdown_v2(fmt.fact('Aggregate', alert))}: {escape_markdown_v2(agg)}_"
        )
    return "\n".join(lines)


class TelegramChannel(HttpChannel):
    """Sends to a chat (``options.chat_id``); one message per second per chat, 30/s per bot."""

    name = "telegram"
    default_base_url = "https://api.telegram.org"

    def __init__(
        self,
        session: DeliveryClient,
        base_url: str | None = None,
        *,
        timeout: float = 10.0,
        max_body: int = MAX_BODY,
        max_wait: float = 2.0,
        clock: Clock = SYSTEM_CLOCK,
        limiter: RateLimiter | None = None,
        bot_limiter: RateLimiter | None = None,
    ) -> None:
        super().__init__(
            session,
            base_url,
            timeout=timeout,
            max_body=max_body,
            max_wait=max_wait,
            clock=clock,
            limiter=limiter,
        )
        self.bot_limiter = bot_limiter or RateLimiter(rate=30.0, burst=30, clock=clock)

    @classmethod
    def default_limiter(cls, clock: Clock) -> RateLimiter:
        """One message per second per chat."""
        return RateLimiter(rate=1.0, burst=1, clock=clock)

    def endpoint(self, target: Target) -> str:
        """``{base_url}/bot{token}/sendMessage``."""
        return f"{self.base_url}/bot{_token(target)}/sendMessage"

    def payload(self, alert: Alert, target: Target) -> dict[str, Any]:
        """The sendMessage parameters."""
        body: dict[str, Any] = {
            "chat_id": _chat_id(target),
            "text": telegram_text(alert),
            "parse_mode": "MarkdownV2",
            "disable_web_page_preview": True,
        }
        if "message_thread_id" in target.options:
            body["message_thread_id"] = target.options["message_thread_id"]
        return body

    def limit_key(self, target: Target) -> str:
        """The chat, per bot."""
        return f"{fingerprint(_token(target))}:{_chat_id(target)}"

    def limits(self, target: Target) -> Sequence[tuple[RateLimiter, str]]:
        """A slot for the chat and one for the bot."""
        return [
            (self.limiter, self.limit_key(target)),
            (self.bot_limiter, fingerprint(_token(target))),
        ]

    def check(self, reply: Reply, target: Target) -> None:
        """Read Telegram's ``ok``/``error_code``/``parameters.retry_after`` answer."""
        body = reply.json()
        if not isinstance(body, dict) or body.get("ok") is not False:
            check_reply(reply, self._clock.now())
            return
        code = body.get("error_code")
        code = code if isinstance(code, int) else reply.status
        params = body.get("parameters")
        params = params if isinstance(params, dict) else {}
        msg = f"telegram {code}: {body.get('description', '')}"
        if "migrate_to_chat_id" in params:
            msg += f" (the chat is now {params['migrate_to_chat_id']})"
        if code == 403:  # the bot was blocked, kicked, or the user is gone
            raise ChannelError(msg, gone=True, status=code)
        if code == 429 or code >= 500:
            raise ChannelError(msg, retry_after=as_seconds(params.get("retry_after")), status=code)
        raise ChannelError(msg, permanent=True, status=code)


def _token(target: Target) -> str:
    token = target.secret_value()
    if not token or not _TOKEN.match(token):
        raise ChannelError("telegram target has no valid bot token (secret)", permanent=True)
    return token


def _chat_id(target: Target) -> str | int:
    chat = target.options.get("chat_id")
    if isinstance(chat, bool) or not isinstance(chat, str | int) or chat == "":
        raise ChannelError("telegram target has no options.chat_id", permanent=True)
    return chat
