"""Discord webhooks: a short ``content`` line and one embed; rate limits from Discord's answers."""

from __future__ import annotations

from typing import Any

from notifier.channels import format as fmt
from notifier.channels.base import HttpChannel, Target, as_seconds, check_reply
from notifier.channels.http import Reply
from notifier.domain.alerts import Alert
from notifier.errors import ChannelError

UNKNOWN_WEBHOOK = 10015  # Discord's JSON error code for a deleted webhook
UNKNOWN_CHANNEL = 10003  # ... and for a deleted channel a bot token posts to


def discord_payload(alert: Alert) -> dict[str, Any]:
    """The webhook body: content (kind and score, what a notification shows), one embed (the
    text, and as fields the facts the content does not show, named in the alert's language),
    and no pings whatever the names contain."""
    s = fmt.style(alert)
    fields = []
    if (agg := fmt.aggregate_line(alert)) is not None:
        fields.append({"name": fmt.fact("Aggregate", alert), "value": agg, "inline": True})
    if (minute := fmt.minute_label(alert)) is not None:
        fields.append({"name": fmt.fact("Minute", alert), "value": minute, "inline": True})
    embed = {
        "title": fmt.truncate(f"{s.emoji} {s.label}", 256),
        "description": fmt.truncate(alert.text, 4096),
        "color": s.color,
        "fields": [{**f, "value": fmt.truncate(str(f["value"]), 1024)} for f in fields],
        "timestamp": alert.occurred_at.isoformat(),
    }
    return {
        "content": fmt.truncate(fmt.headline(alert), 2000),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }


class DiscordChannel(HttpChannel):
    """Executes a Discord webhook; a 429 or an exhausted bucket pauses that webhook."""

    name = "discord"
    default_base_url = "https://discord.com"

    def payload(self, alert: Alert, target: Target) -> dict[str, Any]:
        """Content and embed."""
        return discord_payload(alert)

    def headers(self, target: Target, body: bytes, idempotency_key: str) -> dict[str, str]:
        """A bot token's target (a channel's messages) authenticates with it."""
        token = target.secret_value()
        return {"Authorization": f"Bot {token}"} if token else {}

    def check(self, reply: Reply, target: Target) -> None:
        """Honour the JSON ``retry_after`` of a 429 and the bucket headers; 10015 is gone."""
        headers = reply.headers
        if headers.get("X-RateLimit-Remaining") == "0":
            reset = as_seconds(headers.get("X-RateLimit-Reset-After"))
            if reset is not None:
                self.limiter.block(self.limit_key(target), reset)
        body = reply.json() if reply.status >= 400 else None
        body = body if isinstance(body, dict) else {}
        if reply.status == 404 and body.get("code") in (UNKNOWN_WEBHOOK, UNKNOWN_CHANNEL):
            raise ChannelError("discord: unknown webhook or channel", gone=True, status=404)
        retry_after = as_seconds(body.get("retry_after")) if reply.status == 429 else None
        check_reply(reply, self._clock.now(), retry_after=retry_after)
