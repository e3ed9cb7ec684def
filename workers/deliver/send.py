"""One delivery: a subscription's channel sends an alert within the concurrency bounds.

Bounds: at most ``delivery.concurrency`` sends at once in all, and ``delivery.per_host`` to one
destination host, so a slow host holds only its own slots, shared round robin between its
subscriptions, with a slow lane and a circuit breaker per target
(:mod:`workers.deliver.fairness`). A send's result is classified once here (delivered, retry,
dead, gone); the dispatcher decides what each means for the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis

from notifier.channels.apprise import AppriseChannel, apprise_installed
from notifier.channels.base import Channel, HttpChannel, Target
from notifier.channels.deadlines import Deadlines
from notifier.channels.discord import DiscordChannel
from notifier.channels.http import DeliveryClient, route
from notifier.channels.mqtt import MqttChannel, policy_resolver
from notifier.channels.ntfy import NtfyChannel
from notifier.channels.slack import SlackChannel
from notifier.channels.subscriptions import Subscription
from notifier.channels.telegram import TelegramChannel
from notifier.channels.webhook import WebhookChannel
from notifier.domain.alerts import Alert
from notifier.domain.texts import localised
from notifier.errors import ChannelError, DeliveryError, StoppingError
from notifier.net import AddressPolicy
from notifier.settings import DeliverySettings, Settings
from workers.deliver.fairness import Breakers, FairSlots
from workers.deliver.live import LiveMessages

log = logging.getLogger("notifier.delivery")
Outcome = Literal["delivered", "retry", "dead", "gone", "unsubscribed"]
USER_AGENT = "match-notifier-webhooks/0.1"
TARGET_CACHE = 100_000
LANGS_KEPT = 16  # localised alerts kept (one per language of the fan-out in progress)


@dataclass(frozen=True, slots=True)
class Result:
    """How one try ended; ``counts`` is False for a wait we imposed on ourselves (rate limit)."""

    outcome: Outcome
    error: str = ""
    status: int | None = None
    retry_after: float | None = None
    counts: bool = True


DELIVERED = Result("delivered")
# The subscription was deleted or disabled (``/unfollow``, ``/mute``) while the alert waited for
# its turn: nothing is sent. A chat limited to a message a second can hold a backlog, and
# "Stopped following" must be the last word.
UNSUBSCRIBED = Result("unsubscribed", "unsubscribed while waiting for its turn")


def open_session(settings: Settings) -> DeliveryClient:
    """The SSRF-safe keep-alive client deliveries go through (close it when done)."""
    d = settings.delivery
    return DeliveryClient(
        allow_networks=d.allow_networks,
        allow_http=d.allow_http,
        user_agent=USER_AGENT,
        limit=d.concurrency,
        limit_per_host=2 * d.per_host,  # the fast slots and the slow lane (see fairness)
    )


def build_channels(session: DeliveryClient, settings: Settings) -> dict[str, Channel]:
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
    if importlib.util.find_spec("aiomqtt") is not None:  # the ``mqtt`` extra
        resolve = policy_resolver(AddressPolicy.of(d.allow_networks), d.resolve_timeout_s)
        channels["mqtt"] = MqttChannel(resolve=resolve, allow_plain=d.allow_http, timeout=t)
    if apprise_installed():  # optional extra: without it, apprise subscriptions are refused
        policy = AddressPolicy.of(d.allow_networks)
        channels["apprise"] = AppriseChannel(
            policy, allow_http=d.allow_http, timeout=t, resolve_timeout=d.resolve_timeout_s
        )
    return channels


async def redis_channels(
    r: aioredis.Redis, session: DeliveryClient, settings: Settings
) -> dict[str, Channel]:
    """The channels that keep something in Redis: Web Push (its VAPID keys) and email (its
    digests and unsubscribe key); each only with its extra installed (and email configured)."""
    d = settings.delivery
    channels: dict[str, Channel] = {}
    if importlib.util.find_spec("pywebpush") is not None:  # the ``webpush`` extra
        from notifier.channels.webpush import WebPushChannel, load_vapid

        vapid = await load_vapid(r)
        w = settings.webpush
        channels["webpush"] = WebPushChannel(
            session,
            vapid=vapid,
            subject=w.subject,
            ttl=w.ttl_s,
            timeout=d.timeout_s,
            max_body=d.max_response_bytes,
        )
    if settings.email.host and importlib.util.find_spec("aiosmtplib") is not None:
        from notifier.channels.smtp import EmailChannel, unsubscribe_key

        if settings.email.public_url is None:  # the links in mails would point at this host
            log.warning("email_public_url_unset", extra={"setting": "email.public_url"})
        channels["email"] = EmailChannel(
            settings.email, r, key=await unsubscribe_key(r), base_url=public_api_url(settings)
        )
    return channels


def public_api_url(settings: Settings) -> str:
    """Where mail readers reach the API: ``email.public_url``, ``api.url``, or host and port."""
    api = settings.api
    return settings.email.public_url or api.url or f"http://{api.host}:{api.port}"


def classify(exc: DeliveryError) -> Result:
    """The result of a failed send."""
    status = exc.status if isinstance(exc, ChannelError) else None
    if isinstance(exc, ChannelError) and exc.gone:
        return Result("gone", str(exc), status)
    if exc.permanent:
        return Result("dead", str(exc), status)
    ours = status is None and exc.retry_after is not None  # our own limiter said wait
    return Result("retry", str(exc), status, exc.retry_after, counts=not ours)


class Deliverer:
    """Sends alerts through channels, bounded overall and per host."""

    def __init__(
        self,
        channels: Mapping[str, Channel],
        settings: DeliverySettings,
        live: LiveMessages | None = None,
        *,
        lang: str = "en",
        names: Mapping[str, Mapping[str, str]] | None = None,
        still: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self.channels = dict(channels)
        self.still = still  # whether a subscription (by id) still wants alerts, asked after a wait
        self.live = live  # the live messages of subscriptions with style "live"
        self.lang, self.names = lang, names  # texts: the subscription's language, else this
        self.settings = settings
        self._all = asyncio.Semaphore(settings.concurrency)
        self.closing = False  # set on stop: sends not yet started are not started
        self._targets: dict[str, tuple[Subscription, Target, str]] = {}
        self._texts: dict[str, tuple[Alert, Alert]] = {}  # lang -> (alert, localised): _localised
        self._hosts = FairSlots(settings.per_host)
        self._deadlines = Deadlines()  # every lane's move to the slow lane: one loop timer
        self.breakers = Breakers(settings.breaker_failures, settings.breaker_open_s)
        self._slow: set[str] = set()  # targets whose last send was slow: they use the slow lane
        self._quick: set[str] = set()  # targets whose last send was quick: all fast slots
        self._bases = {
            "slack": settings.slack_url,
            "discord": settings.discord_url,
            "telegram": settings.telegram_url,
            "ntfy": settings.ntfy_url,
        }

    def host(self, sub: Subscription, target: Target | None = None) -> str:
        """The host a subscription's deliveries go to (for the per-host bound); from its
        target's route when the URL is absolute (worked out once: the send reuses it)."""
        if target is not None and "://" in target.url and (parsed := target.routed[1]):
            return parsed.host
        url = sub.spec.url if "://" in sub.spec.url else self._bases.get(sub.spec.channel, "")
        try:
            return route(url).host
        except (TypeError, ValueError):
            return sub.spec.channel

    async def send(
        self, alert: Alert, sub: Subscription, *, more: bool = False, waited: bool = False
    ) -> Result:
        """Try one delivery; never raises for the target's faults (StoppingError if stopping).
        ``more``: another alert for the subscription comes right after (a live message then
        shows both with one edit). ``waited``: it waited for earlier alerts of the
        subscription; after any wait (that one, or the destination's rate limit) the
        subscription is asked again whether it still wants alerts."""
        channel = self.channels.get(sub.spec.channel)
        if channel is None:
            return Result("dead", f"channel {sub.spec.channel!r} is not enabled here")
        target, host = self._target(sub)
        alert = self._localised(alert, sub.spec.lang or self.lang)
        wait = self.breakers.wait(sub.id)
        if wait > 0:  # the target keeps failing: no slot, no attempt, try after the pause
            return Result("retry", "circuit open: target keeps failing", None, wait, counts=False)
        lane = await self._lane(sub.id, host)
        if lane is None:
            return Result("retry", "slow target: the host's slow lane is full", None, 5.0, False)
        started = time.monotonic()
        try:
            async with self._all:
                with lane:
                    if self.closing:
                        raise StoppingError
                    slept = (
                        await _wait_turn(channel, target) if _limited(channel, target) else False
                    )
                    if (
                        (waited or slept)
                        and self.still is not None
                        and not await self.still(sub.id)
                    ):
                        return UNSUBSCRIBED
                    key = idempotency_key(alert.id, sub.id)
                    if sub.spec.style == "live" and self.live is not None:
                        await self.live.send(alert, sub, target, channel, key, defer=more)
                    else:
                        await channel.send(alert, target, idempotency_key=key)
        except DeliveryError as exc:
            self._judge(sub.id, exc)
            return classify(exc)
        except TimeoutError:  # the slow lane was full: cut short, retried later
            self.breakers.failed(sub.id)
            self._slow.add(sub.id)
            return Result("retry", "slow target: the host's slow lane was full")
        finally:
            lane.release()
        self._note_speed(sub.id, time.monotonic() - started)
        self.breakers.succeeded(sub.id)
        return DELIVERED

    async def _lane(self, key: str, host: str) -> _Lane | None:
        """Where a send runs: the slow lane for a target known slow (None if full), else a fast
        slot of its host, given round robin."""
        after = self.settings.slow_after_s
        if key in self._slow:
            if not self._hosts.enter_slow_lane(host):
                return None
            return _Lane(self._hosts, host, self._deadlines, after, slow=True)
        trusted = await self._hosts.acquire(host, key, trusted=key in self._quick)
        return _Lane(self._hosts, host, self._deadlines, after, trusted=trusted)

    def _note_speed(self, key: str, took_s: float) -> None:
        if took_s < self.settings.slow_after_s:
            self._slow.discard(key)
            if len(self._quick) >= TARGET_CACHE:
                self._quick.clear()
            self._quick.add(key)
            return
        self._quick.discard(key)
        if len(self._slow) >= TARGET_CACHE:
            self._slow.clear()
        self._slow.add(key)

    def _judge(self, key: str, exc: DeliveryError) -> None:
        """Feed the target's circuit: transport failures open it, any answer closes it."""
        answered = isinstance(exc, ChannelError) and exc.status is not None
        if answered or exc.permanent or exc.retry_after is not None:
            self.breakers.succeeded(key)
        else:
            self.breakers.failed(key)
            self._slow.add(key)
            self._quick.discard(key)

    def _localised(self, alert: Alert, lang: str) -> Alert:
        """The alert in ``lang`` (:func:`localised`), kept for the fan-out's next subscription
        of the same language (the same alert object, not one with the same id)."""
        hit = self._texts.get(lang)
        if hit is not None and hit[0] is alert:
            return hit[1]
        if len(self._texts) >= LANGS_KEPT:
            self._texts.clear()
        out = localised(alert, lang, self.names)
        self._texts[lang] = (alert, out)
        return out

    def prepare(self, sub: Subscription) -> None:
        """Make a subscription's target and host now, with its parsed record (they are kept
        while the record is the same): its first send then finds them made."""
        if sub.spec.channel in self.channels:
            with contextlib.suppress(ValueError):  # then its send meets it, as it would have
                self._target(sub)

    def _target(self, sub: Subscription) -> tuple[Target, str]:
        """The channel target and host of a subscription (kept while the record is the same)."""
        hit = self._targets.get(sub.id)
        if hit is not None and hit[0] is sub:
            return hit[1], hit[2]
        if len(self._targets) > TARGET_CACHE:
            self._targets.clear()
        target = sub.target()
        host = self.host(sub, target)
        self._targets[sub.id] = (sub, target, host)
        return target, host


