"""Stream entries: how an event and an alert are written to their streams, next to the streams.

The fields are the contract of ``docs/architecture.md`` (Contracts): an event entry carries
``id``, ``type``, ``match``, ``tie``, ``at``, ``seen`` and its pydantic-JSON ``body``; an alert
entry ``id``, ``kind``, ``match``, ``tie``, ``home``, ``away`` and ``body``. The poller writes the
first and the aggregator reads it; the aggregator writes the second and the dispatcher, the SSE
hub and the sinks read it. Writing them here, once, keeps writer and readers on one form.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone, tzinfo
from typing import Any

import orjson
from pydantic import BaseModel
from pydantic_core import TzInfo

from notifier.domain import structs
from notifier.domain.alerts import Alert
from notifier.domain.engine import alert_model
from notifier.domain.events import Event
from notifier.domain.fold import AlertValues


def event_fields(event: Event) -> dict[str, str]:
    """A stream entry for an event: the contract fields and the pydantic-JSON body."""
    return {
        "id": event.id,
        "type": event.type,
        "match": event.match,
        "tie": event.tie or "",
        "at": event.at.isoformat(),
        "seen": event.seen.isoformat(),
        "body": event.model_dump_json(),
    }


_to_json = Alert.__pydantic_serializer__.to_json


def _fields_of(model: Any) -> dict[str, Any]:
    """A nested model (a score, a need) as its fields, for orjson (anything else: not ours)."""
    if isinstance(model, BaseModel):
        return model.__dict__
    raise TypeError(f"{type(model).__name__} is not serialised here")


_WHOLE_MINUTE_ZONES: set[tzinfo] = set()  # fixed-offset zones seen, whose offset is whole minutes


def _whole_minutes(*times: datetime) -> bool:
    """Whether every offset is whole minutes (or none): the offsets orjson and pydantic write
    alike (a seconds offset is rounded by one and not the other). A fixed-offset zone (what
    parsed JSON and ``UTC`` carry) is looked at once."""
    for at in times:
        zone = at.tzinfo
        if zone is None or zone in _WHOLE_MINUTE_ZONES:
            continue
        off = at.utcoffset()
        if off is not None and (off.seconds % 60 or off.microseconds):
            return False
        if isinstance(zone, timezone | TzInfo) and len(_WHOLE_MINUTE_ZONES) < 4096:
            _WHOLE_MINUTE_ZONES.add(zone)
    return True


def alert_json(alert: Alert) -> bytes:
    """``alert.model_dump_json()``, byte for byte, written by orjson from the alert's fields (a
    third of pydantic's serializer's time: the aggregator writes one or two per event). What
    orjson would write otherwise (an offset in seconds, a value it does not know) goes to
    pydantic's serializer; ``tests/unit/fold/test_alert_json.py`` holds the two equal."""
    if _whole_minutes(alert.occurred_at, alert.detected_at, alert.emitted_at):
        try:
            return orjson.dumps(alert.__dict__, default=_fields_of, option=orjson.OPT_UTC_Z)
        except TypeError:
            pass
    return _to_json(alert)


def alert_row(alert: Alert) -> list[str]:
    """A stream entry for an alert as XADD takes it, pairs flat: the routing fields and the
    pydantic-JSON body (the aggregator's commit passes it on as it is)."""
    return [
        "id",
        alert.id,
        "kind",
        alert.kind,
        "match",
        alert.match,
        "tie",
        alert.tie or "",
        "home",
        alert.home,
        "away",
        alert.away,
        "body",
        alert_json(alert).decode(),
    ]


def alert_fields(alert: Alert) -> dict[str, str]:
    """A stream entry for an alert: routing fields and the pydantic-JSON body."""
    row = alert_row(alert)
    return dict(zip(row[::2], row[1::2], strict=True))


def values_json(values: AlertValues) -> bytes:
    """The body of a fold's alert (:mod:`notifier.domain.fold`'s values): what
    ``alert_model(values).model_dump_json()`` writes, byte for byte, written by msgspec from the
    values (no model built); an offset in seconds goes through the model and its serializer.
    ``tests/unit/fold/test_alert_json.py`` holds the two equal."""
    if _whole_minutes(values["occurred_at"], values["detected_at"], values["emitted_at"]):
        return structs.to_json(values)
    return _to_json(alert_model(values))


def values_row(values: AlertValues) -> list[str | bytes]:
    """:func:`alert_row` of a fold's alert values (the aggregator's commit: no model built), its
    body as bytes (the commit passes it on raw: ``scripts.commit_fold_batch``)."""
    return [
        "id",
        values["id"],
        "kind",
        values["kind"],
        "match",
        values["match"],
        "tie",
        values["tie"] or "",
        "home",
        values["home"],
        "away",
        values["away"],
        "body",
        values_json(values),
    ]


def alert_rows(alerts: Sequence[AlertValues]) -> list[list[str | bytes]]:
    """The stream entries of a fold's alerts, each flat (:func:`values_row`)."""
    return [values_row(a) for a in alerts]
