"""MQTT for Home Assistant: alerts published as the sink does, against a private Mosquitto.

Every alert is published the way ``notifier run``'s MQTT sink publishes it (:class:`notifier.
channels.mqtt.MqttLink`: one alert at a time, in order; retained state, the event of an event
kind, and the alert's JSON, each QoS 1 and acknowledged by the broker before the next). The peer
is a bare aiomqtt loop publishing the same number of QoS 1 messages of the same sizes, one after
another, on its own connection: what the broker and the client library allow. A subscriber
checks every message arrived. Loopback only; skipped (pending) without ``mosquitto``.

``python -m bench mqtt_publish`` runs it alone.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

import orjson

from bench.apprise_ratio import alerts
from bench.common import Report, Result
from notifier.channels import hass
from notifier.channels.mqtt import Broker, MqttLink
from tests.mosquitto import Broker as Mosquitto
from tests.mosquitto import mosquitto_binary, watching

ALERTS = 2000
NAME = "mqtt_publish_per_second"


async def ours(port: int, count: int) -> tuple[float, int]:
    """(seconds, messages) to publish ``count`` alerts through the link."""
    batch = alerts(count)
    link = MqttLink(Broker("127.0.0.1", port), timeout=30)
    try:
        await link.publish_alert(batch[0], [hass.device_of(batch[0])])  # connect, discovery
        started = time.perf_counter()
        for alert in batch[1:]:
            await link.publish_alert(alert, [hass.device_of(alert)])
        elapsed = time.perf_counter() - started
    finally:
        await link.close()
    per_alert = 2 + (1 if hass.event(batch[0]) is not None else 0)
    return elapsed, (count - 1) * per_alert


async def bare(port: int, messages: int) -> float:
    """Seconds for a bare aiomqtt loop to publish ``messages`` QoS 1 messages in turn."""
    import aiomqtt

    alert = alerts(1)[0]
    payloads = [orjson.dumps(hass.state(alert)), orjson.dumps(alert.public())]
    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-bare") as client:
        started = time.perf_counter()
        for i in range(messages):
            await client.publish(f"bare/{i % 2}", payloads[i % 2], qos=1, retain=i % 2 == 0)
        return time.perf_counter() - started


async def run(report: Report) -> None:
    """Measure both; report our messages per second and its ratio to the bare loop."""
    binary = mosquitto_binary()
    if binary is None:
        report.pending(NAME, "mosquitto is not installed (make mosquitto)")
        return
    with tempfile.TemporaryDirectory(prefix="bench-mqtt-") as where:
        broker = Mosquitto(binary, Path(where))
        broker.start()
        try:
            # Both watched by a subscriber in this process, as both are checked.
            async with watching(broker.port, f"{hass.Topics().base}/#") as seen:
                our_s, messages = await ours(broker.port, ALERTS)
                with contextlib.suppress(TimeoutError):
                    await seen.wait(lambda: len(seen.messages) >= messages, within=30)
                got = len(seen.messages)
            async with watching(broker.port, "bare/#") as seen_bare:
                bare_s = await bare(broker.port, messages)
                with contextlib.suppress(TimeoutError):
                    await seen_bare.wait(lambda: len(seen_bare.messages) >= messages, within=30)
        finally:
            broker.stop()
    rate, bare_rate = messages / our_s, messages / bare_s
    report.add(
        Result(
            NAME,
            rate,
            "messages/s",
            f"{rate / bare_rate:.2f} of a bare aiomqtt QoS 1 loop's {bare_rate:,.0f}/s;"
            f" {(ALERTS - 1) / our_s:,.0f} alerts/s; {got} messages seen",
            {"alerts": ALERTS, "messages": messages, "bare_per_s": bare_rate},
        )
    )


if __name__ == "__main__":
    from workers.cli.main import run_async

    run_async(run(Report()))
