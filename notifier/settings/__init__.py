"""The one settings class. Built once in ``main()`` and passed down; nothing else reads the env.

Precedence: explicit arguments > environment (``NOTIFIER_*``, nested with ``__``; ``REDIS_URL``)
> the TOML file (``config/notifier.toml`` or ``NOTIFIER_CONFIG``) > defaults here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

import platformdirs
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    NonNegativeFloat,
    SecretStr,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from notifier.domain import texts
from notifier.domain.texts import LangName
from notifier.errors import ConfigError
from notifier.settings.channels import (
    BotsSettings,
    DiscordBotSettings,
    EmailSettings,
    MqttSettings,
    SlackBotSettings,
    TelegramBotSettings,
    WebPushSettings,
)
from notifier.settings.keys import check_keys, read_toml
from notifier.settings.providers import (
    ESPN_SEARCH_LEAGUES,
    PROVIDER_NAMES,
    ApiFootballSettings,
    EspnSettings,
    FootballDataSettings,
    ProviderName,
    Providers,
    ProviderSettings,
)

__all__ = [
    "ESPN_SEARCH_LEAGUES",
    "PROVIDER_NAMES",
    "ApiFootballSettings",
    "BotsSettings",
    "DiscordBotSettings",
    "EmailSettings",
    "EspnSettings",
    "FootballDataSettings",
    "MqttSettings",
    "ProviderName",
    "ProviderSettings",
    "Providers",
    "SlackBotSettings",
    "TelegramBotSettings",
    "WebPushSettings",
]

DEFAULT_CONFIG = Path("config/notifier.toml")  # a project directory's settings
APP_NAME = "match-notifier"


def user_config_file() -> Path:
    """The per-user settings file (``~/.config/match-notifier/notifier.toml`` on Linux)."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "notifier.toml"


