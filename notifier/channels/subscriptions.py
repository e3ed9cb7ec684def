"""Subscriptions: who wants which alerts, through which channel, and whether an alert matches.

Pure: models, validation and matching; no I/O. ``notifier.bus.subscriptions`` keeps them in
Redis; ``notifier.api`` takes them in over HTTP. A subscription follows any combination of
teams, matches, ties and competitions, and receives the alert kinds it names (by default every
kind but ``status``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from yarl import URL

from notifier.channels.base import Target
from notifier.channels.webhook import SECRET_PREFIX, secret_key
from notifier.domain.alerts import ALERT_KINDS, Alert, AlertKind

ChannelName = Literal["webhook", "slack", "discord", "telegram", "ntfy", "apprise"]
CHANNELS: tuple[str, ...] = ChannelName.__args__  # type: ignore[attr-defined]
DEFAULT_KINDS: tuple[AlertKind, ...] = tuple(k for k in ALERT_KINDS if k != "status")  # type: ignore[misc]
FOLLOW_FIELDS = ("teams", "matches", "ties", "competitions")
INDEX_OF = {"teams": "team", "matches": "match", "ties": "tie", "competitions": "competition"}
MAX_FOLLOWS = 50
ID_PATTERN = re.compile(r"^sub_[0-9a-f]{20}$")
# Options each channel accepts (anything else is refused, so a typo is a 422, not silence).
OPTIONS: dict[str, frozenset[str]] = {
    "webhook": frozenset(),
    "slack": frozenset(),
    "discord": frozenset(),
    "telegram": frozenset({"chat_id", "message_thread_id"}),
    "ntfy": frozenset({"topic", "priority"}),
    "apprise": frozenset(),
}
_TELEGRAM_TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$")
_NTFY_TOPIC = re.compile(r"^[-_A-Za-z0-9]{1,64}$")
_CHAT_ID = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,64})$")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Follows = Annotated[list[Name], Field(max_length=MAX_FOLLOWS)]
OptionValue = Annotated[str, StringConstraints(max_length=200)] | int | bool


class FieldError(ValueError):
    """One invalid field of a request, named as a dotted path (``url``, ``options.topic``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def new_id() -> str:
    """A fresh subscription id: ``sub_`` and 20 random hex digits."""
    return "sub_" + secrets.token_hex(10)


def fold(name: str) -> str:
    """How names are compared: case- and surrounding-space-insensitive."""
    return " ".join(name.split()).casefold()


class SubscriptionSpec(BaseModel):
    """What a client asks for: a channel and its target, what to follow, which kinds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: ChannelName
    url: str = Field(
        default="",
        max_length=2048,
        description="webhook: https URL; slack/discord: hook URL/path; ntfy: server; apprise: URL",
    )
    secret: str | None = Field(
        default=None,
        max_length=200,
        repr=False,
        description="webhook: whsec_... (made if left out); telegram: bot token; ntfy: token",
    )
    options: dict[str, OptionValue] = Field(
        default_factory=dict,
        max_length=8,
        description="telegram: chat_id, message_thread_id; ntfy: topic, priority",
    )
    teams: Follows = Field(default_factory=list, description="team names (any alias)")
    matches: Follows = Field(default_factory=list, description="match keys (provider:id)")
    ties: Follows = Field(default_factory=list, description="tie ids")
    competitions: Follows = Field(default_factory=list, description="competition names")
    kinds: list[AlertKind] = Field(
        default_factory=lambda: list(DEFAULT_KINDS),
        max_length=32,
        description="alert kinds wanted (default: every kind but status)",
    )
    description: str | None = Field(default=None, max_length=200)
    enabled: bool = True

    @model_validator(mode="after")
    def _check(self) -> SubscriptionSpec:
        if not any(getattr(self, f) for f in FOLLOW_FIELDS):
            raise FieldError("teams", "follow at least one team, match, tie or competition")
        if not self.kinds:
            raise FieldError("kinds", "name at least one alert kind")
        check_channel(self)
        return self


def check_channel(spec: SubscriptionSpec) -> None:
    """Channel-specific rules: required URL, secret and options (FieldError if broken)."""
    unknown = sorted(set(spec.options) - OPTIONS[spec.channel])
    if unknown:
        raise FieldError(f"options.{unknown[0]}", f"not an option of the {spec.channel} channel")
    match spec.channel:
        case "webhook":
            _check_webhook(spec)
        case "slack" | "discord":
            if not spec.url:
                raise FieldError("url", f"the {spec.channel} webhook URL is required")
            _no_secret(spec)
        case "telegram":
            _check_telegram(spec)
        case "ntfy":
            _check_ntfy(spec)
        case "apprise":
            _check_apprise(spec)


def _no_secret(spec: SubscriptionSpec) -> None:
    if spec.secret is not None:
        raise FieldError("secret", f"the {spec.channel} channel takes no secret")


def _check_webhook(spec: SubscriptionSpec) -> None:
    if "://" not in spec.url:
        raise FieldError("url", "an absolute https:// URL is required")
    if spec.secret is None:
        return
    if not spec.secret.startswith(SECRET_PREFIX):
        raise FieldError("secret", "must start with whsec_ (or be left out: one is made)")
    try:
        key = secret_key(spec.secret)
    except ValueError:
        raise FieldError("secret", "must be whsec_ and base64") from None
    if not 24 <= len(key) <= 64:
        raise FieldError("secret", "must encode 24 to 64 bytes")


def _check_telegram(spec: SubscriptionSpec) -> None:
    if spec.url:
        raise FieldError("url", "telegram takes no URL (the bot token is the secret)")
    if spec.secret is None or not _TELEGRAM_TOKEN.match(spec.secret):
        raise FieldError("secret", "a bot token such as 123456:ABC-... is required")
    chat = spec.options.get("chat_id")
    if isinstance(chat, bool) or not _CHAT_ID.match(str(chat) if chat is not None else ""):
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
    if not isinstance(topic, str) or not _NTFY_TOPIC.match(topic):
        raise FieldError("options.topic", "a topic of 1-64 letters, digits, - or _ is required")
    priority = spec.options.get("priority")
    bad = isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5
    if priority is not None and bad:
        raise FieldError("options.priority", "must be an integer from 1 to 5")


def absolute_url(spec: SubscriptionSpec) -> str | None:
    """The target URL to check for SSRF, or None when the channel's base URL is used."""
    return spec.url if "://" in spec.url else None


class SubscriptionPatch(BaseModel):
    """A partial update: only the fields given change; ``rotate_secret`` makes a new secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(default=None, max_length=2048)
    secret: str | None = Field(default=None, max_length=200, repr=False)
    options: dict[str, OptionValue] | None = Field(default=None, max_length=8)
    teams: Follows | None = None
    matches: Follows | None = None
    ties: Follows | None = None
    competitions: Follows | None = None
    kinds: list[AlertKind] | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None
    rotate_secret: bool = False

    @model_validator(mode="after")
    def _check(self) -> SubscriptionPatch:
        if "secret" in self.model_fields_set and self.secret is None:
            raise FieldError("secret", "cannot be removed; set a new one or rotate_secret")
        if self.rotate_secret and self.secret is not None:
            raise FieldError("rotate_secret", "give a new secret or ask for one, not both")
        return self


class Subscription(BaseModel):
    """A stored subscription. ``secret`` never leaves the server after creation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    id: str
    owner: str  # hash of the token that created it
    spec: SubscriptionSpec
    disabled_reason: str | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def enabled(self) -> bool:
        """Whether alerts are delivered to it."""
        return self.spec.enabled

    def target(self) -> Target:
        """The channel target of this subscription."""
        s = self.spec
        options: dict[str, str | int | float | bool] = dict(s.options)
        return Target(channel=s.channel, url=s.url, secret=s.secret, options=options)

    def index(self) -> list[tuple[str, str]]:
        """(field, value) pairs of the indexes it is in while enabled."""
        pairs = {("team", fold(t)) for t in self.spec.teams}
        pairs |= {("competition", fold(c)) for c in self.spec.competitions}
        pairs |= {("match", m) for m in self.spec.matches}
        pairs |= {("tie", t) for t in self.spec.ties}
        return sorted(pairs)

    def wants(self, alert: Alert, aliases: Mapping[str, str] | None = None) -> bool:
        """Whether this subscription receives ``alert`` (enabled, kind, and something followed)."""
        if not self.spec.enabled or alert.kind not in self.spec.kinds:
            return False
        mine = set(self.index())
        return any(pair in mine for pair in alert_index(alert, aliases or {}))


def alert_index(alert: Alert, aliases: Mapping[str, str]) -> list[tuple[str, str]]:
    """The index entries an alert is found under: its teams (any alias), match, tie, competition."""
    pairs = [("match", alert.match)]
    if alert.tie:
        pairs.append(("tie", alert.tie))
    if alert.competition:
        pairs.append(("competition", fold(alert.competition)))
    for team in team_names(alert.home, alert.away, aliases=aliases):
        pairs.append(("team", team))
    return pairs


def team_names(*display: str, aliases: Mapping[str, str]) -> list[str]:
    """Folded names a team is followed by: its display name and every provider name for it."""
    wanted = {fold(d) for d in display}
    names = set(wanted)
    names |= {fold(provider) for provider, shown in aliases.items() if fold(shown) in wanted}
    return sorted(names)


def mask_url(channel: str, url: str) -> str:
    """A URL safe to show: the path of Slack/Discord webhooks and any query hidden."""
    if not url:
        return url
    if channel == "apprise":  # its tokens are anywhere in the URL
        return url.split("://", 1)[0] + "://***"
    if channel in ("slack", "discord"):
        return _origin(url) + "/***"
    try:
        parsed = URL(url)
    except ValueError:
        return "***"
    return str(parsed.with_query(None).with_fragment(None)) + ("?***" if parsed.query else "")


def _origin(url: str) -> str:
    if "://" not in url:
        return ""
    try:
        parsed = URL(url)
    except ValueError:
        return ""
    return f"{parsed.scheme}://{parsed.raw_authority}"


def merge_patch(
    spec: SubscriptionSpec, patch: SubscriptionPatch, secret: str | None = None
) -> SubscriptionSpec:
    """The spec after ``patch`` (and a new ``secret``, if given), validated as a whole."""
    data = spec.model_dump()
    data.update(patch.model_dump(exclude_unset=True, exclude={"rotate_secret"}))
    if secret is not None:
        data["secret"] = secret
    return SubscriptionSpec.model_validate(data)
