"""The channel interface, delivery errors, and the bounded HTTP POST every HTTP channel uses."""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

import aiohttp
import orjson
from multidict import CIMultiDictProxy
from pydantic import Field, SecretStr

from notifier import net
from notifier.channels.ratelimit import SYSTEM_CLOCK, Clock, RateLimiter, acquire, fingerprint
from notifier.domain.alerts import Alert
from notifier.domain.models import Frozen
from notifier.errors import BlockedAddressError, ChannelError, RateLimitError
from notifier.net import delivery_url

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


class Delivered(Frozen):
    """Proof of one delivery: the receiver's status code (None if not HTTP) and when."""

    channel: str
    status: int | None
    delivered_at: datetime


class Channel(Protocol):
    """What the dispatcher delivers through; raises DeliveryError (usually ChannelError)."""

    name: str

    async def send(self, alert: Alert, target: Target, *, idempotency_key: str) -> Delivered:
        """Deliver one alert to one target."""
        ...


@dataclass(frozen=True, slots=True)
class Reply:
    """A receiver's answer: status, headers, and at most ``MAX_BODY`` bytes of its body."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    truncated: bool = False

    def json(self) -> Any:
        """The body as JSON, or None if it is not JSON (or was cut short)."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    def snippet(self, limit: int = 200) -> str:
        """The start of the body as text, for error messages."""
        return self.body[:limit].decode("utf-8", "replace").strip()


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


@functools.lru_cache(maxsize=64)
def _client_timeout(total_s: float) -> aiohttp.ClientTimeout:
    # The whole exchange (connect, send, read) is bounded by post's own asyncio.timeout, so
    # aiohttp arms no second timer per request: only its connect bound is kept.
    return aiohttp.ClientTimeout(total=None, sock_connect=min(total_s, 5.0))


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    total_s: float = 10.0,
    max_body: int = MAX_BODY,
    method: str = "POST",
) -> Reply:
    """POST (or ``method``) without following redirects, within ``total_s`` seconds in all,
    reading a bounded body.

    Raises ChannelError, whose message never contains the URL (it may hold a token).
    """
    try:
        parsed = delivery_url(url)
    except (TypeError, ValueError):  # what aiohttp would raise as InvalidURL
        raise ChannelError("invalid target URL", permanent=True) from None
    try:
        async with asyncio.timeout(total_s):
            async with session.request(
                method,
                parsed,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=_client_timeout(total_s),
            ) as resp:
                data, complete = await read_bounded(resp.content, max_body)
                if not complete:
                    resp.close()  # don't drain a huge body to reuse the connection
                return Reply(resp.status, resp.headers, data, truncated=not complete)
    except TimeoutError:
        raise ChannelError(f"timed out after {total_s:g}s") from None
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, BlockedAddressError):
            raise ChannelError(f"target refused: {exc.os_error}", permanent=True) from None
        raise ChannelError(f"cannot connect: {exc.os_error}") from None
    except aiohttp.InvalidURL:  # before ValueError: its text holds the URL
        raise ChannelError("invalid target URL", permanent=True) from None
    except ValueError as exc:  # the session's URL check (scheme, userinfo, address)
        raise ChannelError(f"target refused: {exc}", permanent=True) from None
    except aiohttp.ClientError as exc:
        raise ChannelError(f"{type(exc).__name__}: transport error") from None


class HttpChannel:
    """Shared shape of HTTP channels; subclasses fill in the hooks."""

    name: str = "http"
    default_base_url: ClassVar[str | None] = None
    # True when the payload depends on the alert alone (not the target): the body of an alert
    # is then serialised once for all its subscriptions, not once per delivery.
    shared_body: ClassVar[bool] = False

    def __init__(
        self,
        session: aiohttp.ClientSession,
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
        await self._throttle(self.limits(target))
        reply = await post(
            self._session,
            url,
            body,
            headers=headers,
            total_s=self._timeout,
            max_body=self._max_body,
        )
        try:
            self.check(reply, target)
        except ChannelError as exc:
            if exc.status == 429:  # every later send to this destination waits too
                pause = exc.retry_after if exc.retry_after is not None else 1.0
                self.limiter.block(self.limit_key(target), pause)
            raise
        # Our own values, already of the right types: built without validation.
        return Delivered.model_construct(
            channel=self.name, status=reply.status, delivered_at=self._clock.now()
        )

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
        """The (limiter, key) slots a send to this target takes."""
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