def user_data_dir() -> Path:
    """Where the embedded server keeps its data by default (``~/.local/share/match-notifier``)."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "data"


def find_config(explicit: Path | None) -> Path | None:
    """The settings file to read: ``explicit`` (``--config``), else ``NOTIFIER_CONFIG``, else
    ``./config/notifier.toml``, else the user config file; None when there is none (defaults).

    A file named explicitly (flag or environment) that does not exist is an error, never
    quietly replaced by the defaults; naming ``/dev/null`` asks for the defaults."""
    named = [(explicit, "--config ")] if explicit is not None else []
    env = os.environ.get("NOTIFIER_CONFIG")
    if not named and env:
        named = [(Path(env), "NOTIFIER_CONFIG=")]
    for path, how in named:
        if str(path) == os.devnull:
            return None
        if not path.is_file():
            raise ConfigError(f"{how}{path}: no such file")
        return path
    for candidate in (DEFAULT_CONFIG, user_config_file()):
        if candidate.is_file():
            return candidate
    return None


class PollSettings(BaseModel):
    """Poll intervals (seconds) per match phase."""

    live_s: float = Field(default=15.0, gt=0)  # the slowest live pace (the budget picks faster)
    live_floor_s: float = Field(default=2.0, gt=0)  # the fastest live pace, however big the plan
    budget_headroom: float = Field(default=0.8, gt=0, le=1)  # of the per-minute plan, for live
    half_time_s: float = Field(default=60.0, gt=0)
    pre_match_s: float = Field(default=300.0, gt=0)
    lineup_window_min: int = Field(default=60, ge=0)
    lineup_s: float = Field(default=300.0, gt=0)  # in the lineup window, until lineups are out
    kickoff_lead_s: float = Field(default=60.0, ge=0)  # live pace from this long before kick-off
    overdue_s: float = Field(default=10800.0, gt=0)  # still "scheduled" this long after: slow down
    idle_max_s: float = Field(default=21600.0, gt=0)  # a far-off match is re-checked this often
    jitter_s: float = Field(default=1.0, ge=0)
    fixtures_sync_s: float = Field(default=86400.0, gt=0)
    fixtures_retry_s: float = Field(default=60.0, gt=0)  # first retry of a failed lookup
    fixtures_retry_max_s: float = Field(default=900.0, gt=0)  # retries back off up to this
    max_backoff_s: float = Field(default=300.0, gt=0)
    glitch_polls: int = Field(default=2, ge=1)  # polls a score drop without VAR must last


class FollowSettings(BaseModel):
    """A competition (and teams in it) whose fixtures the fixtures job follows."""

    provider: ProviderName
    league: str  # API-Football league id, football-data competition code, ESPN league slug
    season: int | None = None  # API-Football needs it (the year the season starts)
    teams: list[str] = Field(default_factory=list)  # names or provider ids; empty: every team
    days_ahead: int = Field(default=7, ge=0, le=60)
    days_back: int = Field(default=30, ge=0, le=120)  # finished first legs are looked up this far
    away_goals: bool = False  # rules of the ties found among these fixtures
    next_round: str | None = None


class StreamSettings(BaseModel):
    """Stream and consumer-group tuning."""

    partitions: int = Field(default=1, ge=1, le=1024)
    maxlen: int = Field(default=100_000, ge=1000)
    batch: int = Field(default=100, ge=1)
    block_ms: int = Field(default=1000, ge=1)
    claim_idle_ms: int = Field(default=30_000, ge=100)
    max_deliveries: int = Field(default=5, ge=1)
    seen_ttl_s: int = Field(default=7 * 86400, ge=60)
    lease_ttl_ms: int = Field(default=10_000, ge=200)


class TeamStyle(BaseModel):
    """How the live page and the scoreboard show a team: its colour and a text colour on it."""

    colour: str = Field(default="#3a4a5c", pattern=r"^#[0-9a-fA-F]{6}$")
    text: str = Field(default="#ffffff", pattern=r"^#[0-9a-fA-F]{6}$")
    short: str | None = Field(default=None, max_length=4)  # e.g. "BVB"


def _teams() -> dict[str, TeamStyle]:
    return {
        "Atalanta": TeamStyle(colour="#1d5ba8", text="#ffffff", short="ATA"),
        "Dortmund": TeamStyle(colour="#fde100", text="#000000", short="BVB"),
    }


def _retry_schedule() -> list[float]:
    # Standard Webhooks' schedule after the first try: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    return [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]


class ApiSettings(BaseModel):
    """The HTTP API: where it listens, who may use it, how much it accepts."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    tokens: list[SecretStr] = Field(default_factory=list)  # none: loopback only, no auth
    url: str | None = None  # where the CLI finds the API (default http://host:port)
    client_token: SecretStr | None = None  # what the CLI sends (default: the first token)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_subscriptions_per_token: int = Field(default=10_000, ge=1)
    sse_heartbeat_s: float = Field(default=15.0, gt=0)
    sse_queue: int = Field(default=256, ge=1)  # alerts buffered per client before it is dropped
    sse_backlog_max: int = Field(default=10_000, ge=0)  # alerts replayed on a resume, at most
    sse_streams_per_token: int = Field(default=64, ge=1)  # open event streams per caller
    sse_filter_values: int = Field(default=100, ge=1)  # values of all filters of one stream
    sse_filter_value_length: int = Field(default=200, ge=1)  # characters of one filter value
    header_timeout_s: float = Field(default=10.0, gt=0)  # connection (or last answer) to head
    body_timeout_s: float = Field(default=10.0, gt=0)  # a request body, once authenticated
    redis_timeout_s: float = Field(default=3.0, gt=0)  # a request's Redis work, then 503
    max_connections: int = Field(default=4096, ge=16)  # lowered to fit the descriptor limit
    list_page_size: int = Field(default=100, ge=1, le=200)  # subscriptions per list page


class DeliverySettings(BaseModel):
    """Outgoing deliveries: allowed targets, platform base URLs, concurrency and retries."""

    allow_http: bool = False
    allow_networks: list[str] = Field(default_factory=list)  # e.g. ["127.0.0.0/8"] for tests
    slack_url: str = "https://hooks.slack.com"
    slack_api_url: str = "https://slack.com"  # Web API (live messages with a bot token)
    discord_url: str = "https://discord.com"
    telegram_url: str = "https://api.telegram.org"
    ntfy_url: str = "https://ntfy.sh"
    concurrency: int = Field(default=256, ge=1)
    per_host: int = Field(default=32, ge=1)  # fast slots per host, shared round robin
    slow_after_s: float = Field(default=1.0, gt=0)  # then a send moves to the host's slow lane
    breaker_failures: int = Field(default=3, ge=1)  # transport failures in a row: skip target
    breaker_open_s: float = Field(default=30.0, gt=0)  # skipped this long (doubling, to 10 min)
    timeout_s: float = Field(default=10.0, gt=0)
    max_response_bytes: int = Field(default=64 * 1024, ge=1024)
    retry_schedule_s: list[NonNegativeFloat] = Field(default_factory=_retry_schedule)
    retry_cap_s: float = Field(default=36000.0, gt=0)  # longest wait, Retry-After included
    jitter: float = Field(default=0.1, ge=0, le=1)  # +-fraction of each scheduled wait
    retry_poll_s: float = Field(default=0.5, gt=0)
    max_inflight_alerts: int = Field(default=1000, ge=1)  # per dispatcher, before it waits
    resolve_timeout_s: float = Field(default=2.0, gt=0)  # DNS check of a target at subscribe
    # How fast the match clock runs against the wall clock: a subscription's spoiler delay
    # (delay_s) is on the match clock. 1 live; a replay or demo sets it to its --speed.
    clock_rate: float = Field(default=1.0, gt=0)
    shards: int = Field(default=0, ge=0, le=1024)  # fan-out shards (0: each alert's owner sends)


