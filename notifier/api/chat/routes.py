"""Inbound chat endpoints: the Telegram webhook, Discord interactions, Slack slash commands.

Each request is verified before anything else is read of it (Telegram: the secret token
header, compared in constant time; Discord: the Ed25519 signature; Slack: the v0 HMAC), and a
signed request is answered once: a replay is refused. These routes take no bearer token: their
signature is their authentication. Only a configured platform's routes are served (and so
documented); another platform's path is a 404 like any path the API does not have.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from notifier.api.auth import SIGNED
from notifier.api.chat import discord, slack
from notifier.api.chat.chats import Chat
from notifier.api.chat.platform import post_json
from notifier.api.chat.wiring import Bots, build_bots, inbound
from notifier.api.openapi import EXTRA_PATHS
from notifier.api.state import REDIS, SETTINGS
from notifier.errors import BotError, ProblemError, SignatureError

log = logging.getLogger("notifier.api.chat.routes")
BOTS = web.AppKey("bots", Bots)
TELEGRAM = "/v1/telegram/webhook"
DISCORD = "/v1/discord/interactions"
SLACK = "/v1/slack/commands"
SLACK_ACTIONS = "/v1/slack/actions"
PATHS = SIGNED  # the routes the bearer-token middleware leaves to their signatures


def _refuse(platform: str, why: str) -> ProblemError:
    log.warning("bot_request_refused", extra={"platform": platform, "reason": why})
    return ProblemError(401, f"request not verified: {why}")


def _json(body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def _loads(body: bytes, platform: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ProblemError(400, f"{platform}: the body is not JSON") from None


async def telegram_webhook(request: web.Request) -> web.Response:
    """``POST /v1/telegram/webhook``: one update, checked against the secret token first."""
    bots = request.app[BOTS]
    settings = request.app[SETTINGS].bots.telegram
    if bots.telegram is None or settings.mode != "webhook" or settings.secret_token is None:
        raise ProblemError(404, "no Telegram bot in webhook mode here")
    sent = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    wanted = settings.secret_token.get_secret_value()
    if not hmac.compare_digest(sent.encode(), wanted.encode()):
        raise _refuse("telegram", "secret token")
    update = _loads(await request.read(), "telegram")
    if isinstance(update, dict):
        await bots.telegram.handle(update)
    return _json({})


async def discord_interactions(request: web.Request) -> web.Response:
    """``POST /v1/discord/interactions``: PING -> PONG, commands -> an embed."""
    bots = request.app[BOTS]
    settings = request.app[SETTINGS].bots
    if settings.discord.public_key is None:
        raise ProblemError(404, "no Discord application here")
    sig = request.headers.get("X-Signature-Ed25519", "")
    stamp = request.headers.get("X-Signature-Timestamp", "")
    body = await request.read()
    try:
        discord.verify(
            settings.discord.public_key, sig, stamp, body, bots.now(), settings.max_age_s
        )
    except SignatureError as exc:
        raise _refuse("discord", str(exc)) from None
    if not await bots.first_time("discord", sig):
        raise _refuse("discord", "replayed")
    interaction = _loads(body, "discord")
    if not isinstance(interaction, dict):
        raise ProblemError(400, "discord: not an interaction")
    if interaction.get("type") == discord.PING:
        return _json({"type": discord.PONG})
    token = settings.discord.token.get_secret_value() if settings.discord.token else None
    chat = discord.chat_of(interaction, token)
    text = discord.command_text(interaction)
    if chat is None or text is None:
        raise ProblemError(400, "discord: not a command from a channel")
    return _json(discord.embed(await bots.service.answer(chat, text)))


async def _slack_form(request: web.Request) -> dict[str, str]:
    """The form of a verified, first-time Slack request (else a 401/404 problem)."""
    bots = request.app[BOTS]
    settings = request.app[SETTINGS].bots.slack
    if settings.signing_secret is None:
        raise ProblemError(404, "no Slack app here")
    sig = request.headers.get("X-Slack-Signature", "")
    stamp = request.headers.get("X-Slack-Request-Timestamp", "")
    body = await request.read()
    try:
        slack.verify(settings.signing_secret.get_secret_value(), stamp, sig, body, bots.now())
    except SignatureError as exc:
        raise _refuse("slack", str(exc)) from None
    if not await bots.first_time("slack", sig):
        raise _refuse("slack", "replayed")
    return slack.form(body)


def _slack_chat(request: web.Request, fields: dict[str, str]) -> Chat:
    settings = request.app[SETTINGS].bots.slack
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    chat = slack.chat_of(fields, token, settings.api_url)
    if chat is None:
        raise ProblemError(400, "slack: not from a channel")
    return chat


async def slack_commands(request: web.Request) -> web.Response:
    """``POST /v1/slack/commands``: a slash command -> Block Kit."""
    fields = await _slack_form(request)
    chat = _slack_chat(request, fields)
    answer = await request.app[BOTS].service.answer(chat, slack.command_text(fields))
    return _json(slack.blocks(answer))


async def slack_actions(request: web.Request) -> web.Response:
    """``POST /v1/slack/actions``: a button of an answer was clicked; the answer to its command
    is posted to the channel (chat.postMessage), and the click acknowledged."""
    bots = request.app[BOTS]
    clicked = slack.action(await _slack_form(request))
    if clicked is None:
        raise ProblemError(400, "slack: not a button click")
    fields, command = clicked
    chat = _slack_chat(request, fields)
    answer = await bots.service.answer(chat, command)
    if chat.destination.secret is None:
        log.error("slack_answer_dropped", extra={"reason": "bots.slack.bot_token is not set"})
        return web.Response(status=200)
    body = {"channel": fields["channel_id"], **slack.blocks(answer)}
    headers = {"Authorization": f"Bearer {chat.destination.secret}"}
    try:
        await post_json(
            bots.session, chat.destination.url, body, what="chat.postMessage", headers=headers
        )
    except BotError as exc:
        log.warning("slack_answer_failed", extra={"error": str(exc)})
    return web.Response(status=200)


async def _bots_ctx(app: web.Application) -> AsyncIterator[None]:
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    app[BOTS] = build_bots(app[SETTINGS], app[REDIS], session)
    yield
    await session.close()


def setup_bots(app: web.Application) -> None:
    """Add the inbound routes of the configured chat platforms (none: no route, no document)."""
    app.cleanup_ctx.append(_bots_ctx)
    platforms = inbound(app[SETTINGS])
    if "telegram" in platforms:
        app.router.add_post(TELEGRAM, telegram_webhook)
    if "discord" in platforms:
        app.router.add_post(DISCORD, discord_interactions)
    if "slack" in platforms:
        app.router.add_post(SLACK, slack_commands)
        app.router.add_post(SLACK_ACTIONS, slack_actions)


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _op(summary: str, op_id: str, headers: list[dict[str, Any]], media: str) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        "post": {
            "summary": summary,
            "operationId": op_id,
            "security": [],  # signed by the platform instead of a bearer token
            "parameters": headers,
            "requestBody": {"required": True, "content": {media: {"schema": {"type": "object"}}}},
            "responses": {
                "200": {
                    "description": "Answered (the platform's own response format)",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "400": {"description": "Verified, but not a command", "content": problem},
                "401": {"description": "Not verified: bad, stale or replayed", "content": problem},
                "404": {"description": "This platform's bot is not configured", "content": problem},
                "413": {"description": "Body too large", "content": problem},
            },
        }
    }


EXTRA_PATHS[TELEGRAM] = _op(
    "Telegram webhook: one update",
    "telegramWebhook",
    [_header("X-Telegram-Bot-Api-Secret-Token", "the bots.telegram.secret_token")],
    "application/json",
)
EXTRA_PATHS[DISCORD] = _op(
    "Discord interactions: PING, slash commands, buttons",
    "discordInteractions",
    [
        _header("X-Signature-Ed25519", "Ed25519 signature of timestamp + body (hex)"),
        _header("X-Signature-Timestamp", "Unix seconds"),
    ],
    "application/json",
)
EXTRA_PATHS[SLACK_ACTIONS] = _op(
    "Slack interactivity: a click on an answer's button",
    "slackActions",
    [
        _header("X-Slack-Signature", "v0=HMAC-SHA256 of v0:timestamp:body (hex)"),
        _header("X-Slack-Request-Timestamp", "Unix seconds; refused if over 5 minutes away"),
    ],
    "application/x-www-form-urlencoded",
)
EXTRA_PATHS[SLACK] = _op(
    "Slack slash commands",
    "slackCommands",
    [
        _header("X-Slack-Signature", "v0=HMAC-SHA256 of v0:timestamp:body (hex)"),
        _header("X-Slack-Request-Timestamp", "Unix seconds; refused if over 5 minutes away"),
    ],
    "application/x-www-form-urlencoded",
)
