"""MQTT: alerts published to a broker as Home Assistant discovery, state and events (aiomqtt).

One :class:`MqttLink` per broker keeps a connection open in the background: it connects with a
Last Will (``<base>/status`` = ``offline``, retained), says ``online`` once connected, and, on
every (re)connect and whenever Home Assistant announces itself on ``<prefix>/status``, publishes
again the discovery configs and the last state of every device it has published: so a restart
of the broker (or of Home Assistant) is followed by the right retained state at once; a restart
of the notifier leaves the retained state on the broker until the next alert replaces it.
Replicas publishing to one broker share the status topic: each says ``online`` again when it
sees ``offline`` (another's Last Will), so the status is offline only once none is left.
Publishes are QoS 1 and awaited (the broker has the message when ``publish_alert`` returns);
a broker that cannot be reached within the timeout is a retryable :class:`ChannelError`.

:class:`MqttChannel` is the subscription channel (``mqtt://`` or ``mqtts://`` targets, checked
against the SSRF rules of every target: a plain connection goes to the address that was checked;
TLS connects by name for the certificate's sake, after the same check). Needs the ``mqtt`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import os
import secrets
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from yarl import URL

from notifier.bus.connect import cancel
from notifier.channels import hass
from notifier.channels.base import Delivered, Target
from notifier.channels.ratelimit import SYSTEM_CLOCK, Clock
from notifier.domain.alerts import Alert
from notifier.errors import ChannelError
from notifier.net import AddressPolicy, parse_ip_literal
from notifier.settings import MqttSettings

log = logging.getLogger("notifier.mqtt")
SCHEMES = {"mqtt": (False, 1883), "mqtts": (True, 8883)}
MAX_DEVICES = 1000  # devices a link republishes after a reconnect (the most recent)
MAX_LINKS = 256  # brokers the subscription channel keeps a connection to
BACKOFF_MAX_S = 30.0
Resolver = Callable[[str], Awaitable[str]]  # host -> the address to connect to (or raise)


@dataclass(frozen=True)
class Broker:
    """How to reach one broker and where to publish on it."""

    host: str
    port: int = 1883
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    topics: hass.Topics = field(default_factory=hass.Topics)
    keepalive: int = 30


def parse_url(url: str) -> tuple[bool, str, int, str | None, str | None]:
    """(tls, host, port, user, password) of ``mqtt://[user:pass@]host[:port]`` (or ``mqtts``);
    ValueError (never echoing the URL: it may hold a password) if it is not one."""
    try:
        parsed = URL(url)
    except ValueError:
        raise ValueError("not a URL (mqtt://host:port)") from None
    if parsed.scheme not in SCHEMES:
        raise ValueError("the broker URL must be mqtt://host:port or mqtts://host:port")
    if not parsed.host or parsed.path not in ("", "/") or parsed.query_string:
        raise ValueError("the broker URL must be mqtt://host:port, with no path or query")
    tls, default_port = SCHEMES[parsed.scheme]
    return tls, parsed.host, parsed.port or default_port, parsed.user, parsed.password


def broker_from(settings: MqttSettings, url: str | None = None) -> Broker:
    """The broker of the ``[mqtt]`` settings (``url`` overrides theirs, as ``--mqtt`` does)."""
    url = url or settings.url
    if url is None:
        raise ValueError("mqtt.url: no broker configured")
    tls, host, port, user, password = parse_url(url)
    secret = settings.password.get_secret_value() if settings.password else None
    return Broker(
        host=host,
        port=port,
        tls=tls or settings.tls,
        username=settings.username or user,
        password=secret or password,
        ca_file=str(settings.ca_file) if settings.ca_file else None,
        topics=hass.Topics(prefix=settings.discovery_prefix, base=settings.base_topic),
        keepalive=settings.keepalive_s,
    )


def policy_resolver(policy: AddressPolicy, timeout_s: float) -> Resolver:
    """A resolver that allows a broker only at addresses the SSRF rules allow (ValueError)."""

    async def resolve(host: str) -> str:
        ip = parse_ip_literal(host)
        if ip is not None:
            if not policy.allows(ip):
                raise ValueError(f"host {host!r} is not a public address")
            return str(ip)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout_s):
                infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError):
            raise ValueError(f"host {host!r} does not resolve") from None
        addresses = [ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos]
        refused = [str(a) for a in addresses if not policy.allows(a)]
        if refused:
            raise ValueError(f"host {host!r} resolves to a non-public address ({refused[0]})")
        if not addresses:
            raise ValueError(f"host {host!r} does not resolve")
        return str(addresses[0])

    return resolve


def _tls_context(broker: Broker) -> ssl.SSLContext | None:
    if not broker.tls:
        return None
    return ssl.create_default_context(cafile=broker.ca_file)


class MqttLink:
    """One broker connection, kept up in the background; publishes alerts for devices."""

    def __init__(
        self, broker: Broker, *, timeout: float = 10.0, resolve: Resolver | None = None
    ) -> None:
        self.broker = broker
        self.timeout = timeout
        self._resolve = resolve
        self._client: Any = None  # the connected aiomqtt.Client, or None
        self._connected = asyncio.Event()
        self._lock = asyncio.Lock()  # one alert's messages at a time: in order
        self._devices: dict[str, tuple[hass.Device, dict[str, Any]]] = {}
        self._announced: set[str] = set()  # devices whose discovery this connection has sent
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.error = "not connected yet"
        self.connects = 0  # connections made (a test and the log read it)

    def start(self) -> None:
        """Start connecting (and reconnecting) in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mqtt-link")

    async def close(self) -> None:
        """Say ``offline`` (a clean exit sends no Last Will) and disconnect."""
        self._closed = True
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                await client.publish(self.broker.topics.status, hass.OFFLINE, qos=1, retain=True)
        if self._task is not None:
            await cancel(self._task)

    async def _run(self) -> None:
        import aiomqtt

        failures = 0
        while not self._closed:
            try:
                await self._session(aiomqtt)
                failures = 0
            except (aiomqtt.MqttError, OSError, ValueError) as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                if failures == 0:
                    log.warning(
                        "mqtt_disconnected", extra={"host": self.broker.host, "error": self.error}
                    )
                failures += 1
            finally:
                self._client = None
                self._connected.clear()
            await asyncio.sleep(min(BACKOFF_MAX_S, 0.2 * 2 ** min(failures, 8)))

    async def _session(self, aiomqtt: Any) -> None:
        b = self.broker
        host = await self._resolve(b.host) if self._resolve and not b.tls else b.host
        will = aiomqtt.Will(b.topics.status, hass.OFFLINE, qos=1, retain=True)
        client = aiomqtt.Client(
            host,
            b.port,
            username=b.username,
            password=b.password,
            identifier=f"match-notifier-{os.getpid()}-{secrets.token_hex(4)}",
            will=will,
            keepalive=b.keepalive,
            timeout=self.timeout,
            tls_context=_tls_context(b),
        )
        async with client:
            await client.publish(b.topics.status, hass.ONLINE, qos=1, retain=True)
            await client.subscribe(b.topics.ha_status, qos=1)
            await client.subscribe(b.topics.status, qos=1)
            async with self._lock:
                self._announced.clear()
                await self._republish(client)
                self._client = client
                self.connects += 1
                self._connected.set()
            log.info("mqtt_connected", extra={"host": b.host, "port": b.port})
            async for message in client.messages:
                await self._on_message(client, str(message.topic), message.payload)

    async def _on_message(self, client: Any, topic: str, payload: Any) -> None:
        topics = self.broker.topics
        if topic == topics.ha_status and payload == hass.ONLINE.encode():  # HA (re)started
            async with self._lock:
                self._announced.clear()
                await self._republish(client)
        elif topic == topics.status and payload == hass.OFFLINE.encode() and not self._closed:
            # Another replica's Last Will (or its clean exit): this one is still up.
            await client.publish(topics.status, hass.ONLINE, qos=1, retain=True)

    async def _republish(self, client: Any) -> None:
        """Discovery and last state of every known device (retained)."""
        for device, state in list(self._devices.values()):
            await self._announce(client, device)
            await self._put(client, self.broker.topics.state(device.obj), state, retain=True)

    async def _announce(self, client: Any, device: hass.Device) -> None:
        if device.obj in self._announced:
            return
        for topic, payload in hass.discovery(device, self.broker.topics):
            await self._put(client, topic, payload, retain=True)
        self._announced.add(device.obj)

    async def _put(self, client: Any, topic: str, payload: Any, *, retain: bool) -> None:
        body = orjson.dumps(payload)
        await client.publish(topic, body, qos=1, retain=retain, timeout=self.timeout)

    async def publish_alert(
        self, alert: Alert, devices: list[hass.Device], kickoff: datetime | None = None
    ) -> None:
        """Discovery (first time per connection), retained state, event, alert JSON, in order.

        ChannelError (retryable) if the broker is not reached within the timeout."""
        import aiomqtt

        self.start()
        try:
            async with asyncio.timeout(self.timeout):
                await self._connected.wait()
        except TimeoutError:
            raise ChannelError(f"mqtt: broker not reachable ({self.error})") from None
        async with self._lock:
            client = self._client
            if client is None:
                raise ChannelError(f"mqtt: connection lost ({self.error})")
            try:
                for device in devices:
                    await self._publish_one(client, alert, device, kickoff)
            except aiomqtt.MqttError as exc:
                raise ChannelError(f"mqtt: {type(exc).__name__}: {exc}") from None

    async def _publish_one(
        self, client: Any, alert: Alert, device: hass.Device, kickoff: datetime | None
    ) -> None:
        topics = self.broker.topics
        state = hass.state(alert, kickoff)
        await self._announce(client, device)
        await self._put(client, topics.state(device.obj), state, retain=True)
        self._remember(device, state)
        event = hass.event(alert)
        if event is not None:
            await self._put(client, topics.event(device.obj), event, retain=False)
        await self._put(client, topics.alert(device.obj), alert.public(), retain=False)

    def _remember(self, device: hass.Device, state: dict[str, Any]) -> None:
        self._devices.pop(device.obj, None)  # most recent last
        self._devices[device.obj] = (device, state)
        if len(self._devices) > MAX_DEVICES:
            del self._devices[next(iter(self._devices))]


