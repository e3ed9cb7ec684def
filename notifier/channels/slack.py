"""Slack incoming webhooks: a Block Kit message with a plain ``text`` fallback."""

from __future__ import annotations

from typing import Any

from notifier.channels import format as fmt
from notifier.channels.base import HttpChannel, Target
from notifier.channels.http import Reply
from notifier.channels.ratelimit import Clock, RateLimiter, fingerprint
from notifier.domain.alerts import Alert
from notifier.errors import ChannelError

HEADER_LIMIT = 150  # Slack's limit for a header block's text
SECTION_LIMIT = 3000
GONE_ERRORS = frozenset({"no_service", "channel_is_archived", "team_disabled"})
# Web API errors of chat.postMessage (a bot token's target) after which retrying cannot help.
API_GONE = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "account_inactive",
        "invalid_auth",
        "token_revoked",
    }
)


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _context(facts: list[str]) -> list[dict[str, Any]]:
    """The context block of the facts; none when there are none (Slack refuses an empty one)."""
    if not facts:
        return []
    return [
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": escape_mrkdwn(f)} for f in facts],
        }
    ]


def slack_payload(alert: Alert) -> dict[str, Any]:
    """The Block Kit message: the header (kind and score), a section with the alert text, and
    a context with the facts the header does not show (aggregate, minute), named in the
    alert's language."""
    facts = []
    if (agg := fmt.aggregate_line(alert)) is not None:
        facts.append(f"*{fmt.fact('Aggregate', alert)}* {agg}")
    if (minute := fmt.minute_label(alert)) is not None:
        facts.append(f"*{fmt.fact('Minute', alert)}* {minute}")
    header = fmt.truncate(fmt.headline(alert), HEADER_LIMIT)
    return {
        "text": alert.text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": fmt.truncate(escape_mrkdwn(alert.text), SECTION_LIMIT),
                },
            },
            *_context(facts),
        ],
        "unfurl_links": False,
        "unfurl_media": False,
    }


class SlackChannel(HttpChannel):
    """Posts to a Slack incoming-webhook URL, at most one message per second per webhook."""

    name = "slack"
    default_base_url = "https://hooks.slack.com"

    @classmethod
    def default_limiter(cls, clock: Clock) -> RateLimiter:
        """One message per second per webhook (Slack's documented limit)."""
        return RateLimiter(rate=1.0, burst=1, clock=clock)

    def payload(self, alert: Alert, target: Target) -> dict[str, Any]:
        """The Block Kit message (and the channel, for chat.postMessage)."""
        body = slack_payload(alert)
        if "channel" in target.options:
            body["channel"] = target.options["channel"]
        return body

    def headers(self, target: Target, body: bytes, idempotency_key: str) -> dict[str, str]:
        """A bot token's target (chat.postMessage) authenticates with it."""
        token = target.secret_value()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def limit_key(self, target: Target) -> str:
        """The webhook, or the channel a bot posts to (one URL serves every channel)."""
        channel = target.options.get("channel")
        return fingerprint(
            f"{self.endpoint(target)}#{channel}" if channel else self.endpoint(target)
        )

    def check(self, reply: Reply, target: Target) -> None:
        """A removed webhook or an archived channel is gone, whatever the status says."""
        if target.secret is not None:
            _check_web_api(reply)
        if reply.status in (403, 404, 410) and reply.snippet() in GONE_ERRORS:
            msg = f"HTTP {reply.status}: {reply.snippet()}"
            raise ChannelError(msg, gone=True, status=reply.status)
        super().check(reply, target)


def _check_web_api(reply: Reply) -> None:
    """The Web API answers 200 with ``ok: false`` and an error code."""
    body = reply.json()
    if reply.status != 200 or not isinstance(body, dict) or body.get("ok") is not False:
        return
    error = str(body.get("error", ""))
    if error in API_GONE:
        raise ChannelError(f"slack: {error}", gone=True, status=reply.status)
    raise ChannelError(f"slack: {error}", permanent=error != "ratelimited", status=reply.status)
