"""``notifier.bus.entries.alert_json`` writes an alert's body with orjson, and ``values_json``
the body of a fold's alert values (what the aggregator commits) with msgspec: both byte for byte
what pydantic's ``model_dump_json`` writes, for every alert the engine makes and for the values
they would write otherwise (offsets in seconds, text with every kind of character).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.bus.entries import alert_json, values_json
from notifier.domain import fold, structs
from notifier.domain.alerts import Alert
from notifier.domain.engine import alert_model, apply, event_struct, start, state_struct
from notifier.domain.models import Goal, Incident, MatchSnapshot, ShootoutKick
from tests.unit.strategies import ALIASES, T0, TIE, histories, polls, scripted_second_leg


def _alerts(script: list[MatchSnapshot]) -> list[Alert]:
    out: list[Alert] = []
    state = None
    for event in polls(script):
        state = state or start(event, TIE, ALIASES)
        state, alerts = apply(state, event, T0)
        out += alerts
    return out


def _values(script: list[MatchSnapshot]) -> list[fold.AlertValues]:
    """The fold's own alert values (the aggregator's hot path: structs in, no models)."""
    out: list[fold.AlertValues] = []
    state = None
    for event in polls(script):
        state = state or state_struct(start(event, TIE, ALIASES))
        state, alerts = fold.step(state, event_struct(event), T0)
        out += alerts
    return out


def test_the_scripted_match_alerts_are_written_as_pydantic_writes_them() -> None:
    alerts = _alerts(scripted_second_leg())
    assert alerts
    for alert in alerts:
        assert alert_json(alert) == alert.model_dump_json().encode()


@settings(max_examples=60, deadline=None)
@given(histories())
def test_generated_histories_alerts_are_written_as_pydantic_writes_them(
    script: list[MatchSnapshot],
) -> None:
    for alert in _alerts(script):
        assert alert_json(alert) == alert.model_dump_json().encode()
    for values in _values(script):
        assert values_json(values) == alert_model(values).model_dump_json().encode()


def test_the_scripted_match_values_are_written_as_pydantic_writes_them() -> None:
    values = _values(scripted_second_leg())
    assert [alert_model(v) for v in values] == _alerts(scripted_second_leg())
    for v in values:
        assert values_json(v) == alert_model(v).model_dump_json().encode()


OFFSETS = st.one_of(
    st.just(UTC),
    st.builds(
        timezone,
        st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)),
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(),
    tz=OFFSETS,
    micro=st.integers(0, 999_999),
    data=st.dictionaries(st.text(), st.one_of(st.none(), st.booleans(), st.integers(), st.text())),
)
def test_any_text_data_and_offset_is_written_as_pydantic_writes_it(
    text: str, tz: timezone, micro: int, data: dict[str, object]
) -> None:
    alert = _alerts(scripted_second_leg())[3]
    at = datetime(2026, 3, 11, 20, 0, 0, micro, tzinfo=tz)
    odd = alert.model_copy(
        update={"text": text, "occurred_at": at, "emitted_at": at, "data": data, "leader": text}
    )
    assert alert_json(odd) == odd.model_dump_json().encode()
    values = {
        **_values(scripted_second_leg())[3],
        **{"text": text, "occurred_at": at, "emitted_at": at, "data": data, "leader": text},
    }
    assert values_json(values) == alert_model(values).model_dump_json().encode()


@given(
    st.builds(Goal, minute=st.integers(0, 130)),
    st.builds(Incident, minute=st.integers(0, 130)),
    st.builds(ShootoutKick, order=st.integers(1, 40)),
)
def test_alert_data_of_a_goal_incident_or_kick_is_their_json_dump(
    goal: Goal, incident: Incident, kick: ShootoutKick
) -> None:
    """The fold's ``data`` is its struct's fields (``structs.fields_of``): the model's JSON dump,
    keys in the same order."""
    pairs = ((goal, structs.Goal), (incident, structs.Incident), (kick, structs.ShootoutKick))
    for model, struct in pairs:
        fields = structs.fields_of(msgspec.json.decode(model.model_dump_json(), type=struct))
        assert list(fields.items()) == list(model.model_dump(mode="json").items())
