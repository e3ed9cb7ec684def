"""The fold's structs (``notifier.domain.structs``) mirror the models: an event or a state
decoded either way is the same data, their JSON the same bytes, and what the strict struct
decoding accepts the models accept too (the aggregator sends what it refuses to the models,
which decide as they always did)."""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from notifier.domain import fold, structs
from notifier.domain.engine import MatchState, apply, start, state_struct
from notifier.domain.events import EVENT, Event
from notifier.domain.models import MatchSnapshot
from notifier.domain.tie import needs, standing
from tests.unit.strategies import (
    ALIASES,
    T0,
    TIE,
    histories,
    mutate,
    polls,
    scripted_second_leg,
)

PROPERTY = settings(max_examples=60, deadline=None)


def _same_event(event: Event, struct: structs.Event) -> None:
    """Same type, same fields, same values, in the same order as the model dumps them."""
    assert type(struct).__name__ == type(event).__name__
    dumped = event.model_dump(mode="json")
    mine = orjson.loads(structs.to_json(struct))
    assert mine == dumped
    assert list(mine) == ["type", *[k for k in dumped if k != "type"]]  # the tag comes first


def _histories_events(script: list[MatchSnapshot]) -> list[Event]:
    return polls(script)


def test_the_scripted_match_decodes_the_same_either_way() -> None:
    for event in polls(scripted_second_leg()):
        _same_event(event, structs.EVENTS.decode(event.model_dump_json()))


@PROPERTY
@given(histories())
def test_generated_events_and_states_decode_the_same_either_way(
    script: list[MatchSnapshot],
) -> None:
    state: MatchState | None = None
    for event in _histories_events(script):
        raw = event.model_dump_json()
        _same_event(EVENT.validate_json(raw), structs.EVENTS.decode(raw))
        state = state or start(event, TIE, ALIASES)
        state, _ = apply(state, event, T0)
        as_struct = structs.STATES.decode(state.model_dump_json())
        assert structs.state_json(as_struct) == state.model_dump_json().encode()
        assert MatchState.model_validate_json(structs.state_json(as_struct)) == state


def test_a_lineups_event_decodes_every_player() -> None:
    lineups = [e for e in polls(scripted_second_leg()) if e.type == "lineups"]
    assert lineups
    for event in lineups:
        struct = structs.EVENTS.decode(event.model_dump_json())
        assert isinstance(struct, structs.LineupsAnnounced)
        assert len(struct.lineups.home.start) == 11
        _same_event(event, struct)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """An event's JSON with one thing dropped, replaced or retyped somewhere in it."""
    events = polls(draw(histories()))
    assume(events)
    event = draw(st.sampled_from(events))
    body: Any = copy.deepcopy(event.model_dump(mode="json"))
    mutate(body, draw)
    return json.dumps(body).encode()  # any integer (orjson stops at 64 bits)


@settings(max_examples=200, deadline=None)
@given(mutated())
def test_what_the_structs_accept_the_models_accept_alike(body: bytes) -> None:
    """Never looser than the contract: an entry the models refuse is never folded."""
    try:
        struct = structs.EVENTS.decode(body)
    except msgspec.DecodeError:
        return  # the aggregator asks the models (workers.fold.aggregator._event)
    try:
        model = EVENT.validate_json(body)
    except ValidationError:
        pytest.fail(f"the structs accept what the models refuse: {body!r}")
    _same_event(model, struct)


def test_state_struct_of_a_fresh_state_is_its_defaults() -> None:
    event = polls(scripted_second_leg())[0]
    state = start(event, None, {})
    assert state_struct(state) == structs.State(match=event.match, home=state.home, away=state.away)


@PROPERTY
@given(histories())
def test_the_memoised_standing_is_the_one_worked_out(script: list[MatchSnapshot]) -> None:
    """``fold.view`` keeps standings and needs by what they are made of: each one it gives is
    the one ``tie.standing`` and ``tie.needs`` work out for that state."""
    state: MatchState | None = None
    for event in polls(script):
        state = state or start(event, TIE, ALIASES)
        state, _ = apply(state, event, T0)
        s = state_struct(state)
        v = fold.view(s)
        assert v.standing == standing(s.score, s.prior, s.prior_away, s.rules, s.shootout)
        assert v.needs == needs(s.score, s.prior, s.prior_away, s.rules, s.status)


def _mirrored() -> list[tuple[type[msgspec.Struct], type[Any]]]:
    """Each struct and the model its docstring names (``module.Name``, in notifier.domain)."""
    import importlib

    pairs = []
    for struct in vars(structs).values():
        if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
            continue
        doc = (struct.__doc__ or "").split("``")
        if struct.__module__ != structs.__name__ or len(doc) < 2 or "." not in doc[1]:
            continue
        module, _, name = doc[1].rpartition(".")
        model = getattr(importlib.import_module(f"notifier.domain.{module}"), name)
        pairs.append((struct, model))
    return pairs


def test_every_struct_names_the_model_it_mirrors() -> None:
    named = {s.__name__ for s, _ in _mirrored()}
    assert named >= {"Score", "Goal", "Incident", "Rules", "State", "Need", "GoalScored"}
    assert len(named) >= 17  # every struct but the private base


@pytest.mark.parametrize("pair", _mirrored(), ids=lambda p: p[0].__name__)
def test_a_struct_has_its_models_fields_in_order_with_its_defaults(
    pair: tuple[type[msgspec.Struct], type[Any]],
) -> None:
    """A field added to a model and not to its struct (or a default changed on one side) would
    make the fold refuse or rewrite what the rest of the system writes: caught here, by name."""
    struct, model = pair
    model_fields = {k: f for k, f in model.model_fields.items() if k != "type"}  # the tag
    mine = msgspec.structs.fields(struct)
    assert [f.name for f in mine] == list(model_fields), struct.__name__
    for f in mine:
        theirs = model_fields[f.name]
        if theirs.is_required():
            assert f.required, f"{struct.__name__}.{f.name}: required in the model"
            continue
        default = f.default if f.default is not msgspec.NODEFAULT else f.default_factory()
        expected = theirs.get_default(call_default_factory=True)
        assert orjson.loads(structs.to_json(default)) == orjson.loads(
            orjson.dumps(expected, default=lambda v: v.model_dump(mode="json"))
        ), f"{struct.__name__}.{f.name}"
