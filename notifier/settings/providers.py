"""Provider settings: where each feed lives, its key and how hard we may poll it. Part of the
one settings class (:class:`notifier.settings.Settings`), kept apart so that module stays
readable.

Each provider has a section here (``[providers.<name>]``, a key of the user's file: its name is
spelled once, as the field's alias, and never renamed); :data:`PROVIDER_NAMES` is read from
these sections, and ``tests/unit/feeds`` checks it names the same providers as
:mod:`notifier.feeds.registry`, which settings cannot import (the feeds import settings).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    WithJsonSchema,
    model_validator,
)


class ProviderSettings(BaseModel):
    """Where a provider lives, how to authenticate, and how hard we may poll it."""

    base_url: str = ""
    api_key: SecretStr | None = None
    requests_per_minute: int = Field(default=30, ge=1)
    requests_per_day: int = Field(default=7500, ge=1)
    timeout_s: float = Field(default=10.0, gt=0)
    bulk_groups: int = Field(default=1, ge=1, le=256)  # lease groups (ESPN: one per league)
    max_ids: int = Field(default=20, ge=1, le=100)  # matches per bulk ``ids`` request
    live_all_min: int = Field(default=0, ge=0)  # API-Football: ``live=all`` from this many live
    lineups: bool = True  # ask per match, in the lineup window, if the bulk view lacks them
    pause_s: float = Field(default=60.0, gt=0)  # pause after a 429 that gives no Retry-After
    # ESPN and football-data have no team search: `teams search` reads these leagues' teams.
    search_leagues: list[str] = Field(default_factory=list)


class ApiFootballSettings(ProviderSettings):
    """API-Football v3 (api-sports.io): key in ``x-apisports-key``; free plan 100 requests/day."""

    base_url: str = "https://v3.football.api-sports.io"


class FootballDataSettings(ProviderSettings):
    """football-data.org v4: token in ``X-Auth-Token``; free tier 10 requests/minute."""

    base_url: str = "https://api.football-data.org"
    requests_per_minute: int = Field(default=10, ge=1)
    lineups: bool = False  # the free tier has none: do not ask for them match by match
    search_leagues: list[str] = Field(
        default_factory=lambda: ["PL", "CL", "BL1", "SA", "PD", "FL1", "DED", "PPL", "ELC", "BSA"]
    )


ESPN_SEARCH_LEAGUES = (
    "eng.1", "eng.2", "esp.1", "ger.1", "ita.1", "fra.1", "ned.1", "por.1", "sco.1", "bel.1",
    "tur.1", "usa.1", "mex.1", "bra.1", "arg.1", "uefa.champions", "uefa.europa",
)  # fmt: skip


class EspnSettings(ProviderSettings):
    """ESPN's public site API: no key."""

    base_url: str = "https://site.api.espn.com"
    requests_per_minute: int = Field(default=60, ge=1)
    requests_per_day: int = Field(default=50_000, ge=1)
    search_leagues: list[str] = Field(default_factory=lambda: list(ESPN_SEARCH_LEAGUES))


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

    @model_validator(mode="before")
    @classmethod
    def _merge_spellings(cls, data: Any) -> Any:
        """One provider under both spellings (``api-football`` from the TOML file, ``api_football``
        from the environment): merged, the environment winning, as it does for other settings."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name in PROVIDER_NAMES:
            under = name.replace("-", "_")
            toml, env = out.get(name), out.get(under)
            if name != under and isinstance(toml, dict) and isinstance(env, dict):
                out[under] = {**out.pop(name), **env}
        return out

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


PROVIDER_NAMES: tuple[str, ...] = tuple(
    field.alias or name for name, field in Providers.model_fields.items()
)


def _known(name: str) -> str:
    if name not in PROVIDER_NAMES:
        raise ValueError(f"unknown provider {name!r}; known providers: {', '.join(PROVIDER_NAMES)}")
    return name


# A provider's name where a setting or an API body names one (``[[follow]] provider``).
ProviderName = Annotated[
    str, AfterValidator(_known), WithJsonSchema({"enum": list(PROVIDER_NAMES), "type": "string"})
]
