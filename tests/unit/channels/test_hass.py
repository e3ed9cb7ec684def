"""Home Assistant discovery payloads against HA's documented MQTT schema (pure, no broker).

The schema below is what home-assistant.io documents for MQTT discovery
(integrations/mqtt: ``<discovery_prefix>/<component>/[<node_id>/]<object_id>/config``, ids in
``[a-zA-Z0-9_-]``), the MQTT sensor (``state_topic`` required) and the MQTT event
(``state_topic`` and ``event_types`` required; payload ``{"event_type": ..., attributes}``):
only documented keys, with the types documented for them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.channels import hass
from notifier.channels.base import Target
from notifier.channels.mqtt import devices_for
from notifier.domain.alerts import Alert
from notifier.domain.models import MatchStatus, Score

ID = r"[a-zA-Z0-9_-]+"
CONFIG_TOPIC = re.compile(rf"^(?P<prefix>[^#+]+)/(?P<component>sensor|event)/{ID}/{ID}/config$")
COMMON: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "unique_id": str,
    "object_id": str,
    "availability": list,
    "device": dict,
    "icon": str,
    "qos": int,
    "state_topic": str,
    "value_template": str,
    "json_attributes_topic": str,
    "device_class": str,
}
REQUIRED = {"sensor": {"state_topic"}, "event": {"state_topic", "event_types"}}
ALLOWED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "sensor": COMMON,
    "event": {**COMMON, "event_types": list},
}
DEVICE_KEYS = {"identifiers", "connections", "name", "manufacturer", "model", "sw_version"}
AT = datetime(2025, 2, 18, 20, 23, tzinfo=UTC)


def alert(**overrides: Any) -> Alert:
    fields: dict[str, Any] = {
        "id": "e1",
        "kind": "goal",
        "text": "GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate",
        "match": "api-football:1",
        "tie": "replay:api-football:1",
        "event": "e1",
        "home": "Atalanta",
        "away": "Dortmund",
        "status": MatchStatus.FIRST_HALF,
        "minute": 23,
        "score": Score(home=1, away=0),
        "aggregate": {"Atalanta": 1, "Dortmund": 2},
        "leader": "Dortmund",
        "needs": "Atalanta need one goal to force extra time",
        "data": {"side": "home", "goal": {"player": "Scamacca", "minute": 23, "assist": None}},
        "occurred_at": AT,
        "detected_at": AT,
        "emitted_at": AT,
    }
    return Alert(**(fields | overrides))


def check_config(topic: str, payload: dict[str, Any], topics: hass.Topics) -> str:
    """Validate one discovery config as Home Assistant would; its component."""
    m = CONFIG_TOPIC.match(topic)
    assert m is not None, topic
    assert m["prefix"] == topics.prefix
    allowed = ALLOWED[m["component"]]
    assert REQUIRED[m["component"]] <= payload.keys()
    for key, value in payload.items():
        assert key in allowed, f"{key} is not documented for {m['component']}"
        assert isinstance(value, allowed[key]), key
    assert re.fullmatch(ID, payload["unique_id"])
    assert payload["availability"] == [{"topic": topics.status}]
    device = payload["device"]
    assert device.keys() <= DEVICE_KEYS and device["identifiers"]
    assert payload["state_topic"].startswith(topics.base + "/")
    assert "#" not in payload["state_topic"] and "+" not in payload["state_topic"]
    return m["component"]


@pytest.mark.parametrize("topics", [hass.Topics(), hass.Topics("ha", "football/live")])
def test_discovery_follows_the_documented_schema(topics: hass.Topics) -> None:
    device = hass.device_of(alert())
    configs = hass.discovery(device, topics)
    components = [check_config(t, p, topics) for t, p in configs]
    assert components.count("event") == 1
    assert components.count("sensor") == len(hass.FIELDS)
    ids = [p["unique_id"] for _, p in configs]
    assert len(set(ids)) == len(ids)  # HA refuses two entities with one unique_id
    assert len({str(p["device"]) for _, p in configs}) == 1  # all on one device
    event = next(p for t, p in configs if "/event/" in t)
    assert event["event_types"] == ["goal", "goal_cancelled", "red_card", "result"]
    sensors = {p["object_id"].rsplit("_", 1)[-1]: p for t, p in configs if "/sensor/" in t}
    assert sensors["kickoff"]["device_class"] == "timestamp"
    state = hass.state(alert())
    for _, p in configs:  # every sensor reads a key the state has
        if "value_template" in p:
            key = p["value_template"].split("value_json.")[1].split()[0]
            assert key in state


def test_state_and_event_of_a_goal() -> None:
    a = alert()
    state = hass.state(a)
    assert state["score"] == "Atalanta 1-0 Dortmund"
    assert state["aggregate"] == "Atalanta 1-2 Dortmund"
    assert (state["phase"], state["minute"], state["leader"]) == ("first_half", "23'", "Dortmund")
    assert state["needs"] == "Atalanta need one goal to force extra time"
    event = hass.event(a)
    assert event is not None
    assert event["event_type"] == "goal" and event["event_type"] in hass.EVENT_TYPES
    assert (event["side"], event["goal_player"], event["goal_minute"]) == ("home", "Scamacca", 23)
    assert "goal_assist" not in event  # None fields are left out
    assert hass.event(alert(kind="half_time")) is None  # not an event type
    assert state["next_kickoff"] is None  # under way: no next kick-off
    before = hass.state(alert(kind="lineups", status=MatchStatus.SCHEDULED), kickoff=AT)
    assert before["next_kickoff"] == "2025-02-18T20:23:00+00:00"


def test_devices_of_tie_match_and_team() -> None:
    assert hass.device_of(alert()).obj == "tie_replay_api-football_1"
    assert hass.device_of(alert(tie=None)).model == "match"
    team = hass.device_of(alert(), team="Borussia Dortmund")
    assert (team.obj, team.model) == ("team_borussia_dortmund", "team")


@given(st.text(max_size=300))
def test_object_ids_are_discovery_safe(value: str) -> None:
    obj = hass.object_id("tie", value)
    assert re.fullmatch(ID, obj) and len(obj) <= 120


def test_a_subscription_with_a_team_updates_the_tie_and_the_team_device() -> None:
    target = Target(channel="mqtt", url="mqtts://b", options={"team": "dortmund"})
    assert [d.model for d in devices_for(alert(), target)] == ["tie", "team"]
    elsewhere = Target(channel="mqtt", url="mqtts://b", options={"team": "Inter"})
    assert [d.model for d in devices_for(alert(), elsewhere)] == ["tie"]
