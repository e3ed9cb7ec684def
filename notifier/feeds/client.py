"""HTTP access to match feeds: one fetch method that returns bytes or raises ``FeedError``.

Provider quirks of requests (paths, auth headers) and of payloads live in each provider's
package (:mod:`notifier.feeds.registry`). ETag / Last-Modified validators are sent
back, so an unchanged feed costs a 304.
"""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp

from notifier.errors import FeedError
from notifier.feeds import registry
from notifier.feeds.requests import Request
from notifier.net import retry_after
from notifier.settings import ProviderSettings

__all__ = ["FeedClient", "Request", "auth_headers"]

MAX_BODY = 8 * 1024 * 1024  # a fixture with every event and lineup is ~130 KB


def auth_headers(provider: str, settings: ProviderSettings) -> dict[str, str]:
    """The provider's auth header, when a key is configured."""
    if settings.api_key is None:
        return {}
    return registry.get(provider).auth_headers(settings.api_key.get_secret_value())


async def read_at_most(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """Up to ``limit`` bytes of a body: ``read(n)`` returns what has arrived so far, not n bytes,
    so a body bigger than one network read (a bulk answer) would otherwise come back cut."""
    buf = bytearray()
    while len(buf) < limit:
        chunk = await stream.read(limit - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


class FeedClient:
    """Fetches from one provider through a shared session; remembers validators per URL."""

    def __init__(self, session: aiohttp.ClientSession, provider: str, settings: ProviderSettings):
        self.session = session
        self.provider = provider
        self.settings = settings
        self._validators: dict[str, tuple[dict[str, str], bytes]] = {}

    def revalidates(self, req: Request) -> bool:
        """Whether the next fetch of ``req`` is conditional (the provider gave validators): then
        an unchanged answer comes back as the very body object cached here."""
        url = self.settings.base_url.rstrip("/") + req.path
        return url + repr(req.params) in self._validators

    async def fetch(self, req: Request) -> bytes:
        """GET the request; the body (the cached one on 304), or FeedError."""
        url = self.settings.base_url.rstrip("/") + req.path
        headers = {"Accept": "application/json", **auth_headers(self.provider, self.settings)}
        cached = self._validators.get(url + repr(req.params))
        if cached is not None:
            headers.update(cached[0])
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
        try:
            async with self.session.get(
                url, params=req.params, headers=headers, timeout=timeout
            ) as resp:
                return await self._read(resp, url + repr(req.params), cached)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FeedError(f"{self.provider}: {type(exc).__name__}: {exc}") from exc

    async def _read(
        self,
        resp: aiohttp.ClientResponse,
        key: str,
        cached: tuple[dict[str, str], bytes] | None,
    ) -> bytes:
        if resp.status == 304 and cached is not None:
            return cached[1]
        body = await read_at_most(resp.content, MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise FeedError(f"{self.provider}: body over {MAX_BODY} bytes", status=resp.status)
        if resp.status != 200:
            wait = retry_after(resp.headers.get("Retry-After"), datetime.now(UTC))
            raise FeedError(
                f"{self.provider}: HTTP {resp.status}",
                status=resp.status,
                retry_after=wait,
                payload=body,
            )
        validators = {}
        if etag := resp.headers.get("ETag"):
            validators["If-None-Match"] = etag
        if modified := resp.headers.get("Last-Modified"):
            validators["If-Modified-Since"] = modified
        if validators:
            self._validators[key] = (validators, body)
        return body
