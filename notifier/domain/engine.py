"""The fold in the public schema: ``apply(state, event, now) -> (state, alerts)`` on the pydantic
models. Pure.

The fold itself is :mod:`notifier.domain.fold`, written against the fold's structs
(:mod:`notifier.domain.structs`), which the aggregator decodes its entries into. Everyone else
(the API, the chat bots, the tests, the chaos and replay tools) speaks the models: this module
turns a ``MatchState`` and an ``Event`` into their structs, folds, and gives the new state as a
``MatchState`` and the alerts as ``Alert`` models, the same values the fold's JSON carries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from notifier.domain import fold, render, structs
from notifier.domain.alerts import Alert, Need
from notifier.domain.events import Event
from notifier.domain.models import Frozen, MatchStatus, Score, Side, goals
from notifier.domain.tie import TieRules, TieSpec

RECENT = fold.RECENT


class MatchState(Frozen):
    """A match as the aggregator knows it, with its tie context (its struct:
    ``structs.State``, the same fields in the same order)."""

    match: str
    tie: str | None = None
    home: str  # display names
    away: str
    competition: str | None = None
    status: MatchStatus = MatchStatus.SCHEDULED
    minute: int | None = None
    added: int | None = None
    score: Score = Score()
    shootout: Score | None = None
    kicks: Score | None = None
    prior: Score | None = None
    prior_away: Score | None = None
    rules: TieRules = TieRules()
    next_round: str | None = None
    extra_time_played: bool = False
    finished: bool = False
    booked: tuple[tuple[Side, str | None], ...] = ()  # players shown a yellow card
    sent_off: Score = Score()  # players sent off, per side
    scorers: tuple[tuple[str, int], ...] = ()  # goals per player (own goals not counted)
    recent: tuple[str, ...] = ()


def event_struct(event: Event) -> structs.Event:
    """An event model as the fold's struct (by its JSON: the same bytes either way)."""
    return structs.EVENTS.decode(event.model_dump_json())


def state_struct(state: MatchState) -> structs.State:
    """A state model as the fold's struct."""
    return structs.STATES.decode(state.model_dump_json())


def state_model(state: structs.State) -> MatchState:
    """A fold's state as the model (validated from the JSON the aggregator stores)."""
    return MatchState.model_validate_json(structs.state_json(state))


def start(event: Event, tie: TieSpec | None, aliases: dict[str, str]) -> MatchState:
    """The state of a match before its first event, from the event's names and the tie."""
    return state_model(fold.begin(event_struct(event), tie, aliases))


def view(state: MatchState) -> render.View:
    """The render view of a state: names, score, standing and needs."""
    return fold.view(state_struct(state))


def apply(state: MatchState, event: Event, now: datetime) -> tuple[MatchState, list[Alert]]:
    """Fold one event into the state; the alerts it gives rise to, in order."""
    if event.id in state.recent:
        return state, []
    new, alerts = fold.step(state_struct(state), event_struct(event), now)
    return state_model(new), [alert_model(a) for a in alerts]


_new = object.__new__
_set = object.__setattr__
_ALERT_SET = frozenset(Alert.model_fields) - {"v"}  # what validating the alert's call would set


def _score(value: structs.Score | None) -> Score | None:
    return None if value is None else goals(value.home, value.away)


def alert_model(values: fold.AlertValues) -> Alert:
    """The ``Alert`` of a fold's alert values, without validating them again (they come from
    validated events and states; ``tests/unit/domain/test_engine.py`` holds each equal to its
    validated twin, fields set included): the scores and the need as their models."""
    need = values["need"]
    fields: dict[str, Any] = {
        **values,
        "score": _score(values["score"]),
        "shootout": _score(values["shootout"]),
        "need": None if need is None else _need(need),
    }
    model = _new(Alert)
    _set(model, "__dict__", fields)
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_fields_set__", set(_ALERT_SET))
    _set(model, "__pydantic_private__", None)
    return model


def _need(need: structs.Need) -> Need:
    return Need(side=need.side, team=need.team, goals=need.goals, to=need.to)
