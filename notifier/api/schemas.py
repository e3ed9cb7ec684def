"""What the API answers: subscription views (never a secret, but once at creation) and errors.

These models are the OpenAPI document's schemas too, so the document and the answers agree.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from notifier.channels.subscriptions import ChannelName, OptionValue, Subscription, mask_url
from notifier.domain.alerts import AlertKind
from notifier.domain.timing import Digest, QuietHours


class SubscriptionView(BaseModel):
    """A subscription as its owner sees it: no secret; URLs carrying tokens are masked."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^sub_[0-9a-f]{20}$")
    channel: ChannelName
    url: str
    has_secret: bool
    options: dict[str, OptionValue]
    teams: list[str]
    matches: list[str]
    ties: list[str]
    competitions: list[str]
    kinds: list[AlertKind]
    description: str | None
    enabled: bool
    lang: str | None = None
    delay_s: int = Field(description="spoiler delay in seconds (0: none)")
    quiet_hours: QuietHours | None
    digest: Digest | None
    style: str = Field(description="message, or live: one message edited on each change")
    live_goals: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionView):
    """The answer to a creation (or a secret rotation): the one time the secret is shown."""

    secret: str | None = Field(description="shown once: store it now")


class SubscriptionList(BaseModel):
    """A page of the caller's subscriptions, by id; ``next_cursor`` asks for the next page."""

    subscriptions: list[SubscriptionView]
    next_cursor: str | None = Field(
        default=None, description="pass as ?cursor= for the next page; null on the last page"
    )


class FieldProblem(BaseModel):
    """One invalid field."""

    field: str
    message: str


class Problem(BaseModel):
    """Problem details (RFC 9457)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] | None = None


def view(sub: Subscription) -> SubscriptionView:
    """The owner's view of a subscription."""
    s = sub.spec
    return SubscriptionView(
        id=sub.id,
        channel=s.channel,
        url=mask_url(s.channel, s.url),
        has_secret=s.secret is not None,
        options=dict(s.options),
        teams=list(s.teams),
        matches=list(s.matches),
        ties=list(s.ties),
        competitions=list(s.competitions),
        kinds=list(s.kinds),
        description=s.description,
        enabled=s.enabled,
        lang=s.lang,
        delay_s=s.delay_s,
        quiet_hours=s.quiet_hours,
        digest=s.digest,
        style=s.style,
        live_goals=s.live_goals,
        disabled_reason=sub.disabled_reason,
        created_at=sub.created_at,
        updated_at=sub.updated_at,
    )


def created(sub: Subscription, secret: str | None) -> SubscriptionCreated:
    """The view with the secret, for the creation answer only."""
    return SubscriptionCreated(**view(sub).model_dump(), secret=secret)
