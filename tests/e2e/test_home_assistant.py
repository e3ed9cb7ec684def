"""A replayed tie as Home Assistant sees it on a real Mosquitto: discovery, state, events.

The scripted second leg (config/scenarios/atalanta-dortmund-2nd-leg.json) is replayed once
through the whole pipeline with ``--mqtt`` (``ReplayOptions.mqtt``); a subscriber connected
meanwhile sees the events, and one connected afterwards, as Home Assistant starting would, sees
the retained discovery configs and state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from notifier.alerts import Alert
from notifier.channels import hass
from notifier.settings import Settings
from tests.e2e.helpers import Collect
from tests.mosquitto import Broker, running_broker, watching
from tests.unit.test_hass import check_config
from workers.commands import demo_options, replay

pytestmark = pytest.mark.e2e
SPEED = 600.0
TOPICS = hass.Topics()


@dataclass
class Replayed:
    broker: Broker
    alerts: list[Alert]
    live: list[tuple[str, bytes, bool]]  # what a subscriber saw during the replay


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def replayed(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Replayed]:
    client = Redis.from_url(redis_url)
    await client.flushall()  # no delivery marks of an earlier replay
    await client.aclose()
    with running_broker(tmp_path_factory.mktemp("mosquitto")) as broker:
        sink = Collect()
        settings = Settings.load(None, redis_url=redis_url)
        opts = demo_options(SPEED, as_json=True)
        opts = dataclasses.replace(opts, mqtt=broker.url)
        async with watching(broker.port, f"{TOPICS.base}/#") as live:
            await replay(settings, opts, sinks=[sink])
        yield Replayed(broker, sink.alerts, live.messages)


async def retained(broker: Broker) -> dict[str, Any]:
    """What Home Assistant reads when it starts: every retained message, decoded."""
    async with watching(broker.port, f"{TOPICS.prefix}/#", f"{TOPICS.base}/#") as w:
        # one device: its sensors' and event's configs, its state, and the notifier's status
        await w.wait(lambda: len(w.retained) >= len(hass.FIELDS) + 3)
        return {t: w.json(t) if t != TOPICS.status else p.decode() for t, p in w.retained.items()}


async def test_the_tie_is_a_device_whose_sensors_end_on_the_result(replayed: Replayed) -> None:
    seen = await retained(replayed.broker)
    configs = {t: p for t, p in seen.items() if t.endswith("/config")}
    assert len(configs) == len(hass.FIELDS) + 1  # one device: the tie
    for topic, payload in configs.items():
        check_config(topic, payload, TOPICS)
    obj = hass.device_of(replayed.alerts[-1]).obj
    assert obj.startswith("tie_replay_")
    state = seen[TOPICS.state(obj)]
    assert state["score"] == "Atalanta 2-0 Dortmund (5-4 pens)"
    assert state["aggregate"] == "Atalanta 2-2 Dortmund"
    assert (state["phase"], state["leader"], state["last_alert"]) == (
        "finished",
        "Atalanta",
        "result",
    )
    assert seen[TOPICS.status] == hass.OFFLINE  # the replay is over: the notifier said so


async def test_the_event_entity_fires_goals_cancellations_red_cards_and_the_result(
    replayed: Replayed,
) -> None:
    obj = hass.device_of(replayed.alerts[-1]).obj
    events = [orjson.loads(p) for t, p, _ in replayed.live if t == TOPICS.event(obj)]
    expected = [a for a in replayed.alerts if a.kind in hass.EVENT_TYPES]
    assert [e["event_type"] for e in events] == [a.kind for a in expected]
    assert [e["event_type"] for e in events] == [
        "goal", "goal", "goal_cancelled", "red_card", "goal", "goal", "goal_cancelled", "result"
    ]  # fmt: skip
    first = events[0]
    assert (first["goal_player"], first["goal_minute"], first["side"]) == ("Scamacca", 23, "home")
    assert events[3]["player"] == "Kossounou"
    assert (events[-1]["winner"], events[-1]["how"]) == ("home", "penalties")


async def test_every_alert_on_the_plain_json_topic_once_in_order(replayed: Replayed) -> None:
    obj = hass.device_of(replayed.alerts[-1]).obj
    ids = [orjson.loads(p)["id"] for t, p, _ in replayed.live if t == TOPICS.alert(obj)]
    assert ids == [a.id for a in replayed.alerts]
    states = [t for t, _, _ in replayed.live if t == TOPICS.state(obj)]
    assert len(states) == len(replayed.alerts)  # the state follows every change
