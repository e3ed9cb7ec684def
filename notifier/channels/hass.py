"""Home Assistant MQTT discovery: what a followed tie, match or team looks like to Home Assistant.

Pure: topics and payloads from an alert; no I/O (``notifier.channels.mqtt`` publishes them).
Layout, after https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery:

- ``<prefix>/sensor/<object>/<field>/config`` (retained): one sensor per field of the state
  (score, aggregate, phase, minute, leader, needs, next kick-off), all of one device;
- ``<prefix>/event/<object>/alert/config`` (retained): an MQTT event entity whose
  ``event_types`` are goal, goal_cancelled, red_card and result;
- ``<base>/<object>/state`` (retained): the JSON state every sensor reads with a value template;
- ``<base>/<object>/event`` (not retained): ``{"event_type": ..., fields}`` for the event entity;
- ``<base>/<object>/alert`` (not retained): the alert's own JSON, for MQTT users without HA;
- ``<base>/status`` (retained): ``online`` / ``offline`` (the connection's Last Will).

Home Assistant's discovery ids allow ``[a-zA-Z0-9_-]`` only, hence :func:`object_id`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notifier.domain.alerts import Alert
from notifier.domain.models import MatchStatus

EVENT_TYPES = ("goal", "goal_cancelled", "red_card", "result")
ONLINE, OFFLINE = "online", "offline"
MANUFACTURER = "match-notifier"
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]+")


@dataclass(frozen=True, slots=True)
class Field:
    """One sensor of a device: its key in the state JSON, name and presentation."""

    key: str
    name: str
    icon: str
    device_class: str | None = None


FIELDS = (
    Field("score", "Score", "mdi:scoreboard"),
    Field("aggregate", "Aggregate", "mdi:sigma"),
    Field("phase", "Phase", "mdi:timer-outline"),
    Field("minute", "Minute", "mdi:clock-outline"),
    Field("leader", "Leader", "mdi:trophy-outline"),
    Field("needs", "Trailing side needs", "mdi:target"),
    Field("next_kickoff", "Next kick-off", "mdi:calendar-clock", "timestamp"),
)


@dataclass(frozen=True, slots=True)
class Topics:
    """Where one broker's messages go: Home Assistant's discovery prefix and our base topic."""

    prefix: str = "homeassistant"
    base: str = "match-notifier"

    @property
    def status(self) -> str:
        """Availability of the notifier (Last Will ``offline``)."""
        return f"{self.base}/status"

    @property
    def ha_status(self) -> str:
        """Home Assistant's birth message: discovery is published again when it says online."""
        return f"{self.prefix}/status"

    def state(self, obj: str) -> str:
        """Retained JSON state of one device."""
        return f"{self.base}/{obj}/state"

    def event(self, obj: str) -> str:
        """Events of one device's event entity."""
        return f"{self.base}/{obj}/event"

    def alert(self, obj: str) -> str:
        """Every alert of one device, as the alert's JSON."""
        return f"{self.base}/{obj}/alert"

    def config(self, component: str, obj: str, entity: str) -> str:
        """A discovery config topic."""
        return f"{self.prefix}/{component}/{obj}/{entity}/config"


def object_id(kind: str, value: str) -> str:
    """A discovery-safe id for a followed tie, match or team: ``tie_replay_api-football_1``."""
    safe = _UNSAFE.sub("_", value.casefold()).strip("_")
    return f"{kind}_{safe}"[:120] or kind


@dataclass(frozen=True, slots=True)
class Device:
    """A followed tie, match or team as one Home Assistant device."""

    obj: str  # object id (discovery-safe)
    name: str
    model: str  # "tie", "match" or "team"


def device_of(alert: Alert, team: str | None = None) -> Device:
    """The device an alert updates: a team's if given, else its tie's, else its match's."""
    title = f"{alert.home} v {alert.away}"
    if team is not None:
        return Device(object_id("team", team), team, "team")
    if alert.tie:
        return Device(object_id("tie", alert.tie), title, "tie")
    return Device(object_id("match", alert.match), title, "match")


