"""The Discord bot: verify an interaction (Ed25519), turn it into a command, answer with embeds.

Discord POSTs every interaction to ``/v1/discord/interactions`` signed with the application's
key: ``X-Signature-Ed25519`` over ``X-Signature-Timestamp`` + body. Nothing is parsed before
the signature and the timestamp's age are checked. Follows post to the channel through the bot
token (``POST /channels/{id}/messages``), as subscriptions of the ``discord`` channel.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from notifier.api.chat.chats import Chat, Destination
from notifier.api.chat.commands import VERBS
from notifier.api.chat.platform import post_json
from notifier.api.chat.texts import HELP, Answer
from notifier.errors import SignatureError
from notifier.settings import DiscordBotSettings

API = "/api/v10"
PING, COMMAND, COMPONENT = 1, 2, 3
PONG, MESSAGE = 1, 4
EPHEMERAL = 1 << 6
# Who may change a guild channel's follows: Administrator, Manage Guild or Manage Channels.
MANAGERS = (1 << 3) | (1 << 5) | (1 << 4)
GREEN, RED = 0x2ECC71, 0xE74C3C
ARGS: dict[str, tuple[str, int, bool]] = {  # verb -> (option description, type, required)
    "follow": ("team, competition or tie", 3, True),
    "unfollow": ("what to stop following, or all", 3, True),
    "kinds": ("alert kinds, or all", 3, False),
    "delay": ("seconds", 4, True),
    "lang": ("two-letter code", 3, True),
}


def verify(
    public_key: str, signature: str, timestamp: str, body: bytes, now: float, max_age: int
) -> None:
    """Raise SignatureError unless ``signature`` signs ``timestamp + body`` and it is recent."""
    from nacl.exceptions import BadSignatureError  # the ``bots`` extra (checked at start-up)
    from nacl.signing import VerifyKey

    try:
        key = VerifyKey(bytes.fromhex(public_key))
        key.verify(timestamp.encode() + body, bytes.fromhex(signature))
    except (ValueError, BadSignatureError):
        raise SignatureError("bad signature") from None
    if not timestamp.isdigit() or abs(now - int(timestamp)) > max_age:
        raise SignatureError("stale timestamp")


def command_text(interaction: dict[str, Any]) -> str | None:
    """The command an interaction carries: a slash command and its option, or a button's."""
    data = interaction.get("data")
    if not isinstance(data, dict):
        return None
    if interaction.get("type") == COMPONENT:
        custom = data.get("custom_id")
        return custom if isinstance(custom, str) else None
    name = data.get("name")
    if not isinstance(name, str):
        return None
    values = [str(o.get("value", "")) for o in data.get("options") or [] if isinstance(o, dict)]
    return " ".join([f"/{name}", *values])


def embed(answer: Answer) -> dict[str, Any]:
    """An answer as an interaction response: one embed, buttons for its choices."""
    body: dict[str, Any] = {
        "embeds": [
            {
                "title": answer.title[:256],
                "description": "\n".join(answer.lines)[:4096],
                "color": GREEN if answer.ok else RED,
            }
        ],
        "allowed_mentions": {"parse": []},
    }
    buttons = [
        {"type": 2, "style": 1, "label": c.label[:80], "custom_id": c.command}
        for c in answer.choices[:5]
        if len(c.command) <= 100
    ]
    if buttons:
        body["components"] = [{"type": 1, "components": buttons}]
    if not answer.ok:
        body["flags"] = EPHEMERAL
    return {"type": MESSAGE, "data": body}


def chat_of(interaction: dict[str, Any], token: str | None) -> Chat | None:
    """The channel an interaction came from; its follows post there with the bot token."""
    channel = interaction.get("channel_id")
    if not isinstance(channel, str) or not channel.isdigit():
        return None
    guild = interaction.get("guild_id")
    guild = guild if isinstance(guild, str) else None
    member = interaction.get("member")
    perms = member.get("permissions", "0") if isinstance(member, dict) else "0"
    allowed = str(perms).isdigit() and int(perms) & MANAGERS != 0

    async def is_admin() -> bool:
        return allowed

    dest = Destination("discord", url=f"{API}/channels/{channel}/messages", secret=token)
    return Chat("discord", channel, dest, group=guild is not None, team=guild, is_admin=is_admin)


def slash_commands() -> list[dict[str, Any]]:
    """The application's slash commands: every verb, with its one option where it takes one."""
    out = []
    for verb in (v for v in VERBS if v != "start"):
        command: dict[str, Any] = {"name": verb, "type": 1, "description": _describe(verb)}
        if verb in ARGS:
            text, kind, required = ARGS[verb]
            command["options"] = [
                {"name": "what", "description": text, "type": kind, "required": required}
            ]
        out.append(command)
    return out


def _describe(verb: str) -> str:
    for line in HELP.lines:
        if line.startswith(f"/{verb}") or f", /{verb}" in line:
            return line.split(": ", 1)[-1][:100]
    return "what this bot can do"


async def register(
    session: aiohttp.ClientSession, base_url: str, settings: DiscordBotSettings
) -> int:
    """Overwrite the application's slash commands (PUT); how many are registered."""
    if settings.application_id is None or settings.token is None:
        raise ValueError("bots.discord.application_id and bots.discord.token are required")
    app = settings.application_id
    path = (
        f"/applications/{app}/guilds/{settings.guild_id}/commands"
        if settings.guild_id
        else (f"/applications/{app}/commands")
    )
    headers = {"Authorization": f"Bot {settings.token.get_secret_value()}"}
    done = await post_json(
        session,
        base_url.rstrip("/") + API + path,
        slash_commands(),
        what="register commands",
        headers=headers,
        method="PUT",
    )
    return len(done) if isinstance(done, list) else 0
