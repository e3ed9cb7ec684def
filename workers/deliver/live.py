"""Live messages: one chat message per subscription and tie (or match), edited on each change.

The board (:mod:`notifier.domain.board`) and the message's id are kept in Redis
(``keys.live_board``), so the same message is edited after a restart. Delivering an alert
folds it into the board and edits the message to show it; the text unchanged, nothing is sent
(an alert with nothing to show, or an edit already made); the message gone (deleted, too old to
edit), a new one is posted. The alert's id is on the board once folded: delivered again (a
retry, a redelivery after a crash) it changes nothing. With ``live_goals`` a goal is also posted
as a message of its own, once.

Edits are coalesced: an alert with another one for the subscription right behind it (in line
in this dispatcher, or queued behind a delivery waiting for the platform's rate limit) is only
folded in, and the last of them edits the message once to show them all; an edit that would
show what the message already shows is not made. A platform's rate limit (the channel's
limiter, a 429) makes the delivery wait and retry like any other, so a burst of alerts becomes
one edit when the platform lets us make it.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as aioredis

from notifier.bus import keys
from notifier.bus.connect import translate_errors
from notifier.channels.base import Channel, Target
from notifier.channels.discord import DiscordChannel
from notifier.channels.live import DiscordLive, LiveOps, SlackLive, TelegramLive
from notifier.channels.slack import SlackChannel
from notifier.channels.subscriptions import Subscription
from notifier.channels.telegram import TelegramChannel
from notifier.domain.alerts import Alert
from notifier.domain.board import LiveBoard, fold, text
from notifier.errors import MessageGoneError

POSTED = "post:"  # a goal posted on its own, on the board's seen list


def live_ops(channels: Mapping[str, Channel], slack_api_url: str) -> dict[str, LiveOps]:
    """The edit-capable side of the chat channels present."""
    ops: dict[str, LiveOps] = {}
    if isinstance(tg := channels.get("telegram"), TelegramChannel):
        ops["telegram"] = TelegramLive(tg)
    if isinstance(dc := channels.get("discord"), DiscordChannel):
        ops["discord"] = DiscordLive(dc)
    if isinstance(sl := channels.get("slack"), SlackChannel):
        ops["slack"] = SlackLive(sl, slack_api_url)
    return ops


class LiveMessages:
    """The live messages of every subscription with ``style = "live"``."""

    def __init__(self, r: aioredis.Redis, ops: Mapping[str, LiveOps], *, ttl_s: int) -> None:
        self.r = r
        self.ops = dict(ops)
        self.ttl_s = ttl_s

    async def send(
        self,
        alert: Alert,
        sub: Subscription,
        target: Target,
        channel: Channel,
        key: str,
        *,
        defer: bool = False,
    ) -> None:
        """Show ``alert`` on the subscription's live message (raises DeliveryError); with
        ``defer`` (another alert comes right behind it) only fold it in: that one's edit shows
        both."""
        ops = self.ops[sub.spec.channel]
        where = keys.live_board(sub.id, alert.tie or alert.match)
        board = await self._load(where)
        if alert.id in board.seen:
            return
        if sub.spec.live_goals and alert.kind == "goal" and POSTED + alert.id not in board.seen:
            await channel.send(alert, target, idempotency_key=key)
            board = board.model_copy(update={"seen": (*board.seen, POSTED + alert.id)})
            await self._save(where, board)
        new = fold(board, alert)
        shown = text(new)
        if board.message_id is not None and (defer or shown == board.shown):
            await self._save(where, new)
            return
        message_id = await self._show(ops, target, board.message_id, shown, where, new)
        await self._save(where, new.model_copy(update={"message_id": message_id, "shown": shown}))

    async def _show(
        self,
        ops: LiveOps,
        target: Target,
        message_id: str | None,
        shown: str,
        where: str,
        board: LiveBoard,
    ) -> str:
        if message_id is not None:
            try:
                await ops.edit(target, message_id, shown)
                return message_id
            except MessageGoneError:
                pass  # replaced by a new one
        message_id = await ops.create(target, shown)
        # Kept at once: a crash before the board is saved edits this message, not a new one.
        await self._save(where, board.model_copy(update={"message_id": message_id}))
        return message_id

    async def _load(self, where: str) -> LiveBoard:
        with translate_errors("live board"):
            raw = await self.r.get(where)
        return LiveBoard.model_validate_json(raw) if raw else LiveBoard()

    async def _save(self, where: str, board: LiveBoard) -> None:
        with translate_errors("live board"):
            await self.r.set(where, board.model_dump_json(), ex=self.ttl_s)
