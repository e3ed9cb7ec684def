"""ntfy: publish as JSON to the server root, with title, tags (emoji) and priority."""

from __future__ import annotations

from typing import Any

from notifier.channels import format as fmt
from notifier.channels.base import HttpChannel, Target
from notifier.domain.alerts import Alert
from notifier.errors import ChannelError

MESSAGE_LIMIT = 4000  # ntfy turns longer messages into attachments


def ntfy_payload(alert: Alert, topic: str, priority: int | None = None) -> dict[str, Any]:
    """The JSON publish body; ``priority`` overrides the kind's default."""
    s = fmt.style(alert)
    return {
        "topic": topic,
        "title": fmt.truncate(f"{s.label}: {fmt.score_line(alert)}", 250),
        "message": fmt.truncate(alert.text, MESSAGE_LIMIT),
        "tags": [s.ntfy_tag],
        "priority": priority if priority is not None else s.priority,
    }


class NtfyChannel(HttpChannel):
    """Publishes to ``options.topic`` on the target's server (its URL) or the configured one."""

    name = "ntfy"
    default_base_url = "https://ntfy.sh"

    def endpoint(self, target: Target) -> str:
        """The server root: JSON publishing names the topic in the body."""
        return target.url.rstrip("/") if "://" in target.url else self.base_url

    def payload(self, alert: Alert, target: Target) -> dict[str, Any]:
        """Topic, title, message, tags and priority."""
        topic = target.options.get("topic")
        if not isinstance(topic, str) or not topic:
            raise ChannelError("ntfy target has no options.topic", permanent=True)
        priority = target.options.get("priority")
        if priority is not None and (not isinstance(priority, int) or not 1 <= priority <= 5):
            raise ChannelError("ntfy options.priority must be an integer 1..5", permanent=True)
        return ntfy_payload(alert, topic, priority)

    def headers(self, target: Target, body: bytes, idempotency_key: str) -> dict[str, str]:
        """A bearer token (``tk_…``) when the target has a secret."""
        token = target.secret_value()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def limit_key(self, target: Target) -> str:
        """Per server and topic."""
        return f"{super().limit_key(target)}:{target.options.get('topic')}"
