"""The channel interface, delivery errors, and the bounded HTTP POST every HTTP channel uses
(through the delivery client of :mod:`notifier.channels.http`)."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

import aiohttp
import orjson
from pydantic import Field, SecretStr

from notifier import net
from notifier.channels.http import DeliveryClient, Reply, Route, route
from notifier.channels.ratelimit import SYSTEM_CLOCK, Clock, RateLimiter, acquire, fingerprint
from notifier.domain.alerts import Alert
from notifier.domain.models import Frozen
from notifier.errors import ChannelError, RateLimitError

RETRYABLE_4XX = frozenset({408, 409, 425, 429})
MAX_BODY = 64 * 1024  # bytes of a reply we ever read
BODY_CACHE = 64  # alerts whose serialised body a channel keeps (``HttpChannel.shared_body``)
OptionValue = str | int | float | bool


class Target(Frozen):
    """Where one subscription's alerts go: a channel, its URL, secret and options."""

    channel: str
    url: str = ""  # absolute, or a path under the channel's base URL; unused by telegram
    secret: SecretStr | None = None
    options: dict[str, OptionValue] = Field(default_factory=dict)  # chat_id, topic, ...
    subscription: str | None = None  # its id, for channels that link back to it (unsubscribe)

    def secret_value(self) -> str | None:
        """The secret in clear, for the channel that signs or authenticates with it."""
        return self.secret.get_secret_value() if self.secret is not None else None

    @functools.cached_property
    def routed(self) -> tuple[str, Route | None]:
        """The URL and its route (None if it is no absolute http(s) URL), worked out once per
        target: a fan-out's targets outnumber what :func:`route` keeps, and a target is made
        once per parsed record. The URL is kept with it so that a copy with another URL (whose
        cached value is copied too) is not taken for it."""
        try:
            return self.url, route(self.url)
        except (TypeError, ValueError):
            return self.url, None


@dataclass(frozen=True, slots=True)
class Delivered:
    """Proof of one delivery: the receiver's status code (None if not HTTP) and when. A plain
    dataclass, not a model: one is made per send, and the dispatcher does not read it."""

    channel: str
    status: int | None
    delivered_at: datetime


class Channel(Protocol):
    """What the dispatcher delivers through; raises DeliveryError (usually ChannelError)."""

    name: str

    async def send(self, alert: Alert, target: Target, *, idempotency_key: str) -> Delivered:
        """Deliver one alert to one target."""
        ...


def as_seconds(value: object) -> float | None:
    """A finite, non-negative number of seconds from a JSON number or string, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def check_reply(reply: Reply, now: datetime, *, retry_after: float | None = None) -> None:
    """Raise ChannelError unless the reply is 2xx, classified permanent, gone or transient."""
    status = reply.status
    if 200 <= status < 300:
        return
    detail = f"HTTP {status}: {reply.snippet()}".rstrip(": ")
    if 300 <= status < 400:
        msg = f"HTTP {status}: redirects are not followed"
        raise ChannelError(msg, permanent=True, status=status)
    if status == 410:
        raise ChannelError(detail, gone=True, status=status)
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        raise ChannelError(detail, permanent=True, status=status)
    if retry_after is None:
        retry_after = net.retry_after(reply.headers.get("Retry-After"), now)
    raise ChannelError(detail, retry_after=retry_after, status=status)


async def read_bounded(stream: aiohttp.StreamReader, limit: int) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes; returns them and whether the body ended within them."""
    buf = bytearray()
    while len(buf) < limit:
        chunk = await stream.read(limit - len(buf))
        if not chunk:
            return bytes(buf), True
        buf += chunk
    return bytes(buf), stream.at_eof()


async def post(
    client: DeliveryClient,
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    total_s: float = 10.0,
    max_body: int = MAX_BODY,
    method: str = "POST",
) -> Reply:
    """POST (or ``method``) through the delivery client: no redirect followed, within
    ``total_s`` seconds in all, at most ``max_body`` bytes of the body read.

    Raises ChannelError, whose message never contains the URL (it may hold a token).
    """
    return await client.request(method, url, body, headers, total_s=total_s, max_body=max_body)


