"""Provider-neutral match snapshot: what one poll of a feed says about one match.

Pure data: no I/O, no clock. Every adapter in ``notifier.feeds`` produces these.
"""

from __future__ import annotations

import functools
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Side = Literal["home", "away"]
GoalKind = Literal["normal", "penalty", "own_goal"]


# JSON parsing keeps the keys it reads in pydantic-core's string cache, not the values: ours are
# mostly ids, unique per match (event, alert and match ids), which filled its 16,384 entries
# over hundreds of matches (memory that grew with every match, then stayed). Keys repeat.
CACHE_STRINGS: Literal["keys"] = "keys"


class Frozen(BaseModel):
    """Base for immutable value objects."""

    model_config = ConfigDict(frozen=True, extra="forbid", cache_strings=CACHE_STRINGS)


class MatchStatus(StrEnum):
    """Phase of a match, provider-neutral."""

    SCHEDULED = "scheduled"
    FIRST_HALF = "first_half"
    HALF_TIME = "half_time"
    SECOND_HALF = "second_half"
    EXTRA_TIME = "extra_time"
    PENALTIES = "penalties"
    FINISHED = "finished"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"
    SUSPENDED = "suspended"


LIVE_STATUSES = frozenset(
    {
        MatchStatus.FIRST_HALF,
        MatchStatus.HALF_TIME,
        MatchStatus.SECOND_HALF,
        MatchStatus.EXTRA_TIME,
        MatchStatus.PENALTIES,
        MatchStatus.SUSPENDED,
    }
)
OVER_STATUSES = frozenset({MatchStatus.FINISHED, MatchStatus.CANCELLED, MatchStatus.ABANDONED})

# Order in which a match moves through its phases; used to tell progress from flapping.
STATUS_ORDER: dict[MatchStatus, int] = {
    MatchStatus.SCHEDULED: 0,
    MatchStatus.POSTPONED: 0,
    MatchStatus.FIRST_HALF: 1,
    MatchStatus.HALF_TIME: 2,
    MatchStatus.SECOND_HALF: 3,
    MatchStatus.SUSPENDED: 3,
    MatchStatus.EXTRA_TIME: 4,
    MatchStatus.PENALTIES: 5,
    MatchStatus.FINISHED: 6,
    MatchStatus.CANCELLED: 6,
    MatchStatus.ABANDONED: 6,
}


class Score(Frozen):
    """Goals for each side."""

    home: int = Field(default=0, ge=0)
    away: int = Field(default=0, ge=0)

    def of(self, side: Side) -> int:
        """Goals of one side."""
        return self.home if side == "home" else self.away

    def plus(self, side: Side, n: int = 1) -> Score:
        """This score with n goals added to one side."""
        if side == "home":
            return goals(self.home + n, self.away)
        return goals(self.home, self.away + n)


class Goals(Protocol):
    """Anything with a score's two sides: a ``Score`` or the fold's struct of one
    (``notifier.domain.structs.Score``), which the tie engine and the texts read alike."""

    @property
    def home(self) -> int:
        """Goals of the home side."""

    @property
    def away(self) -> int:
        """Goals of the away side."""


@functools.lru_cache(maxsize=4096)
def goals(home: int, away: int) -> Score:
    """``Score(home=home, away=away)``, validated once per pair: scores are frozen and few, and
    the tie engine builds several for every event."""
    return Score(home=home, away=away)


class Team(Frozen):
    """A team as the provider names it."""

    id: str | None = None
    name: str


class Goal(Frozen):
    """A goal that counts (as far as the feed says now)."""

    minute: int = Field(ge=0)
    added: int | None = None
    side: Side
    player: str | None = None
    assist: str | None = None
    kind: GoalKind = "normal"
    ref: str | None = None  # provider's own id for the goal, where it has one


class Incident(Frozen):
    """A red card, a missed penalty or a goal ruled out: someone, somewhere, at a minute."""

    minute: int = Field(ge=0)
    added: int | None = None
    side: Side
    player: str | None = None
    detail: str | None = None


class ShootoutKick(Frozen):
    """One kick of a penalty shoot-out: ``order`` is its place in the order taken (see
    :func:`notifier.domain.shootout.in_order`), ``number`` the feed's own kick number, if any."""

    order: int = Field(ge=1)
    side: Side
    player: str | None = None
    scored: bool
    number: int | None = None


class LineupPlayer(Frozen):
    """A player in a lineup; grid is the provider's 'row:col' where known."""

    name: str
    number: int | None = None
    position: str | None = None
    grid: str | None = None


class Lineup(Frozen):
    """Formation, starting XI and bench of one side."""

    formation: str | None = None
    start: tuple[LineupPlayer, ...] = ()
    bench: tuple[LineupPlayer, ...] = ()
    coach: str | None = None


class Lineups(Frozen):
    """Both sides' lineups."""

    home: Lineup
    away: Lineup


class MatchSnapshot(Frozen):
    """Everything one poll says about one match, normalised."""

    provider: str
    match_id: str
    home: Team
    away: Team
    status: MatchStatus
    paused: bool = False  # a break within the status: before extra time or at its half-time
    kickoff: datetime | None = None
    minute: int | None = None
    added: int | None = None
    score: Score = Score()
    shootout: Score | None = None
    winner: Side | None = None
    goals: tuple[Goal, ...] = ()
    red_cards: tuple[Incident, ...] = ()
    yellow_cards: tuple[Incident, ...] = ()  # first bookings (a second yellow is a red card)
    missed_penalties: tuple[Incident, ...] = ()
    cancelled_goals: tuple[Incident, ...] = ()
    shootout_kicks: tuple[ShootoutKick, ...] = ()
    # False where the feed lists only the kicks that went in (ESPN): kicks taken are unknown.
    kicks_complete: bool = True
    lineups: Lineups | None = None
    competition: str | None = None
    stage: str | None = None
    leg: int | None = None
    updated_at: datetime | None = None  # provider's own last-change time, where it sends one
    # Not from the provider: goals taken back so far per side, kept by the poller so that a goal
    # given again after a cancellation gets a new event id (see ``notifier.domain.diff.carry``).
    corrections: Score = Score()

    @property
    def key(self) -> str:
        """Provider-qualified match key, e.g. ``api-football:1145511``."""
        return f"{self.provider}:{self.match_id}"
