"""The MQTT link and channel on a private Mosquitto: restarts, the Last Will, auth and SSRF."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from redis.asyncio import Redis

from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels import hass
from notifier.channels.base import Target
from notifier.channels.mqtt import Broker, MqttChannel, MqttLink, policy_resolver
from notifier.errors import ChannelError
from notifier.net import AddressPolicy
from tests.integration.api.test_api import A, serving
from tests.integration.deliver.test_delivery_support import (
    dispatching,
    eventually,
    make_alert,
    publish,
    settings_for,
    subscribe,
)
from tests.mosquitto import Broker as Mosquitto
from tests.mosquitto import Watcher, running_broker, watching
from tests.security.test_redis_auth_tls import make_certs
from tests.unit.channels.test_hass import alert

ROOT = Path(__file__).resolve().parents[3]
TOPICS = hass.Topics()
OBJ = hass.device_of(alert()).obj
LOOPBACK = AddressPolicy.of(["127.0.0.0/8"])

# A publisher in its own process: publishes one alert, says so, then waits to be killed.
PUBLISHER = """
import asyncio, sys
from notifier.channels.mqtt import Broker, MqttLink
from notifier.channels import hass
from tests.security.test_redis_auth_tls import make_certs
from tests.unit.channels.test_hass import alert

async def main() -> None:
    link = MqttLink(Broker("127.0.0.1", int(sys.argv[1]), keepalive=5), timeout=5)
    await link.publish_alert(alert(), [hass.device_of(alert())])
    print("published", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    with running_broker(tmp_path_factory.mktemp("mosquitto")) as b:
        yield b


async def test_state_is_back_right_after_a_broker_restart(broker: Mosquitto) -> None:
    link = MqttLink(Broker("127.0.0.1", broker.port), timeout=5)
    try:
        await link.publish_alert(alert(), [hass.device_of(alert())])
        broker.stop()  # persistence off: every retained message is gone with it
        broker.start()
        async with watching(broker.port, f"{TOPICS.base}/#", f"{TOPICS.prefix}/#") as w:
            await w.wait(lambda: TOPICS.state(OBJ) in w.retained and len(w.retained) >= 10)
            assert w.json(TOPICS.state(OBJ))["score"] == "Atalanta 1-0 Dortmund"
            assert w.retained[TOPICS.status] == b"online"
            assert TOPICS.config("event", OBJ, "alert") in w.retained
        assert link.connects == 2
    finally:
        await link.close()


async def test_discovery_again_when_home_assistant_comes_online(broker: Mosquitto) -> None:
    link = MqttLink(Broker("127.0.0.1", broker.port), timeout=5)
    try:
        await link.publish_alert(alert(), [hass.device_of(alert())])
        config = TOPICS.config("sensor", OBJ, "score")
        async with watching(broker.port, config) as w:
            await w.wait(lambda: len(w.messages) == 1)  # the retained copy
            import aiomqtt

            async with aiomqtt.Client("127.0.0.1", broker.port) as ha:
                await ha.publish(TOPICS.ha_status, "online")  # HA's birth message
            await w.wait(lambda: len(w.messages) == 2)  # published again
    finally:
        await link.close()


async def _publisher(port: int) -> asyncio.subprocess.Process:
    """A notifier-like process that has published one alert (and so said online)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PUBLISHER,
        str(port),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    async with asyncio.timeout(20):
        assert (await proc.stdout.readline()).strip() == b"published"
    return proc


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """kill -9: no clean disconnect, so the broker publishes the Last Will."""
    proc.send_signal(signal.SIGKILL)
    await proc.wait()


def _statuses(w: Watcher) -> list[bytes]:
    return [p for _, p, _ in w.messages]


async def test_availability_follows_the_last_will(broker: Mosquitto) -> None:
    """Offline when the publisher is killed; online again while another replica is up (it
    answers the Last Will); offline once the last one stops."""
    async with watching(broker.port, TOPICS.status) as w:
        first = await _publisher(broker.port)
        await w.wait(lambda: _statuses(w)[-1:] == [b"online"])
        await _kill(first)
        await w.wait(lambda: _statuses(w)[-1:] == [b"offline"])
        survivor = MqttLink(Broker("127.0.0.1", broker.port), timeout=5)
        try:
            await survivor.publish_alert(alert(), [hass.device_of(alert())])
            await w.wait(lambda: _statuses(w)[-1:] == [b"online"])
            second = await _publisher(broker.port)
            seen = len(w.messages)
            await _kill(second)
            await w.wait(lambda: _statuses(w)[seen:][-2:] == [b"offline", b"online"])
        finally:
            await survivor.close()
        await w.wait(lambda: _statuses(w)[-1:] == [b"offline"])


async def test_a_subscription_channel_with_credentials(tmp_path: Path) -> None:
    with running_broker(tmp_path, passwords={"ha": "s3cret"}) as b:
        channel = MqttChannel(resolve=policy_resolver(LOOPBACK, 2.0), allow_plain=True, timeout=2.0)
        try:
            good = Target(
                channel="mqtt",
                url=b.url,
                secret="s3cret",
                options={"username": "ha", "base_topic": "football", "team": "Dortmund"},
            )
            await channel.send(alert(), good, idempotency_key="k")
            wrong = Target(channel="mqtt", url=b.url, secret="nope", options=good.options)
            with pytest.raises(ChannelError) as caught:
                await channel.send(alert(), wrong, idempotency_key="k")
            assert not caught.value.permanent  # retried, then dead-lettered by the engine
            assert "s3cret" not in str(caught.value) and "nope" not in str(caught.value)
        finally:
            await channel.close()


async def test_a_broker_on_a_private_address_is_refused() -> None:
    resolve = policy_resolver(AddressPolicy.of([]), 2.0)
    channel = MqttChannel(resolve=resolve, allow_plain=True, timeout=2.0)
    for url in ("mqtt://127.0.0.1:1883", "mqtt://10.1.2.3", "mqtt://localhost:1883"):
        target = Target(channel="mqtt", url=url)
        with pytest.raises(ChannelError) as caught:
            await channel.send(alert(), target, idempotency_key="k")
        assert caught.value.permanent
    with pytest.raises(ChannelError) as caught:
        await channel.send(alert(), Target(channel="mqtt", url="http://x"), idempotency_key="k")
    assert caught.value.permanent


async def test_subscriptions_get_each_alert_once_in_order_then_dead_letters(
    broker: Mosquitto, redis: Redis, redis_url: str
) -> None:
    """Through the dispatcher: the guarantees every channel has (marks, order, retries, DLQ)."""
    # The breaker stays shut over the four tries: a dead broker is tried, then parked.
    settings = settings_for(redis_url, timeout_s=0.5, breaker_failures=5)
    store = SubscriptionStore(redis)
    sub = await subscribe(store, channel="mqtt", url=broker.url, options={"base_topic": "sub"})
    topic = hass.Topics(base="sub").alert(hass.device_of(make_alert(1)).obj)
    async with dispatching(redis, settings):
        async with watching(broker.port, topic) as w:
            for n in range(1, 6):
                await publish(redis, make_alert(n))
            await w.wait(lambda: len(w.messages) >= 5)
        broker.stop()
        await publish(redis, make_alert(6))  # the broker is down: retried, then parked
        await eventually(lambda: _parked(redis), within=10)
        broker.start()
    assert [orjson.loads(p)["id"] for _, p, _ in w.messages] == [
        make_alert(n).id for n in range(1, 6)
    ]
    entries: Any = await redis.xrange("nf:dlq:delivery")
    [(_, fields)] = entries
    assert fields[b"sub"].decode() == sub.id


async def _parked(r: Redis) -> bool:
    return bool(await r.xlen("nf:dlq:delivery"))


async def test_tls_with_the_brokers_ca(tmp_path: Path) -> None:
    certs = make_certs(tmp_path)
    with running_broker(tmp_path, certs=certs) as b:
        link = MqttLink(Broker("127.0.0.1", b.port, tls=True, ca_file=str(certs[0])), timeout=5)
        try:
            await link.publish_alert(alert(), [hass.device_of(alert())])
        finally:
            await link.close()
        untrusted = MqttLink(Broker("127.0.0.1", b.port, tls=True), timeout=1)  # system CAs
        with pytest.raises(ChannelError, match="not reachable"):
            await untrusted.publish_alert(alert(), [hass.device_of(alert())])
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.error
        await untrusted.close()


async def test_plain_mqtt_needs_allow_http(broker: Mosquitto) -> None:
    """Like https for webhooks: credentials and alerts go in clear over mqtt://."""
    channel = MqttChannel(resolve=policy_resolver(LOOPBACK, 2.0), timeout=2.0)
    with pytest.raises(ChannelError, match="mqtts:// is required") as caught:
        await channel.send(alert(), Target(channel="mqtt", url=broker.url), idempotency_key="k")
    assert caught.value.permanent


async def test_the_api_refuses_plain_or_private_brokers(redis: Redis, redis_url: str) -> None:
    body = {"channel": "mqtt", "url": "mqtt://127.0.0.1:1883", "teams": ["Dortmund"]}
    cases = [
        (settings_for(redis_url, allow_http=False), "mqtts:// broker is required"),
        (settings_for(redis_url, allow_networks=[]), "not a public address"),
    ]
    for settings, why in cases:
        async with (
            serving(settings, redis) as (base, _),
            aiohttp.ClientSession(base, headers=A) as http,
            http.post("/v1/subscriptions", json=body) as resp,
        ):
            problem = await resp.json()
        assert resp.status == 403 and problem["errors"][0]["field"] == "url"  # policy: 403
        assert why in problem["detail"]
