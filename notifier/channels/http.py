"""The delivery client: every HTTP channel's requests, over pooled keep-alive connections.

One alert to 100,000 webhooks is 100,000 POSTs, and aiohttp's client machinery (request and
response objects, middlewares, stream readers, timers) cost more CPU than everything else a
delivery does. This client does only what a delivery needs, on an asyncio Protocol:

- **SSRF**: a URL is checked as before (``net.check_target_url``: scheme, no userinfo, literal
  addresses; the verdict kept per host), and the pool (:mod:`notifier.channels.pool`) connects
  only to addresses the policy allows: names resolved through ``net.SafeResolver``, a literal
  address checked before connecting, the peer of every new connection checked again;
- **TLS**: the default verified context, with SNI (the host without its trailing dot);
- **pool**: idle connections kept per origin (scheme, host, port); at most ``limit``
  connections in use in all and ``limit_per_host`` per origin, waiters served in order;
- **one request, never re-sent**: a connection seen closed while idle is dropped before anything
  is written; once a request is written, whatever goes wrong is a ChannelError (a transport
  error, retried by the dispatcher with the same idempotency key), never a silent second POST;
- **bounds**: connect within ``pool.CONNECT_MAX_S``, the whole exchange within the caller's
  total, at most ``max_body`` bytes of a body kept (the connection is closed rather than
  drained), no redirect followed (a 3xx is the caller's answer).

Responses are read by :class:`notifier.channels.wire.ResponseParser`. aiohttp stays for the
rest (the API server, feeds, chat bots).
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from notifier import __version__
from notifier.channels.pool import Origin, Pool
from notifier.channels.wire import ResponseParser, header_lines, request_head
from notifier.errors import ChannelError
from notifier.net import AddressPolicy, NetworkLike, check_target_url

ROUTE_CACHE = 32_768  # parsed target URLs kept (route)
VERDICTS = 10_000  # (scheme, userinfo, host) SSRF verdicts a client remembers


@dataclass(frozen=True, slots=True)
class Reply:
    """A receiver's answer: status, headers, and at most ``max_body`` bytes of its body."""

    status: int
    fields: list[tuple[str, str]]  # the headers as sent, in order
    body: bytes
    truncated: bool = False

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """The headers, by name in any case (made when asked: a 2xx reply is rarely read)."""
        return CIMultiDictProxy(CIMultiDict(self.fields))

    def json(self) -> Any:
        """The body as JSON, or None if it is not JSON (or was cut short)."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    def snippet(self, limit: int = 200) -> str:
        """The start of the body as text, for error messages."""
        return self.body[:limit].decode("utf-8", "replace").strip()


class Route(NamedTuple):
    """Where a URL's requests go, parsed once (:func:`route`; a tuple: made per target)."""

    origin: Origin
    authority: str  # the Host header
    target: str  # path and query, percent-encoded
    verdict: tuple[str, str | None, str | None, str]  # what the SSRF check of the URL reads

    @property
    def host(self) -> str:
        """The host to resolve or connect to (IDNA-encoded; an IPv6 address bare)."""
        return self.origin[1]


# The usual target URL, already in the form yarl would give it (lower-case ASCII host, no
# userinfo, no percent-escapes, no dot segments): read without yarl, which costs more than the
# rest of the send. Anything else goes through yarl.
_PLAIN = re.compile(
    r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([1-9][0-9]{0,4}))?"
    r"(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?(\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]+)?"
)
_DEFAULT_PORT = {"http": 80, "https": 443}


@functools.lru_cache(maxsize=ROUTE_CACHE)
def route(url: str) -> Route:
    """The route of an absolute http(s) URL (ValueError if it is none), as yarl reads it."""
    plain = _PLAIN.fullmatch(url)
    if plain is None or "/." in (path := plain[4] or "/") or int(plain[3] or 1) > 65535:
        return _parsed_route(url)
    scheme, host = plain[1], plain[2]
    default = _DEFAULT_PORT[scheme]
    port = int(plain[3]) if plain[3] else default
    authority = host if port == default else f"{host}:{port}"
    return Route(
        (scheme, host, port), authority, path + (plain[5] or ""), (scheme, None, None, host)
    )


def _parsed_route(url: str) -> Route:
    parsed = URL(url)
    host, port, authority = parsed.raw_host, parsed.port, parsed.host_port_subcomponent
    if not parsed.absolute or not host or port is None or authority is None:
        raise ValueError("not an absolute http(s) URL")
    verdict = (parsed.scheme, parsed.raw_user, parsed.raw_password, host)
    return Route((parsed.scheme, host, port), authority, parsed.raw_path_qs, verdict)


class DeliveryClient:
    """The SSRF-safe keep-alive client every HTTP channel sends through (see module doc)."""

    def __init__(
        self,
        *,
        allow_networks: Iterable[NetworkLike] = (),
        allow_http: bool = False,
        user_agent: str = f"match-notifier/{__version__}",
        limit: int = 100,
        limit_per_host: int = 10,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = AddressPolicy.of(allow_networks)
        self.allow_http = allow_http
        self.pool = Pool(
            self.policy, limit=limit, limit_per_host=limit_per_host, ssl_context=ssl_context
        )
        # Sent with every request; a channel's headers come after them.
        self._fixed = header_lines(
            {"User-Agent": user_agent, "Accept": "*/*", "Accept-Encoding": "identity"}
        )
        self._verdicts: dict[tuple[str, str | None, str | None, str], str | None] = {}

    async def __aenter__(self) -> DeliveryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the idle connections (those in use close when their request ends)."""
        await self.pool.close()

    async def request(
        self,
        method: str,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        total_s: float,
        max_body: int,
        parsed: Route | None = None,
    ) -> Reply:
        """One request and its answer, within ``total_s`` seconds in all; ChannelError (whose
        message never holds the URL: it may hold a token) for anything but an answer.
        ``parsed``: the URL's route if the caller has it (:func:`route` otherwise)."""
        try:
            r = route(url) if parsed is None else parsed
        except (TypeError, ValueError):
            raise ChannelError("invalid target URL", permanent=True) from None
        refused = self._verdict(url, r)
        if refused is not None:
            raise ChannelError(f"target refused: {refused}", permanent=True)
        head = request_head(method, r.target, r.authority, headers, len(body), self._fixed)
        parser = ResponseParser(max_body, head_request=method == "HEAD")
        pool, origin = self.pool, r.origin
        if pool.closed:
            raise ChannelError("the delivery client is closed")
        # All of it (a place in the pool, connecting, writing, reading) before the deadline.
        deadline = asyncio.get_running_loop().time() + total_s
        try:
            conn = pool.take(origin) or await pool.acquire(origin, deadline)
            reusable = False
            try:
                await conn.exchange(head + body, parser, deadline)
                reusable = parser.reusable and conn.usable()
            finally:
                pool.release(origin, conn, reusable=reusable)
        except TimeoutError:
            raise ChannelError(f"timed out after {total_s:g}s") from None
        return Reply(parser.status, parser.headers, parser.body, parser.truncated)

    def _verdict(self, url: str, r: Route) -> str | None:
        """Why the URL is refused (scheme, userinfo, address), or None; per host, remembered."""
        try:
            return self._verdicts[r.verdict]
        except KeyError:
            pass
        try:
            check_target_url(url, allow_http=self.allow_http, allow_networks=self.policy)
            refused = None
        except ValueError as exc:
            refused = str(exc)
        if len(self._verdicts) >= VERDICTS:
            self._verdicts.clear()
        self._verdicts[r.verdict] = refused
        return refused