class HttpChannel:
    """Shared shape of HTTP channels; subclasses fill in the hooks."""

    name: str = "http"
    default_base_url: ClassVar[str | None] = None
    # True when the payload depends on the alert alone (not the target): the body of an alert
    # is then serialised once for all its subscriptions, not once per delivery.
    shared_body: ClassVar[bool] = False

    def __init__(
        self,
        session: DeliveryClient,
        base_url: str | None = None,
        *,
        timeout: float = 10.0,
        max_body: int = MAX_BODY,
        max_wait: float = 2.0,
        clock: Clock = SYSTEM_CLOCK,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._session = session
        self.base_url = (base_url or self.default_base_url or "").rstrip("/")
        self._timeout = timeout
        self._max_body = max_body
        self._max_wait = max_wait
        self._clock = clock
        self.limiter = limiter if limiter is not None else self.default_limiter(clock)
        self._bodies: dict[str, tuple[Alert, bytes]] = {}  # alert id -> (alert, body)

    @classmethod
    def default_limiter(cls, clock: Clock) -> RateLimiter:
        """The platform's per-destination limit; by default only a 429 pauses a destination."""
        return RateLimiter(math.inf, clock=clock)

    async def send(self, alert: Alert, target: Target, *, idempotency_key: str) -> Delivered:
        """Deliver one alert: throttle, POST, classify the reply."""
        url = self.endpoint(target)
        body = self.body(alert, target)
        headers = {
            "Content-Type": "application/json",
            **self.headers(target, body, idempotency_key),
        }
        slots = self.limits(target)
        if slots:
            await self._throttle(slots)
        known, parsed = target.routed
        reply = await self._session.request(
            "POST",
            url,
            body,
            headers,
            total_s=self._timeout,
            max_body=self._max_body,
            parsed=parsed if known is url else None,
        )  # post(), one call shorter: a send's await chain is resumed at every step
        try:
            self.check(reply, target)
        except ChannelError as exc:
            if exc.status == 429:  # every later send to this destination waits too
                pause = exc.retry_after if exc.retry_after is not None else 1.0
                self.limiter.block(self.limit_key(target), pause)
            raise
        return Delivered(channel=self.name, status=reply.status, delivered_at=self._clock.now())

    def endpoint(self, target: Target) -> str:
        """The URL to POST to: the target's URL if absolute, else under the base URL."""
        if "://" in target.url:
            return target.url
        if not self.base_url:
            raise ChannelError(f"{self.name}: target has no absolute URL", permanent=True)
        return self.base_url + "/" + target.url.lstrip("/") if target.url else self.base_url

    def body(self, alert: Alert, target: Target) -> bytes:
        """The request body: the payload as JSON; built once per alert if ``shared_body``."""
        if not self.shared_body:
            return orjson.dumps(self.payload(alert, target))
        hit = self._bodies.get(alert.id)
        if hit is not None and hit[0] is alert:
            return hit[1]
        body = orjson.dumps(self.payload(alert, target))
        if len(self._bodies) >= BODY_CACHE:
            del self._bodies[next(iter(self._bodies))]  # the oldest alert
        self._bodies[alert.id] = (alert, body)
        return body

    def payload(self, alert: Alert, target: Target) -> dict[str, Any]:
        """The JSON body for this platform."""
        return alert.public()

    def headers(self, target: Target, body: bytes, idempotency_key: str) -> dict[str, str]:
        """Extra request headers (auth, signatures)."""
        return {}

    def limit_key(self, target: Target) -> str:
        """The destination a rate limit applies to (default: the URL, fingerprinted)."""
        return fingerprint(self.endpoint(target))

    def limits(self, target: Target) -> Sequence[tuple[RateLimiter, str]]:
        """The (limiter, key) slots a send to this target takes: none while the limiter lets
        every key send (no rate, nothing blocked), so its key is not worked out per send."""
        if self.limiter.free():
            return ()
        return [(self.limiter, self.limit_key(target))]

    def check(self, reply: Reply, target: Target) -> None:
        """Raise ChannelError unless the reply means delivered."""
        if not 200 <= reply.status < 300:
            check_reply(reply, self._clock.now())

    async def wait_turn(self, target: Target) -> bool:
        """Wait until ``target``'s rate limits would let a send go at once, reserving nothing
        (the send reserves), so a caller can ask something after the wait and before the send;
        a wait longer than the send itself would accept is left to the send. Whether it
        waited."""
        wait = max((limiter.delay(key) for limiter, key in self.limits(target)), default=0.0)
        if not 0 < wait <= self._max_wait:
            return False
        await self._clock.sleep(wait)
        return True

    async def _throttle(self, slots: Sequence[tuple[RateLimiter, str]]) -> None:
        try:
            await acquire(slots, max_wait=self._max_wait)
        except RateLimitError as exc:
            raise ChannelError(f"{self.name}: {exc}", retry_after=exc.wait) from None

    async def call(
        self,
        url: str,
        payload: Any,
        target: Target,
        *,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """One request of this channel's API within its rate limits (edits of a live message);
        the reply is for the caller to read."""
        await self._throttle(self.limits(target))
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        return await post(
            self._session,
            url,
            orjson.dumps(payload),
            headers=hdrs,
            total_s=self._timeout,
            max_body=self._max_body,
            method=method,
        )
