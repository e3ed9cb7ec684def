"""Alerts: what subscribers receive. Produced by the tie engine, rendered by
``notifier.domain.render``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, TypeAdapter

from notifier.domain.models import Frozen, MatchStatus, Score, Side
from notifier.domain.tie import NeedTo

AlertKind = Literal[
    "lineups",
    "kickoff",
    "goal",
    "goal_cancelled",
    "red_card",
    "yellow_card",
    "penalty_missed",
    "half_time",
    "second_half",
    "full_time",
    "extra_time",
    "shootout",
    "result",
    "status",
    "digest",  # several alerts as one message, for one subscriber (quiet hours, digest mode)
]
ALERT_KINDS: tuple[str, ...] = AlertKind.__args__  # type: ignore[attr-defined]


class Need(Frozen):
    """What the side going out needs, as data beside the English ``needs`` sentence: bots and
    other languages render their own from it (``Atalanta need one goal to force extra time`` is
    ``{"side": "home", "team": "Atalanta", "goals": 1, "to": "extra_time"}``)."""

    side: Side
    team: str  # display name
    goals: int
    to: NeedTo  # "win" the tie, or force "extra_time", "penalties" or a "replay"


def alert_id(event_id: str, i: int) -> str:
    """The id of the ``i``-th alert (from 0) an event makes: the first has the event's id. The
    aggregator's marks keep how many alerts each event made, so the retention knows a match's
    alert ids (and their delivery marks) from its event ids."""
    return f"{event_id}#{i}" if i else event_id


class Alert(Frozen):
    """One message for subscribers, with the state of the match (and tie) it speaks of."""

    v: Literal[1] = 1
    id: str  # derived from the event id: the same event always yields the same alert ids
    kind: AlertKind
    text: str
    match: str
    tie: str | None = None
    event: str  # id of the event it came from
    competition: str | None = None
    home: str  # display names
    away: str
    status: MatchStatus
    minute: int | None = None
    added: int | None = None
    score: Score
    shootout: Score | None = None
    aggregate: dict[str, int] | None = None  # team display name -> goals over both legs
    leader: str | None = None  # who goes through if it ended now (ties), or who leads
    needs: str | None = None  # what the trailing side needs, as a sentence (English)
    need: Need | None = None  # the same, as data
    data: dict[str, Any] = Field(default_factory=dict)  # kind-specific details (scorer, ...)
    # The text as language-neutral sentence shapes (msgid + arguments, teams by side), from
    # which every language's text is made at delivery (``notifier.domain.texts``).
    parts: list[dict[str, Any]] = Field(default_factory=list)
    lang: str = (
        "en"  # the language of ``text`` (set at delivery, :func:`notifier.domain.texts.localised`)
    )
    occurred_at: datetime
    detected_at: datetime
    emitted_at: datetime

    def public(self) -> dict[str, Any]:
        """The JSON object subscribers and ``--json`` see."""
        return self.model_dump(mode="json")


ALERT: TypeAdapter[Alert] = TypeAdapter(Alert)
