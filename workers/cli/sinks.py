"""Sinks of this process: the console (one line per alert, text or JSON), and an MQTT broker
for Home Assistant."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import TextIO

import redis.asyncio as aioredis

from notifier.bus import keys
from notifier.channels import hass
from notifier.channels.mqtt import MqttLink, broker_from
from notifier.domain.alerts import Alert
from notifier.domain.models import MatchSnapshot, MatchStatus
from notifier.domain.texts import localised
from notifier.settings import Settings


class ConsoleSink:
    """Prints every alert: its text, or its JSON object (``--json``), one line each."""

    name = "console"

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        as_json: bool = False,
        delay_s: int = 0,
        lang: str = "en",
        names: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.as_json = as_json
        self.delay_s = delay_s  # spoiler delay: the dispatcher holds alerts back this long
        self.lang = lang
        self.names = names

    def wants(self, alert: Alert) -> bool:
        """The console follows everything."""
        return True

    async def deliver(self, alert: Alert) -> None:
        """Print one line and flush, so a pipe sees it at once."""
        alert = localised(alert, self.lang, self.names)
        line = json.dumps(alert.public(), ensure_ascii=False) if self.as_json else alert.text
        self.out.write(line + "\n")
        self.out.flush()


class MqttSink:
    """Publishes every alert to a broker as Home Assistant discovery, state and events
    (``[mqtt]`` for ``notifier run``, ``--mqtt`` for ``replay`` and ``demo``): one device per
    tie, or per match outside a tie. A failed publish raises: the alert is tried again."""

    name = "mqtt"

    def __init__(
        self, link: MqttLink, r: aioredis.Redis | None = None, partitions: int = 1
    ) -> None:
        self.link = link
        self.r = r  # where the match's snapshot (its kick-off time) is read
        self.partitions = partitions

    def wants(self, alert: Alert) -> bool:
        """Home Assistant follows everything this process sees."""
        return True

    async def deliver(self, alert: Alert) -> None:
        """Publish (discovery first, then retained state, event and alert JSON)."""
        kickoff = await self.kickoff(alert)
        await self.link.publish_alert(alert, [hass.device_of(alert)], kickoff)

    async def kickoff(self, alert: Alert) -> datetime | None:
        """The match's kick-off time from its last snapshot, while it has not started."""
        if self.r is None or alert.status != MatchStatus.SCHEDULED:
            return None
        p = keys.partition_of(alert.tie or alert.match, self.partitions)
        raw = await self.r.get(keys.snapshot(p, alert.match))
        return MatchSnapshot.model_validate_json(raw).kickoff if raw else None


async def open_mqtt_sink(
    settings: Settings,
    stack: contextlib.AsyncExitStack,
    url: str | None = None,
    r: aioredis.Redis | None = None,
) -> MqttSink | None:
    """The MQTT sink of ``[mqtt]`` (or of ``url``), connecting now; None when neither is set."""
    if url is None and settings.mqtt.url is None:
        return None
    link = MqttLink(broker_from(settings.mqtt, url), timeout=settings.mqtt.timeout_s)
    link.start()
    stack.push_async_callback(link.close)
    return MqttSink(link, r, settings.streams.partitions)
