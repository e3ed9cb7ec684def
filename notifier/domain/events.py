"""Typed match events: what changed between two snapshots of one match.

One discriminated union (``Event``) and one module-level ``TypeAdapter`` (``EVENT``).
Every event carries the score *after* it, so folding is idempotent and order-robust.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, TypeAdapter

from notifier.domain.models import (
    CACHE_STRINGS,
    Frozen,
    Goal,
    Incident,
    Lineups,
    MatchStatus,
    Score,
    ShootoutKick,
    Side,
)


class EventBase(Frozen):
    """Fields every event has: identity, where it belongs, when, and the match as it stands."""

    v: Literal[1] = 1
    id: str  # stable, derived from provider data: the same change always gets the same id
    match: str  # provider-qualified match key
    tie: str | None = None
    at: datetime  # feed time (when the provider says it happened; poll time if it does not say)
    seen: datetime  # poll time (when we detected it)
    home: str
    away: str
    competition: str | None = None
    status: MatchStatus
    minute: int | None = None
    added: int | None = None
    score: Score  # the running score after this event (extra time included, shoot-out not)


class LineupsAnnounced(EventBase):
    """Confirmed lineups appeared in the feed."""

    type: Literal["lineups"] = "lineups"
    lineups: Lineups


class PhaseChanged(EventBase):
    """The match moved to another phase (kick-off, half-time, full-time, extra time, ...)."""

    type: Literal["phase"] = "phase"
    previous: MatchStatus
    shootout: Score | None = None
    winner: Side | None = None
    # Within extra time (the status stays): "extra_time" (under way), "extra_time_half_time",
    # "extra_time_second_half".
    stage: str | None = None


class GoalScored(EventBase):
    """The score went up by one for ``side``; ``goal`` names the scorer when the feed does."""

    type: Literal["goal"] = "goal"
    side: Side
    goal: Goal | None = None


class GoalCancelled(EventBase):
    """A goal came off the score (VAR, or a provider correction)."""

    type: Literal["goal_cancelled"] = "goal_cancelled"
    side: Side
    goal: Goal | None = None
    reason: str | None = None


class RedCard(EventBase):
    """A player was sent off."""

    type: Literal["red_card"] = "red_card"
    incident: Incident


class YellowCard(EventBase):
    """A player was booked."""

    type: Literal["yellow_card"] = "yellow_card"
    incident: Incident


class PenaltyMissed(EventBase):
    """A penalty in open play was missed or saved."""

    type: Literal["penalty_missed"] = "penalty_missed"
    incident: Incident


class ShootoutKickTaken(EventBase):
    """A shoot-out kick (or a change of the shoot-out score, when kicks are unknown)."""

    type: Literal["shootout"] = "shootout"
    shootout: Score
    kick: ShootoutKick | None = None
    complete: bool = True  # False: the feed lists only the kicks that went in (kicks unknown)
    decisive: bool = False  # the kick that won the shoot-out


Event = Annotated[
    LineupsAnnounced
    | PhaseChanged
    | GoalScored
    | GoalCancelled
    | RedCard
    | YellowCard
    | PenaltyMissed
    | ShootoutKickTaken,
    Field(discriminator="type"),
]

# A union's JSON parsing takes the adapter's config, not its models' (Frozen's cache_strings).
EVENT: TypeAdapter[Event] = TypeAdapter(Event, config=ConfigDict(cache_strings=CACHE_STRINGS))
EVENT_TYPES: tuple[str, ...] = (
    "lineups",
    "phase",
    "goal",
    "goal_cancelled",
    "red_card",
    "yellow_card",
    "penalty_missed",
    "shootout",
)
