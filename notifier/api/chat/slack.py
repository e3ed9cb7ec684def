"""The Slack bot: verify a slash command (signing secret, v0), answer with Block Kit.

Slack signs ``v0:{X-Slack-Request-Timestamp}:{body}`` with HMAC-SHA256 under the app's signing
secret (``X-Slack-Signature: v0=<hex>``); a timestamp more than five minutes away is refused,
so a captured request cannot be replayed later (and a replay within them is refused by its
signature, remembered in Redis). Follows post to the channel with ``chat.postMessage``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qs

from notifier.api.chat.chats import Chat, Destination
from notifier.api.chat.commands import VERBS
from notifier.api.chat.texts import Answer
from notifier.channels.slack import escape_mrkdwn
from notifier.errors import SignatureError

MAX_AGE_S = 300  # Slack's own advice: five minutes
SECTION_LIMIT = 3000


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v0=`` and the hex HMAC-SHA256 of ``v0:timestamp:body``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, sent: str, body: bytes, now: float) -> None:
    """Raise SignatureError unless the request is Slack's and recent."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_AGE_S:
        raise SignatureError("stale timestamp")
    if not hmac.compare_digest(signature(secret, timestamp, body).encode(), sent.encode()):
        raise SignatureError("bad signature")


def form(body: bytes) -> dict[str, str]:
    """The slash command's form fields (first value of each)."""
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=64)
    return {k: v[0] for k, v in fields.items() if v}


def command_text(fields: dict[str, str]) -> str:
    """``/follow Dortmund`` from ``/follow`` + ``Dortmund``, or from ``/footy follow Dortmund``."""
    name = fields.get("command", "").lstrip("/").lower()
    text = fields.get("text", "").strip()
    if name in VERBS:
        return f"/{name} {text}".strip()
    return text or "help"


def chat_of(fields: dict[str, str], bot_token: str | None, api_url: str) -> Chat | None:
    """The channel a command came from; its follows post there with ``chat.postMessage``."""
    channel, team = fields.get("channel_id", ""), fields.get("team_id", "")
    if not channel.isalnum() or not team.isalnum():
        return None
    dest = Destination(
        "slack",
        url=f"{api_url.rstrip('/')}/chat.postMessage",
        secret=bot_token,
        options={"channel": channel},
    )
    return Chat("slack", channel, dest, group=False, team=team)


def action(fields: dict[str, str]) -> tuple[dict[str, str], str] | None:
    """A button click (``block_actions``): the command fields it stands for and its command."""
    try:
        payload = json.loads(fields.get("payload", ""))
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return None
    actions, channel, team = payload.get("actions"), payload.get("channel"), payload.get("team")
    if not (isinstance(actions, list) and actions and isinstance(actions[0], dict)):
        return None
    value = actions[0].get("value")
    if not isinstance(value, str) or not isinstance(channel, dict) or not isinstance(team, dict):
        return None
    return {"channel_id": str(channel.get("id", "")), "team_id": str(team.get("id", ""))}, value


def blocks(answer: Answer) -> dict[str, Any]:
    """An answer as Block Kit: the title, the lines, the choices as commands to type."""
    body = "\n".join(escape_mrkdwn(line) for line in answer.lines)
    out: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape_mrkdwn(answer.title)}*"}}
    ]
    if body:
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:SECTION_LIMIT]}})
    if answer.choices:  # a click comes back to /v1/slack/actions with the button's value
        buttons = [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": c.label[:75]},
                "value": c.command[:2000],
                "action_id": f"nf_choice_{i}",
            }
            for i, c in enumerate(answer.choices[:25])
        ]
        out.append({"type": "actions", "elements": buttons})
    return {
        "response_type": "in_channel" if answer.ok else "ephemeral",
        "text": answer.text,
        "blocks": out,
    }
