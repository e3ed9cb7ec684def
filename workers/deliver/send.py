"""One delivery: a subscription's channel sends an alert within the concurrency bounds.

Bounds: at most ``delivery.concurrency`` sends at once in all, and ``delivery.per_host`` to one
destination host, so a slow host holds only its own slots. A send's result is classified once
here (delivered, retry, dead, gone); the dispatcher decides what each means for the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from notifier.channels.apprise import AppriseChannel, apprise_installed
from notifier.channels.base import Channel, ChannelError, Target
from notifier.channels.discord import DiscordChannel
from notifier.channels.ntfy import NtfyChannel
from notifier.channels.slack import SlackChannel
from notifier.channels.subscriptions import Subscription
from notifier.channels.telegram import TelegramChannel
from notifier.channels.webhook import WebhookChannel
from notifier.domain.alerts import Alert
from notifier.errors import DeliveryError
from notifier.net import AddressPolicy, delivery_url, make_session
from notifier.settings import DeliverySettings, Settings

log = logging.getLogger("notifier.delivery")
Outcome = Literal["delivered", "retry", "dead", "gone"]
USER_AGENT = "match-notifier-webhooks/0.1"
TARGET_CACHE = 100_000


@dataclass(frozen=True, slots=True)
class Result:
    """How one try ended; ``counts`` is False for a wait we imposed on ourselves (rate limit)."""

    outcome: Outcome
    error: str = ""
    status: int | None = None
    retry_after: float | None = None
    counts: bool = True


DELIVERED = Result("delivered")


class StoppingError(Exception):
    """The dispatcher is stopping: this delivery was not started (nothing was sent)."""


def open_session(settings: Settings) -> aiohttp.ClientSession:
    """The SSRF-safe keep-alive session deliveries go through (call inside a running loop)."""
    d = settings.delivery
    return make_session(
        allow_networks=d.allow_networks,
        allow_http=d.allow_http,
        user_agent=USER_AGENT,
        limit=d.concurrency,
        limit_per_host=d.per_host,
        timeout=d.timeout_s,
    )


def build_channels(session: aiohttp.ClientSession, settings: Settings) -> dict[str, Channel]:
    """Every subscription channel, sharing one session, base URLs from the settings."""
    d = settings.delivery
    t, n = d.timeout_s, d.max_response_bytes
    channels: dict[str, Channel] = {
        "webhook": WebhookChannel(session, timeout=t, max_body=n),
        "slack": SlackChannel(session, d.slack_url, timeout=t, max_body=n),
        "discord": DiscordChannel(session, d.discord_url, timeout=t, max_body=n),
        "telegram": TelegramChannel(session, d.telegram_url, timeout=t, max_body=n),
        "ntfy": NtfyChannel(session, d.ntfy_url, timeout=t, max_body=n),
    }
    if apprise_installed():  # optional extra: without it, apprise subscriptions are refused
        policy = AddressPolicy.of(d.allow_networks)
        channels["apprise"] = AppriseChannel(
            policy, allow_http=d.allow_http, timeout=t, resolve_timeout=d.resolve_timeout_s
        )
    return channels


def classify(exc: DeliveryError) -> Result:
    """The result of a failed send."""
    status = exc.status if isinstance(exc, ChannelError) else None
    if isinstance(exc, ChannelError) and exc.gone:
        return Result("gone", str(exc), status)
    if exc.permanent:
        return Result("dead", str(exc), status)
    ours = status is None and exc.retry_after is not None  # our own limiter said wait
    return Result("retry", str(exc), status, exc.retry_after, counts=not ours)


class HostSlots:
    """A semaphore per destination host, dropped when nobody holds or waits for it."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._slots: dict[str, list[Any]] = {}  # host -> [semaphore, users]

    async def acquire(self, host: str) -> None:
        """Take one slot of ``host`` (release it with :meth:`release`)."""
        slot = self._slots.get(host)
        if slot is None:
            slot = self._slots[host] = [asyncio.Semaphore(self.per_host), 0]
        slot[1] += 1
        try:
            await slot[0].acquire()
        except BaseException:
            self._leave(host, slot)
            raise

    def release(self, host: str) -> None:
        """Give back a slot of ``host``."""
        slot = self._slots[host]
        slot[0].release()
        self._leave(host, slot)

    def _leave(self, host: str, slot: list[Any]) -> None:
        slot[1] -= 1
        if slot[1] <= 0:
            del self._slots[host]


class Deliverer:
    """Sends alerts through channels, bounded overall and per host."""

    def __init__(self, channels: Mapping[str, Channel], settings: DeliverySettings) -> None:
        self.channels = dict(channels)
        self.settings = settings
        self._all = asyncio.Semaphore(settings.concurrency)
        self.closing = False  # set on stop: sends not yet started are not started
        self._targets: dict[str, tuple[Subscription, Target, str]] = {}
        self._hosts = HostSlots(settings.per_host)
        self._bases = {
            "slack": settings.slack_url,
            "discord": settings.discord_url,
            "telegram": settings.telegram_url,
            "ntfy": settings.ntfy_url,
        }

    def host(self, sub: Subscription) -> str:
        """The host a subscription's deliveries go to (for the per-host bound)."""
        url = sub.spec.url if "://" in sub.spec.url else self._bases.get(sub.spec.channel, "")
        try:
            return delivery_url(url).host or sub.spec.channel
        except (TypeError, ValueError):
            return sub.spec.channel

    async def send(self, alert: Alert, sub: Subscription) -> Result:
        """Try one delivery; never raises for the target's faults (StoppingError if stopping)."""
        channel = self.channels.get(sub.spec.channel)
        if channel is None:
            return Result("dead", f"channel {sub.spec.channel!r} is not enabled here")
        target, host = self._target(sub)
        await self._hosts.acquire(host)
        try:
            async with self._all:
                if self.closing:
                    raise StoppingError
                await channel.send(alert, target, idempotency_key=idempotency_key(alert.id, sub.id))
        except DeliveryError as exc:
            return classify(exc)
        finally:
            self._hosts.release(host)
        return DELIVERED

    def _target(self, sub: Subscription) -> tuple[Target, str]:
        """The channel target and host of a subscription (kept while the record is the same)."""
        hit = self._targets.get(sub.id)
        if hit is not None and hit[0] is sub:
            return hit[1], hit[2]
        if len(self._targets) > TARGET_CACHE:
            self._targets.clear()
        target, host = sub.target(), self.host(sub)
        self._targets[sub.id] = (sub, target, host)
        return target, host


def idempotency_key(alert_id: str, sub_id: str) -> str:
    """The delivery's idempotency key (the ``webhook-id``): alert id and subscription id."""
    return f"{alert_id}|{sub_id}"
