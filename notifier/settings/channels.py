"""Settings of the channels and bots that only some installs use: the MQTT broker (Home
Assistant), Web Push, email and the chat bots. Part of the one settings class
(:class:`notifier.settings.Settings`), kept apart so that module stays readable.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


class MqttSettings(BaseModel):
    """The broker ``notifier run`` (and ``replay``/``demo --mqtt``) publishes every alert to, as
    Home Assistant discovery, retained state and events. No ``url``: no MQTT."""

    url: str | None = None  # mqtt://host:port or mqtts://host:port (TLS)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False  # TLS even with mqtt:// (mqtts:// always is)
    ca_file: Path | None = None  # CA bundle for the broker's certificate (default: the system's)
    discovery_prefix: str = Field(default="homeassistant", pattern=r"^[^#+]+$")
    base_topic: str = Field(default="match-notifier", pattern=r"^[^#+]+$")
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    timeout_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _check_url(self) -> MqttSettings:
        if self.url is not None:
            from yarl import URL

            parsed = URL(self.url)
            if parsed.scheme not in ("mqtt", "mqtts") or not parsed.host:
                raise ValueError("must be mqtt://host:port or mqtts://host:port")
        return self


class WebPushSettings(BaseModel):
    """Web Push (the live page's "Notify me"): the VAPID contact and how long a push may wait."""

    subject: str = Field(  # RFC 8292 ``sub``: how a push service reaches the operator
        default="mailto:admin@localhost", pattern=r"^(mailto:[^@\s]+@[^@\s]+|https://\S+)$"
    )
    ttl_s: int = Field(default=3600, ge=0, le=86400)  # a push for an offline browser, at most


class EmailSettings(BaseModel):
    """The SMTP server email subscriptions go through. No ``host``: no email channel."""

    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"  # "none": loopback relays only
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "match-notifier <notifier@localhost>"
    ca_file: Path | None = None  # CA bundle for the server's certificate (default: the system's)
    timeout_s: float = Field(default=20.0, gt=0)
    public_url: str | None = None  # the API as mail readers reach it (List-Unsubscribe links)

    @model_validator(mode="after")
    def _plain_only_locally(self) -> EmailSettings:
        local = {"localhost", "127.0.0.1", "::1"}
        if self.security == "none" and self.host is not None and self.host not in local:
            raise ValueError("security 'none' sends passwords and mail in clear: loopback only")
        return self


class TelegramBotSettings(BaseModel):
    """The Telegram bot; the Bot API base URL is ``delivery.telegram_url``."""

    token: SecretStr | None = None  # from @BotFather; unset: no Telegram bot
    mode: Literal["polling", "webhook"] = "polling"
    secret_token: SecretStr | None = None  # webhook mode: Telegram sends it back in a header
    webhook_url: str | None = None  # webhook mode: the public https URL of /v1/telegram/webhook
    poll_timeout_s: int = Field(default=25, ge=0, le=50)  # getUpdates long-poll wait
    username: str | None = None  # the bot's @name, so /cmd@OtherBot in groups is left alone


class DiscordBotSettings(BaseModel):
    """The Discord application whose slash commands POST to ``/v1/discord/interactions``."""

    public_key: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    application_id: str | None = Field(default=None, pattern=r"^[0-9]{5,25}$")
    token: SecretStr | None = None  # bot token: registers commands, posts follows to channels
    guild_id: str | None = Field(default=None, pattern=r"^[0-9]{5,25}$")  # register per guild

    @model_validator(mode="after")
    def _verifier_installed(self) -> DiscordBotSettings:
        """A configured Discord bot needs PyNaCl to verify every interaction: refuse to start
        without it rather than answer each one with an error."""
        if self.public_key is not None and importlib.util.find_spec("nacl") is None:
            raise ValueError(
                "public_key is set but PyNaCl is missing: pip install 'match-notifier[bots]'"
            )
        return self


class SlackBotSettings(BaseModel):
    """The Slack app whose slash command POSTs to ``/v1/slack/commands``."""

    signing_secret: SecretStr | None = None
    bot_token: SecretStr | None = None  # xoxb-...: follows are posted with chat.postMessage
    api_url: str = "https://slack.com/api"  # Slack Web API


class BotsSettings(BaseModel):
    """Chat bots that answer commands (``/follow``, ``/score``, ...); limits they all share."""

    telegram: TelegramBotSettings = TelegramBotSettings()
    discord: DiscordBotSettings = DiscordBotSettings()
    slack: SlackBotSettings = SlackBotSettings()
    commands_per_minute: int = Field(default=20, ge=1)  # per chat
    team_commands_per_minute: int = Field(default=120, ge=1)  # per Slack workspace/Discord guild
    max_follows: int = Field(default=20, ge=1, le=200)  # per chat
    max_age_s: int = Field(default=300, ge=10, le=3600)  # older signed requests are refused
