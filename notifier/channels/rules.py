"""What each channel needs of a subscription: its URL, secret and options, checked when the
subscription is made or changed (a :class:`FieldError` naming the field). Pure. Kept apart from
the subscription models (:mod:`notifier.channels.subscriptions`), which call it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifier.channels import specs
from notifier.channels.shapes import (
    CHAT_ID,
    DISCORD_BOT_TOKEN,
    DISCORD_CHANNEL_PATH,
    NTFY_TOPIC,
    SLACK_BOT_TOKEN,
    SLACK_CHANNEL,
    TELEGRAM_TOKEN,
    WEBHOOK_SECRET,
    matches,
)
from notifier.errors import FieldError, TargetError

if TYPE_CHECKING:
    from notifier.channels.subscriptions import SubscriptionSpec

# Options each channel accepts (anything else is refused, so a typo is a 422, not silence).
OPTIONS: dict[str, frozenset[str]] = {
    "webhook": frozenset(),
    "slack": frozenset({"channel"}),  # with a bot token: chat.postMessage to this channel
    "discord": frozenset(),
    "telegram": frozenset({"chat_id", "message_thread_id"}),
    "ntfy": frozenset({"topic", "priority"}),
    "apprise": frozenset(),
    "mqtt": frozenset({"username", "base_topic", "discovery_prefix", "team"}),
    "webpush": frozenset({"p256dh", "auth", "lang"}),
    "email": frozenset({"lang", "digest"}),
}


def check_channel(spec: SubscriptionSpec) -> None:
    """Channel-specific rules: required URL, secret and options (FieldError if broken)."""
    unknown = sorted(set(spec.options) - OPTIONS[spec.channel])
    if unknown:
        raise FieldError(f"options.{unknown[0]}", f"not an option of the {spec.channel} channel")
    match spec.channel:
        case "webhook":
            _check_webhook(spec)
        case "slack" if spec.style == "live":
            _check_slack_bot(spec)
        case "slack" | "discord":
            _check_chat_app(spec)
        case "telegram":
            _check_telegram(spec)
        case "ntfy":
            _check_ntfy(spec)
        case "apprise":
            _check_apprise(spec)
        case "mqtt" | "webpush" | "email":
            _check_spec(spec)


def _check_spec(spec: SubscriptionSpec) -> None:
    """The MQTT, Web Push and email targets (rules in :mod:`notifier.channels.specs`)."""
    try:
        specs.check(spec.channel, spec.url, spec.secret, spec.options)
    except TargetError as exc:
        raise FieldError(exc.field, exc.message) from None


LIVE_CHANNELS = ("telegram", "discord", "slack")


def check_style(spec: SubscriptionSpec) -> None:
    """A live message needs a channel that can edit what it sent."""
    if spec.style == "live" and spec.channel not in LIVE_CHANNELS:
        raise FieldError("style", f"live needs a channel that edits: {', '.join(LIVE_CHANNELS)}")
    if spec.style == "live" and spec.digest is not None:
        raise FieldError("digest", "a live message is already one message: no digest with it")
    if spec.live_goals and spec.style != "live":
        raise FieldError("live_goals", "only with style live")


def _check_slack_bot(spec: SubscriptionSpec) -> None:
    """Slack live messages use the Web API: a bot token and the channel id, no webhook URL."""
    if spec.url:
        raise FieldError("url", "a live Slack message takes no webhook URL (the bot posts it)")
    if not matches(SLACK_BOT_TOKEN, spec.secret):
        raise FieldError("secret", "a Slack bot token (xoxb-...) is required for style live")
    if not matches(SLACK_CHANNEL, spec.options.get("channel")):
        raise FieldError("options.channel", "a Slack channel id (C0123...) is required")


def _no_secret(spec: SubscriptionSpec) -> None:
    if spec.secret is not None:
        raise FieldError("secret", f"the {spec.channel} channel takes no secret")


def _check_chat_app(spec: SubscriptionSpec) -> None:
    """Slack and Discord: a webhook URL and no secret, or a bot token and the channel to post
    to (Slack: ``options.channel`` and the chat.postMessage URL; Discord: the channel's
    ``/api/v10/channels/{id}/messages`` path), as the chat bots subscribe."""
    if not spec.url:
        raise FieldError("url", f"the {spec.channel} webhook URL is required")
    channel = spec.options.get("channel")
    if spec.secret is None:
        if channel is not None:
            raise FieldError("options.channel", "needs the bot token (secret)")
        return
    if spec.channel == "discord":
        if not matches(DISCORD_BOT_TOKEN, spec.secret):
            raise FieldError("secret", "a Discord bot token is required (or no secret)")
        if not matches(DISCORD_CHANNEL_PATH, spec.url):
            raise FieldError("url", "with a bot token: /api/v10/channels/{id}/messages")
        return
    if not matches(SLACK_BOT_TOKEN, spec.secret):
        raise FieldError("secret", "a Slack bot token xoxb-... is required (or no secret)")
    if not matches(SLACK_CHANNEL, channel):
        raise FieldError("options.channel", "with a bot token: the channel id (C0123...)")


def _check_webhook(spec: SubscriptionSpec) -> None:
    if "://" not in spec.url:
        raise FieldError("url", "an absolute https:// URL is required")
    if spec.secret is None:
        return
    if not spec.secret.startswith("whsec_"):
        raise FieldError("secret", "must start with whsec_ (or be left out: one is made)")
    if not matches(WEBHOOK_SECRET, spec.secret):
        raise FieldError("secret", "must be whsec_ and the base64 of 24 to 64 bytes")


def _check_telegram(spec: SubscriptionSpec) -> None:
    if spec.url:
        raise FieldError("url", "telegram takes no URL (the bot token is the secret)")
    if not matches(TELEGRAM_TOKEN, spec.secret):
        raise FieldError("secret", "a bot token such as 123456:ABC-... is required")
    chat = spec.options.get("chat_id")
    if isinstance(chat, bool) or not matches(CHAT_ID, str(chat) if chat is not None else ""):
        raise FieldError("options.chat_id", "a chat id (-100123...) or @channel is required")
    thread = spec.options.get("message_thread_id")
    if thread is not None and (isinstance(thread, bool) or not isinstance(thread, int)):
        raise FieldError("options.message_thread_id", "must be an integer")


def _check_apprise(spec: SubscriptionSpec) -> None:
    if "://" not in spec.url:  # the rest is checked with the settings (notifier.api.targets)
        raise FieldError("url", "an Apprise URL such as jsons://host/path is required")
    _no_secret(spec)


def _check_ntfy(spec: SubscriptionSpec) -> None:
    if spec.url and "://" not in spec.url:
        raise FieldError("url", "the ntfy server must be an absolute URL (or left out)")
    topic = spec.options.get("topic")
    if not matches(NTFY_TOPIC, topic):
        raise FieldError("options.topic", "a topic of 1-64 letters, digits, - or _ is required")
    priority = spec.options.get("priority")
    bad = isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5
    if priority is not None and bad:
        raise FieldError("options.priority", "must be an integer from 1 to 5")