def devices_for(alert: Alert, target: Target) -> list[hass.Device]:
    """The device(s) a subscription's alert updates: its tie's or match's, and with the option
    ``team`` (a followed team playing in it), that team's device too."""
    devices = [hass.device_of(alert)]
    team = target.options.get("team")
    if isinstance(team, str) and team.casefold() in (alert.home.casefold(), alert.away.casefold()):
        devices.append(hass.device_of(alert, team=team))
    return devices


class MqttChannel:
    """Subscriptions whose target is a broker: ``url`` mqtt(s)://host:port, ``secret`` the
    password, options ``username``, ``base_topic``, ``discovery_prefix``, ``team``."""

    name = "mqtt"

    def __init__(
        self,
        *,
        resolve: Resolver,
        allow_plain: bool = False,
        timeout: float = 10.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._resolve = resolve
        self._allow_plain = allow_plain  # mqtt:// without TLS (delivery.allow_http)
        self._timeout = timeout
        self._clock = clock
        self._links: dict[str, MqttLink] = {}
        self._closing: set[asyncio.Task[None]] = set()  # evicted links saying goodbye

    def broker(self, target: Target) -> Broker:
        """The broker of a target; ChannelError (permanent) if the target is malformed."""
        try:
            tls, host, port, user, password = parse_url(target.url)
        except ValueError as exc:
            raise ChannelError(f"mqtt target refused: {exc}", permanent=True) from None
        if not tls and not self._allow_plain:
            msg = "mqtt target refused: mqtts:// is required (plain mqtt needs allow_http)"
            raise ChannelError(msg, permanent=True)
        o = target.options
        topics = hass.Topics(
            prefix=str(o.get("discovery_prefix", "homeassistant")),
            base=str(o.get("base_topic", "match-notifier")),
        )
        username = o.get("username", user)
        return Broker(
            host=host,
            port=port,
            tls=tls,
            username=str(username) if username is not None else None,
            password=target.secret_value() or password,
            topics=topics,
        )

    def _link(self, broker: Broker) -> MqttLink:
        key = hashlib.sha256(repr((broker, broker.password)).encode()).hexdigest()
        link = self._links.get(key)
        if link is None:
            if len(self._links) >= MAX_LINKS:
                oldest = self._links.pop(next(iter(self._links)))
                task = asyncio.get_running_loop().create_task(oldest.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
            link = self._links[key] = MqttLink(broker, timeout=self._timeout, resolve=self._resolve)
        return link

    async def send(self, alert: Alert, target: Target, *, idempotency_key: str) -> Delivered:
        """Publish one alert to the target's broker (connecting first if need be)."""
        broker = self.broker(target)
        try:  # checked here too, so a refused broker is a dead letter, not retried
            await self._resolve(broker.host)
        except ValueError as exc:
            raise ChannelError(f"mqtt target refused: {exc}", permanent=True) from None
        link = self._link(broker)
        await link.publish_alert(alert, devices_for(alert, target))
        return Delivered(channel=self.name, status=None, delivered_at=self._clock.now())

    async def close(self) -> None:
        """Close every broker connection (each says offline)."""
        links, self._links = list(self._links.values()), {}
        for link in links:
            await link.close()