def _device_block(device: Device) -> dict[str, Any]:
    return {
        "identifiers": [f"match_notifier_{device.obj}"],
        "name": device.name,
        "manufacturer": MANUFACTURER,
        "model": device.model,
    }


def _common(device: Device, topics: Topics, entity: str) -> dict[str, Any]:
    return {
        "unique_id": f"match_notifier_{device.obj}_{entity}",
        "object_id": f"{device.obj}_{entity}",
        "availability": [{"topic": topics.status}],
        "device": _device_block(device),
        "qos": 1,
    }


def discovery(device: Device, topics: Topics) -> list[tuple[str, dict[str, Any]]]:
    """(topic, payload) of every discovery config of a device: its sensors and event entity."""
    out: list[tuple[str, dict[str, Any]]] = []
    for f in FIELDS:
        payload = {
            **_common(device, topics, f.key),
            "name": f.name,
            "icon": f.icon,
            "state_topic": topics.state(device.obj),
            "value_template": "{{ value_json." + f.key + " | default(None) }}",
        }
        if f.device_class is not None:
            payload["device_class"] = f.device_class
        if f.key == "score":  # the whole state as attributes of the score sensor
            payload["json_attributes_topic"] = topics.state(device.obj)
        out.append((topics.config("sensor", device.obj, f.key), payload))
    event = {
        **_common(device, topics, "alert"),
        "name": "Alert",
        "icon": "mdi:soccer",
        "state_topic": topics.event(device.obj),
        "event_types": list(EVENT_TYPES),
    }
    out.append((topics.config("event", device.obj, "alert"), event))
    return out


def _score(alert: Alert) -> str:
    s = f"{alert.home} {alert.score.home}-{alert.score.away} {alert.away}"
    if alert.shootout is not None:
        s += f" ({alert.shootout.home}-{alert.shootout.away} pens)"
    return s


def _aggregate(alert: Alert) -> str | None:
    agg = alert.aggregate
    if not agg:
        return None
    return f"{alert.home} {agg.get(alert.home, 0)}-{agg.get(alert.away, 0)} {alert.away}"


def _minute(alert: Alert) -> str | None:
    if alert.minute is None:
        return None
    return f"{alert.minute}+{alert.added}'" if alert.added else f"{alert.minute}'"


def state(alert: Alert, kickoff: datetime | None = None) -> dict[str, Any]:
    """The device's state after this alert (every sensor reads one key of it); ``kickoff``, the
    match's from the feed, is the next kick-off while the match has not started."""
    upcoming = kickoff is not None and alert.status == MatchStatus.SCHEDULED
    return {
        "score": _score(alert),
        "home": alert.home,
        "away": alert.away,
        "home_goals": alert.score.home,
        "away_goals": alert.score.away,
        "aggregate": _aggregate(alert),
        "phase": alert.status.value,
        "minute": _minute(alert),
        "leader": alert.leader,
        "needs": alert.needs,
        "next_kickoff": kickoff.isoformat() if upcoming and kickoff else None,
        "match": alert.match,
        "tie": alert.tie,
        "competition": alert.competition,
        "last_alert": alert.kind,
        "text": alert.text,
        "updated_at": alert.emitted_at.isoformat(),
    }


def event(alert: Alert) -> dict[str, Any] | None:
    """The event entity's payload for this alert, or None if its kind is not an event type."""
    if alert.kind not in EVENT_TYPES:
        return None
    fields = {k: v for k, v in alert.data.items() if isinstance(v, str | int | float | bool)}
    for k, v in alert.data.items():
        if isinstance(v, dict):  # a goal's or card's details, flattened one level
            fields.update({f"{k}_{kk}": vv for kk, vv in v.items() if vv is not None})
    return {
        "event_type": alert.kind,
        **fields,
        "text": alert.text,
        "score": _score(alert),
        "aggregate": _aggregate(alert),
        "minute": _minute(alert),
        "match": alert.match,
        "tie": alert.tie,
        "alert_id": alert.id,
    }
