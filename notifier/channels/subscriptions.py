"""Subscriptions: who wants which alerts, through which channel, and whether an alert matches.

Pure: models, validation and matching; no I/O. ``notifier.bus.subscriptions`` keeps them in
Redis; ``notifier.api`` takes them in over HTTP. A subscription follows any combination of
teams, matches, ties and competitions, and receives the alert kinds it names (by default every
kind but ``status``).
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    model_validator,
)
from yarl import URL

from notifier.channels.base import Target
from notifier.channels.rules import OPTIONS, check_channel, check_style
from notifier.channels.shapes import (
    I64,
    NOT_SPACE,
    STYLE_RULES,
    any_url,
    branches,
    channels,
    check_form,
    matches,
)
from notifier.domain.alerts import ALERT_KINDS, Alert, AlertKind
from notifier.domain.holdback import MAX_DELAY_S
from notifier.domain.texts import LangName
from notifier.domain.timing import Digest, QuietHours
from notifier.errors import FieldError

ChannelName = Literal[
    "webhook", "slack", "discord", "telegram", "ntfy", "apprise", "mqtt", "webpush", "email"
]
CHANNELS: tuple[str, ...] = ChannelName.__args__  # type: ignore[attr-defined]
# Every kind but status and yellow cards (those are asked for by name).
OPT_IN_KINDS = frozenset({"status", "yellow_card"})
DEFAULT_KINDS: tuple[AlertKind, ...] = tuple(k for k in ALERT_KINDS if k not in OPT_IN_KINDS)  # type: ignore[misc]
FOLLOW_FIELDS = ("teams", "matches", "ties", "competitions")
INDEX_OF = {"teams": "team", "matches": "match", "ties": "tie", "competitions": "competition"}
MAX_FOLLOWS = 50
ID_PATTERN = re.compile(r"^sub_[0-9a-f]{20}$")
__all__ = ["OPTIONS", "FieldError", "check_channel", "check_style"]  # their old home


def _stripped(value: str) -> str:
    return value.strip()


# The length is checked on the value as sent (the schema's maxLength), then spaces go; a value
# of spaces only is refused by the pattern, which the schema shows too (spelt out: each regex
# engine has its own idea of \s).
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=NOT_SPACE),
    AfterValidator(_stripped),
]
Follows = Annotated[list[Name], Field(max_length=MAX_FOLLOWS)]
DelaySeconds = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_DELAY_S,
        strict=True,
        description="spoiler delay: each alert arrives this many seconds after it was emitted; "
        "a goal ruled out within it is never sent, nor is its cancellation (0-900)",
    ),
]
OptionValue = (
    Annotated[str, StringConstraints(max_length=200)]
    | Annotated[int, Field(ge=-I64 - 1, le=I64)]
    | bool
)
# A validation context: the value comes from an API request, held to the document's forms.
DOCUMENTED = {"documented": True}
NULLABLE = frozenset({"description", "lang", "quiet_hours", "digest"})  # a patch's null clears


def new_id() -> str:
    """A fresh subscription id: ``sub_`` and 20 random hex digits."""
    return "sub_" + secrets.token_hex(10)


def fold(name: str) -> str:
    """How names are compared: case- and surrounding-space-insensitive."""
    return " ".join(name.split()).casefold()


def _spec_schema(schema: dict[str, Any]) -> None:
    """The cross-field rules in the document too: something followed, at least one kind, each
    channel's url, secret and options (:mod:`notifier.channels.shapes`), the live style's."""
    follows = [{"required": [f], "properties": {f: {"minItems": 1}}} for f in FOLLOW_FIELDS]
    schema["allOf"] = [{"anyOf": follows}, {"anyOf": branches(CHANNELS)}, *STYLE_RULES]
    schema["properties"]["kinds"]["minItems"] = 1
    schema["properties"]["channel"]["enum"] = list(channels(CHANNELS))


def _patch_schema(schema: dict[str, Any]) -> None:
    """The cross-field rules in the document too: a secret is set or rotated, not both; null
    only for the fields it clears (a secret is never removed)."""
    for name, prop in schema["properties"].items():
        kept = [s for s in prop.get("anyOf", ()) if s != {"type": "null"}]
        if name not in NULLABLE and len(kept) == 1:
            del prop["anyOf"]
            prop.pop("default", None)
            prop.update(kept[0])
    schema["properties"]["url"]["pattern"] = any_url(CHANNELS)
    schema["not"] = {
        "required": ["secret", "rotate_secret"],
        "properties": {"rotate_secret": {"const": True}},
    }


class SubscriptionSpec(BaseModel):
    """What a client asks for: a channel and its target, what to follow, which kinds."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_spec_schema)

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
        description=(
            "webhook: whsec_... (made if left out); telegram, slack, discord: bot token; "
            "ntfy: token"
        ),
    )
    options: dict[str, OptionValue] = Field(
        default_factory=dict,
        max_length=8,
        description="telegram: chat_id, message_thread_id; slack: channel; ntfy: topic, priority",
    )
    teams: Follows = Field(default_factory=list, description="team names (any alias)")
    matches: Follows = Field(default_factory=list, description="match keys (provider:id)")
    ties: Follows = Field(default_factory=list, description="tie ids")
    competitions: Follows = Field(default_factory=list, description="competition names")
    kinds: list[AlertKind] = Field(
        default_factory=lambda: list(DEFAULT_KINDS),
        max_length=32,
        description="alert kinds wanted (default: every kind but status and yellow_card)",
    )
    description: str | None = Field(default=None, max_length=200)
    enabled: StrictBool = True
    lang: LangName | None = Field(
        default=None,
        description="language of the alert texts: en, de, it, es, fr, pt (default: the server's)",
    )
    delay_s: DelaySeconds = 0
    quiet_hours: QuietHours | None = Field(
        default=None, description="no alerts in these hours (local time), but the passing kinds"
    )
    digest: Digest | None = Field(
        default=None, description="one message per phase or every N minutes, not one per alert"
    )
    style: Literal["message", "live"] = Field(
        default="message",
        description="live: one message per match or tie, edited on each change "
        "(telegram; discord; slack with a bot token as secret and options.channel)",
    )
    live_goals: bool = Field(default=False, description="with style live: goals also posted")

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> SubscriptionSpec:
        if not any(getattr(self, f) for f in FOLLOW_FIELDS):
            raise FieldError("teams", "follow at least one team, match, tie or competition")
        if not self.kinds:
            raise FieldError("kinds", "name at least one alert kind")
        check_channel(self)
        check_style(self)
        if info.context == DOCUMENTED:  # not a stored one made before the forms were stated
            check_form(self, CHANNELS)
        return self