class _Lane:
    """Where one send runs: in its host's fast slot, moved to the slow lane after
    ``slow_after_s`` (at most ``deadlines.TICK_S`` later: one loop timer for every lane), or
    cut short (TimeoutError) if the slow lane is full too."""

    def __init__(
        self,
        slots: FairSlots,
        host: str,
        deadlines: Deadlines,
        slow_after_s: float,
        *,
        slow: bool = False,
        trusted: bool = False,
    ) -> None:
        self.slots, self.host, self.slow_after_s = slots, host, slow_after_s
        self.deadlines = deadlines
        self.slow = slow  # in the slow lane (from the start, or moved there)
        self.trusted = trusted  # holds a slot as a target known to answer quickly
        self.released = False
        self._tick: int | None = None  # its move to the slow lane is due (deadlines)
        # Cutting the send short is asyncio.timeout's cancel-and-convert, done by hand: its
        # Timeout object per send cost more than the rest of the lane, and is needed only for
        # the rare send cut short.
        self._task: asyncio.Task[Any] | None = None
        self._cancelling = 0
        self._cut = False

    def __enter__(self) -> None:
        if not self.slow:
            self._task = task = asyncio.current_task()
            self._cancelling = task.cancelling() if task is not None else 0
            when = asyncio.get_running_loop().time() + self.slow_after_s
            self._tick = self.deadlines.add(when, self)

    def __exit__(self, exc_type: type[BaseException] | None, exc: Any, tb: Any) -> None:
        self._undue()
        if self._cut and self._task is not None:  # TimeoutError if cut short (and only then)
            self._cut = False
            if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc

    def _undue(self) -> None:
        if self._tick is not None:
            self.deadlines.drop(self._tick, self)
            self._tick = None

    def expire(self) -> None:
        """``slow_after_s`` passed in the fast slot: to the slow lane, or cut short."""
        self._tick = None
        if self.released:
            return
        if self.slots.to_slow_lane(self.host, self.trusted):
            self.slow = True
        elif self._task is not None and not self._cut:
            self._cut = True
            self._task.cancel()

    def release(self) -> None:
        """Give back what the send held (its fast slot, or its place in the slow lane)."""
        if self.released:
            return
        self.released = True
        self._undue()
        if self.slow:
            self.slots.leave_slow_lane(self.host)
        else:
            self.slots.release(self.host, self.trusted)


def _limited(channel: Channel, target: Target) -> bool:
    """Whether a send to ``target`` has a rate limit to wait for (an HTTP channel's slots)."""
    return isinstance(channel, HttpChannel) and bool(channel.limits(target))


async def _wait_turn(channel: Channel, target: Target) -> bool:
    """An HTTP channel's wait for its destination's rate limits (the others have none)."""
    return await channel.wait_turn(target) if isinstance(channel, HttpChannel) else False


def idempotency_key(alert_id: str, sub_id: str) -> str:
    """The delivery's idempotency key (the ``webhook-id``): alert id and subscription id."""
    return f"{alert_id}|{sub_id}"