class Settings(BaseSettings):
    """Every setting of the notifier; documented in ``config/notifier.toml``."""

    model_config = SettingsConfigDict(
        env_prefix="NOTIFIER_", env_nested_delimiter="__", extra="ignore"
    )
    config_file: ClassVar[Path | None] = None

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "NOTIFIER_REDIS_URL")
    )
    redis_connect_timeout_s: float = Field(default=10.0, gt=0)  # first connect + PING at start
    retention_hours: float = Field(default=72.0, gt=0)  # a finished match's keys live this long
    cluster: bool = False  # REDIS_URL names a node of a Redis/Valkey Cluster (or redis+cluster://)
    data_dir: Path = Field(default_factory=user_data_dir)
    log_format: Literal["auto", "json", "plain"] = "auto"
    log_level: str = "INFO"
    providers: Providers = Field(default_factory=Providers)
    poll: PollSettings = PollSettings()
    follow: list[FollowSettings] = Field(default_factory=list)  # the fixtures job's competitions
    streams: StreamSettings = StreamSettings()
    aliases: dict[str, str] = Field(default_factory=lambda: {"Borussia Dortmund": "Dortmund"})
    # The language of alert texts where a subscription, stream or command names none.
    lang: LangName = "en"
    # Team names per language where they differ, by display name (after aliases):
    # names.de = {"Bayern Munich" = "Bayern München"}.
    names: dict[LangName, dict[str, str]] = Field(default_factory=dict)

    def names_by_lang(self) -> dict[str, dict[str, str]]:
        """``names`` keyed by plain language codes (what :mod:`notifier.domain.texts` takes)."""
        return {str(lang): dict(names) for lang, names in self.names.items()}

    console: bool = True
    heartbeat_s: float = Field(default=5.0, gt=0)
    shutdown_grace_s: float = Field(default=10.0, gt=0)
    teams: dict[str, TeamStyle] = Field(default_factory=_teams)  # by display name
    metrics_port: int | None = Field(default=None, ge=1, le=65535)  # a worker's own /metrics
    metrics_host: str = "127.0.0.1"  # ... on loopback unless set (a container: "0.0.0.0")
    ready_workers: list[str] = Field(  # /readyz: each needs a fresh heartbeat
        default_factory=lambda: ["poller", "aggregator", "dispatcher"]
    )
    api: ApiSettings = ApiSettings()
    delivery: DeliverySettings = DeliverySettings()
    mqtt: MqttSettings = MqttSettings()
    webpush: WebPushSettings = WebPushSettings()
    email: EmailSettings = EmailSettings()
    bots: BotsSettings = BotsSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then environment, then the TOML file."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.config_file))
        return tuple(sources)

    @classmethod
    def load(cls, config: Path | None = None, **overrides: Any) -> Settings:
        """Build the settings from a TOML file (:func:`find_config`); ConfigError when the file
        named is missing or holds a key no setting has."""
        path = find_config(config)
        if path is not None:
            check_keys(read_toml(path), cls, f"settings file {path}")
        loader = type("LoadedSettings", (cls,), {"config_file": path})
        return cls.model_validate(loader(**overrides).model_dump())

    def provider(self, name: str) -> ProviderSettings:
        """Settings of one provider, or a clear error."""
        return self.providers.get(name)

    def display_name(self, team: str) -> str:
        """The configured short name of a team (``Borussia Dortmund`` -> ``Dortmund``)."""
        return self.aliases.get(team, team)


def read_catalogue(lang: str) -> Catalog | None:
    """A shipped catalogue, read with Babel's ``.po`` reader (the domain reads no files)."""
    path = texts.LOCALES / lang / "LC_MESSAGES" / f"{texts.DOMAIN}.po"
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain=texts.DOMAIN)


texts.set_loader(read_catalogue)