def absolute_url(spec: SubscriptionSpec) -> str | None:
    """The target URL to check for SSRF, or None when the channel's base URL is used."""
    return spec.url if "://" in spec.url else None


class SubscriptionPatch(BaseModel):
    """A partial update: only the fields given change; ``rotate_secret`` makes a new secret."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_patch_schema)

    url: str | None = Field(default=None, max_length=2048)
    secret: str | None = Field(default=None, max_length=200, repr=False)
    options: dict[str, OptionValue] | None = Field(default=None, max_length=8)
    teams: Follows | None = None
    matches: Follows | None = None
    ties: Follows | None = None
    competitions: Follows | None = None
    kinds: list[AlertKind] | None = Field(default=None, min_length=1, max_length=32)
    description: str | None = Field(default=None, max_length=200)
    enabled: StrictBool | None = None
    lang: LangName | None = None
    delay_s: DelaySeconds | None = None
    quiet_hours: QuietHours | None = None  # null: none any more
    digest: Digest | None = None  # null: one message per alert again
    style: Literal["message", "live"] | None = None
    live_goals: bool | None = None
    rotate_secret: StrictBool = False

    @model_validator(mode="after")
    def _check(self) -> SubscriptionPatch:
        if "secret" in self.model_fields_set and self.secret is None:
            raise FieldError("secret", "cannot be removed; set a new one or rotate_secret")
        for name in sorted(self.model_fields_set - NULLABLE):
            if getattr(self, name) is None:
                raise FieldError(name, "cannot be null (leave it out to keep it as it is)")
        if self.url is not None and not matches(any_url(CHANNELS), self.url):
            raise FieldError("url", "not a URL of any channel (the document gives the pattern)")
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
        return Target(
            channel=s.channel, url=s.url, secret=s.secret, options=options, subscription=self.id
        )

    def index(self) -> list[tuple[str, str]]:
        """(field, value) pairs of the indexes it is in while enabled."""
        pairs = {("team", fold(t)) for t in self.spec.teams}
        pairs |= {("competition", fold(c)) for c in self.spec.competitions}
        pairs |= {("match", m) for m in self.spec.matches}
        pairs |= {("tie", t) for t in self.spec.ties}
        return sorted(pairs)

    def wants(self, alert: Alert, aliases: Mapping[str, str] | None = None) -> bool:
        """Whether this subscription receives ``alert`` (enabled, kind, and something followed)."""
        return self.wants_pairs(alert.kind, alert_index(alert, aliases or {}), set(self.index()))

    def wants_pairs(
        self, kind: str, pairs: list[tuple[str, str]], mine: AbstractSet[tuple[str, str]]
    ) -> bool:
        """:meth:`wants`, for a caller matching one alert against many subscriptions: the
        alert's index ``pairs`` worked out once, and ``mine`` (this subscription's
        :meth:`index` as a set) kept with the parsed record."""
        if not self.spec.enabled or kind not in self.spec.kinds:
            return False
        return any(pair in mine for pair in pairs)


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
    if channel == "mqtt":  # a password may be in the userinfo
        with contextlib.suppress(ValueError):
            return str(URL(url).with_user(None))
        return "***"
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
    """The spec after ``patch`` (and a new ``secret``, if given), validated as a whole; a url
    given anew is held to the document's form of its channel."""
    data = spec.model_dump()
    data.update(patch.model_dump(exclude_unset=True, exclude={"rotate_secret"}))
    if secret is not None:
        data["secret"] = secret
    context = DOCUMENTED if data["url"] != spec.url else None
    return SubscriptionSpec.model_validate(data, context=context)
