"""A replayed tie in Home Assistant, on a phone and in an inbox, all at once.

The scripted second leg (notifier/data/scenarios/atalanta-dortmund-2nd-leg.json) is replayed once
through the whole pipeline with ``--mqtt`` (``ReplayOptions.mqtt``) to a private Mosquitto, and
with a Web Push subscription (a local push service that verifies VAPID and decrypts) and two
email subscriptions (per alert, and a digest) on an aiosmtpd server. A subscriber connected
meanwhile sees the MQTT events; one connected afterwards, as Home Assistant starting would, sees
the retained discovery configs and state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import orjson
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels import hass
from notifier.channels.subscriptions import DEFAULT_KINDS, Subscription, SubscriptionSpec
from notifier.domain.alerts import Alert
from notifier.domain.texts import localised
from notifier.settings import EmailSettings
from tests.e2e.helpers import Collect
from tests.integration.deliver.test_delivery_support import settings_for
from tests.mosquitto import Broker, running_broker, watching
from tests.pushservice import PushService, push_service
from tests.smtpserver import smtp_server
from tests.unit.channels.test_hass import check_config
from workers.cli.commands import demo_options, replay

pytestmark = pytest.mark.e2e
SPEED = 600.0
TIE = "replay:api-football:900001"  # the demo's tie (its second leg's match key)
TOPICS = hass.Topics()


@dataclass
class Replayed:
    broker: Broker
    alerts: list[Alert]
    live: list[tuple[str, bytes, bool]]  # what a subscriber saw during the replay
    pushes: PushService
    mails: list[EmailMessage]


async def subscribe(r: Redis, push: PushService) -> None:
    """A phone following Dortmund, an inbox following the tie, another one as a digest."""
    keys = push.subscription("phone")["keys"]
    webpush = {"url": f"{push.url}/push/phone", "options": keys | {"lang": "it"}}
    email = {"url": "mailto:fan@example.org", "ties": [TIE]}
    store, now = SubscriptionStore(r), datetime.now(UTC)
    for n, spec in enumerate(
        [
            {"channel": "webpush", "teams": ["Borussia Dortmund"], "lang": "it", **webpush},
            {"channel": "email", **email},
            {
                "channel": "email",
                **email,
                "url": "mailto:digest@example.org",
                "options": {"digest": True},
            },
        ]
    ):
        sub = Subscription(
            id=f"sub_{n:020d}",
            owner="fan",
            spec=SubscriptionSpec.model_validate(spec),
            created_at=now,
            updated_at=now,
        )
        await store.create(sub)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def replayed(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Replayed]:
    client = Redis.from_url(redis_url)
    await client.flushall()  # no delivery marks of an earlier replay
    with (
        running_broker(tmp_path_factory.mktemp("mosquitto")) as broker,
        smtp_server(tmp_path_factory.mktemp("smtp")) as smtp,
    ):
        async with push_service() as push:
            await subscribe(client, push)
            sink = Collect()
            email = EmailSettings(**smtp.settings("starttls"))
            settings = settings_for(redis_url).model_copy(update={"email": email})
            opts = dataclasses.replace(demo_options(SPEED, as_json=True), mqtt=broker.url)
            async with watching(broker.port, f"{TOPICS.base}/#") as live:
                await replay(settings, opts, sinks=[sink])
                # The link's last word is "offline", after every alert (in order per client):
                # once it is here, so is everything the replay published.
                await live.wait(lambda: live.messages[-1][:2] == (TOPICS.status, b"offline"))
        await client.aclose()
        yield Replayed(broker, sink.alerts, live.messages, push, smtp.inbox.messages)


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
    states = [orjson.loads(p) for t, p, _ in replayed.live if t == TOPICS.state(obj)]
    assert len(states) == len(replayed.alerts)  # the state follows every change
    assert [s["phase"] for s in states[:3]] == ["scheduled", "scheduled", "first_half"]
    # The feed's kick-off time (the replay serves the scenario's own date) until kick-off.
    kickoff = datetime.fromisoformat(states[0]["next_kickoff"])
    assert kickoff.tzinfo is not None and states[2]["next_kickoff"] is None


def subscribed(replayed: Replayed) -> list[Alert]:
    """The alerts a subscription with the default kinds gets (not yellow cards, not status)."""
    return [a for a in replayed.alerts if a.kind in DEFAULT_KINDS]


async def test_a_decrypted_push_per_alert_in_italian(replayed: Replayed) -> None:
    assert not replayed.pushes.refused  # every VAPID signature verified
    got = [r.message for r in replayed.pushes.received]
    wanted = subscribed(replayed)
    assert [m["id"] for m in got] == [a.id for a in wanted]  # once each, in order
    assert [m["body"] for m in got] == [localised(a, "it").text for a in wanted]
    assert "Rigori" in got[-2]["body"]  # Italian, not the English of the stored alert
    assert {m["lang"] for m in got} == {"it"} and got[-1]["url"] == f"/ties/{TIE}"


async def test_mails_per_alert_and_one_digest(replayed: Replayed) -> None:
    each = [m for m in replayed.mails if m["To"] == "fan@example.org"]
    [digest] = [m for m in replayed.mails if m["To"] == "digest@example.org"]
    assert [m.get_content().strip() for m in each] == [a.text for a in subscribed(replayed)]
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in replayed.mails)
    assert digest.get_content().replace("\r\n", "\n").strip().split("\n\n") == [
        a.text for a in subscribed(replayed)
    ]
