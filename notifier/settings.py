"""The one settings class. Built once in ``main()`` and passed down; nothing else reads the env.

Precedence: explicit arguments > environment (``NOTIFIER_*``, nested with ``__``; ``REDIS_URL``)
> the TOML file (``config/notifier.toml`` or ``NOTIFIER_CONFIG``) > defaults here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG = Path("config/notifier.toml")


class ProviderSettings(BaseModel):
    """Where a provider lives, how to authenticate, and how hard we may poll it."""

    base_url: str = ""
    api_key: SecretStr | None = None
    requests_per_minute: int = Field(default=30, ge=1)
    requests_per_day: int = Field(default=7500, ge=1)
    timeout_s: float = Field(default=10.0, gt=0)


class PollSettings(BaseModel):
    """Poll intervals (seconds) per match phase."""

    live_s: float = Field(default=15.0, gt=0)
    half_time_s: float = Field(default=60.0, gt=0)
    pre_match_s: float = Field(default=300.0, gt=0)
    lineup_window_min: int = Field(default=60, ge=0)
    jitter_s: float = Field(default=1.0, ge=0)
    fixtures_sync_s: float = Field(default=86400.0, gt=0)
    max_backoff_s: float = Field(default=300.0, gt=0)


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


class ApiFootballSettings(ProviderSettings):
    """API-Football v3 (api-sports.io): key in ``x-apisports-key``; free plan 100 requests/day."""

    base_url: str = "https://v3.football.api-sports.io"


class FootballDataSettings(ProviderSettings):
    """football-data.org v4: token in ``X-Auth-Token``; free tier 10 requests/minute."""

    base_url: str = "https://api.football-data.org"
    requests_per_minute: int = Field(default=10, ge=1)


class EspnSettings(ProviderSettings):
    """ESPN's public site API: no key."""

    base_url: str = "https://site.api.espn.com"


class Providers(BaseModel):
    """Per-provider settings (env: ``NOTIFIER_PROVIDERS__API_FOOTBALL__API_KEY``)."""

    model_config = ConfigDict(populate_by_name=True)

    api_football: ApiFootballSettings = Field(
        default_factory=ApiFootballSettings, alias="api-football"
    )
    football_data: FootballDataSettings = Field(
        default_factory=FootballDataSettings, alias="football-data"
    )
    espn: EspnSettings = Field(default_factory=EspnSettings)

    def get(self, name: str) -> ProviderSettings:
        """Settings of a provider by its name (``api-football``); KeyError naming the known ones."""
        field = name.replace("-", "_")
        if field not in type(self).model_fields:
            raise KeyError(f"unknown provider {name!r} (known: {', '.join(PROVIDER_NAMES)})")
        value: ProviderSettings = getattr(self, field)
        return value

    def items(self) -> list[tuple[str, ProviderSettings]]:
        """(name, settings) of every provider."""
        return [(name, self.get(name)) for name in PROVIDER_NAMES]

    def replace(self, name: str, value: ProviderSettings) -> Providers:
        """A copy with one provider's settings replaced."""
        return self.model_copy(update={name.replace("-", "_"): value})


PROVIDER_NAMES = ("api-football", "football-data", "espn")


class Settings(BaseSettings):
    """Every setting of the notifier; documented in ``config/notifier.toml``."""

    model_config = SettingsConfigDict(
        env_prefix="NOTIFIER_", env_nested_delimiter="__", extra="ignore"
    )
    config_file: ClassVar[Path | None] = None

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "NOTIFIER_REDIS_URL")
    )
    data_dir: Path = Path("var/data")
    log_format: Literal["auto", "json", "plain"] = "auto"
    log_level: str = "INFO"
    providers: Providers = Field(default_factory=Providers)
    poll: PollSettings = PollSettings()
    streams: StreamSettings = StreamSettings()
    aliases: dict[str, str] = Field(default_factory=lambda: {"Borussia Dortmund": "Dortmund"})
    console: bool = True
    heartbeat_s: float = Field(default=5.0, gt=0)
    shutdown_grace_s: float = Field(default=10.0, gt=0)

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
        if cls.config_file is not None and cls.config_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.config_file))
        return tuple(sources)

    @classmethod
    def load(cls, config: Path | None = None, **overrides: Any) -> Settings:
        """Build the settings from a TOML file (default: NOTIFIER_CONFIG, config/notifier.toml)."""
        path = config or Path(os.environ.get("NOTIFIER_CONFIG", DEFAULT_CONFIG))
        loader = type("LoadedSettings", (cls,), {"config_file": path})
        return cls.model_validate(loader(**overrides).model_dump())

    def provider(self, name: str) -> ProviderSettings:
        """Settings of one provider, or a clear error."""
        return self.providers.get(name)

    def display_name(self, team: str) -> str:
        """The configured short name of a team (``Borussia Dortmund`` -> ``Dortmund``)."""
        return self.aliases.get(team, team)
