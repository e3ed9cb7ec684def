"""Bot commands: ``notifier bot telegram`` (the Telegram bot alone) and
``notifier bot discord-register`` (the slash commands, through the Discord API)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

import aiohttp

from notifier.api import app as api_app
from notifier.api.chat import discord
from notifier.api.chat.telegram import run_bot
from notifier.api.chat.wiring import build_bots, check
from notifier.bus.connect import open_redis
from notifier.errors import ConfigError
from notifier.settings import Settings
from workers.cli.commands import wait_for_signal


def register(sub: Any) -> None:
    """Add ``bot telegram`` and ``bot discord-register``."""
    bot = sub.add_parser("bot", help="chat bots that answer commands").add_subparsers(
        dest="bot_command", required=True
    )
    bot.add_parser("telegram", help="run the Telegram bot alone (polling, or webhook + API)")
    bot.add_parser("discord-register", help="register the slash commands with Discord")


def run(args: argparse.Namespace, settings: Settings) -> int | None:
    """Run one of this module's commands; None when the command is another module's."""
    if args.command != "bot":
        return None
    if args.bot_command == "telegram":
        asyncio.run(telegram_alone(settings))
        return 0
    count = asyncio.run(discord_register(settings))
    print(f"registered {count} slash commands")
    return 0


async def telegram_alone(settings: Settings) -> None:
    """The Telegram bot until SIGTERM; in webhook mode with the API serving its route."""
    if settings.bots.telegram.token is None:
        raise ConfigError("bots.telegram.token is not set (NOTIFIER_BOTS__TELEGRAM__TOKEN)")
    check(settings)  # before anything starts
    async with contextlib.AsyncExitStack() as stack:
        r = await open_redis(settings, stack)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        bot = build_bots(settings, r, session).telegram
        assert bot is not None  # the token is set
        stop = asyncio.Event()
        tasks = [asyncio.create_task(run_bot(bot, stop), name="telegram-bot")]
        if settings.bots.telegram.mode == "webhook":
            tasks.append(asyncio.create_task(api_app.serve(settings, r, stop), name="api"))
        await until_stopped(tasks, stop, settings.shutdown_grace_s)


async def until_stopped(
    tasks: list[asyncio.Task[None]], stop: asyncio.Event, grace_s: float
) -> None:
    """Run ``tasks`` until SIGTERM/SIGINT (or one of them ends); then give them ``grace_s`` to
    finish (a long poll in flight is cancelled, not waited for) and raise what failed."""
    signalled = asyncio.create_task(wait_for_signal())
    await asyncio.wait([signalled, *tasks], return_when=asyncio.FIRST_COMPLETED)
    signalled.cancel()
    stop.set()
    _, pending = await asyncio.wait(tasks, timeout=grace_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        failure = None if task.cancelled() else task.exception()
        if failure is not None:
            raise failure


async def discord_register(settings: Settings) -> int:
    """PUT the slash commands to the Discord API; how many it registered."""
    async with aiohttp.ClientSession() as session:
        try:
            return await discord.register(
                session, settings.delivery.discord_url, settings.bots.discord
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
