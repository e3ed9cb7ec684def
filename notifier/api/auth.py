"""Bearer-token authentication of every route but ``/healthz``.

A request carries ``Authorization: Bearer <token>``; a browser gets the HttpOnly, SameSite=Strict
cookie ``nf_token`` by opening any page with ``?token=T`` once (answered by a 303 to the same URL
without the token), and the cookie then authenticates its GETs (the page, its EventSource).
The cookie authenticates no request that changes something, but the live page's own Web Push
subscription (``COOKIE_WRITES``, with the API's own ``Origin``). The caller is known by the
hash of its token (its *owner* id): subscriptions belong to it, and the token is never stored.
No token configured: allowed only on a loopback address, where every caller is ``local``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from notifier.api.problems import ProblemError
from notifier.errors import ConfigError
from notifier.settings import ApiSettings

log = logging.getLogger("notifier.api")
COOKIE = "nf_token"
ANONYMOUS = frozenset({"/healthz", "/v1/email/unsubscribe"})  # the latter: signed links
# The chat platforms' POSTs authenticate by their signatures (notifier.api.chat.routes checks).
SIGNED = frozenset(
    {
        "/v1/telegram/webhook",
        "/v1/discord/interactions",
        "/v1/slack/commands",
        "/v1/slack/actions",
    }
)
SAFE_METHODS = frozenset({"GET", "HEAD"})
# Writes the live page makes with its cookie (SameSite=Strict), from its own origin only.
COOKIE_WRITES = frozenset({"/v1/push/subscriptions"})
LOCAL_OWNER = "local"
OWNER = web.RequestKey("owner", str)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="notifier"'}


def owner_of(token: str) -> str:
    """The owner id of a token: a hash, so the token itself is kept nowhere."""
    return hashlib.sha256(b"nf-owner:" + token.encode()).hexdigest()[:32]


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts local connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Auth:
    """The accepted tokens (as owner ids); ``open`` when none is configured (loopback only)."""

    owners: frozenset[str]

    @property
    def open(self) -> bool:
        """No token configured: everyone local is the same owner."""
        return not self.owners

    @classmethod
    def from_settings(cls, api: ApiSettings) -> Auth:
        """The accepted tokens; ConfigError if none is set and the bind is not loopback."""
        tokens = [t.get_secret_value() for t in api.tokens if t.get_secret_value()]
        if not tokens and not is_loopback(api.host):
            raise ConfigError(
                f"the API would listen on {api.host} without a token: set api.tokens "
                "(NOTIFIER_API__TOKENS='[\"...\"]') or bind it to 127.0.0.1"
            )
        if not tokens:
            log.warning("api_without_auth", extra={"host": api.host})
        return cls.of(tokens)

    @classmethod
    def of(cls, tokens: Iterable[str]) -> Auth:
        """From tokens in clear."""
        return cls(frozenset(owner_of(t) for t in tokens))

    def owner(self, token: str | None) -> str | None:
        """The owner id of a valid token, else None (compared in constant time)."""
        if self.open:
            return LOCAL_OWNER
        if not token:
            return None
        candidate = owner_of(token)
        found = False
        for known in self.owners:
            found |= hmac.compare_digest(candidate, known)
        return candidate if found else None


def bearer(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, detail, headers=dict(CHALLENGE))


def _cookie_redirect(request: web.Request, auth: Auth) -> web.HTTPSeeOther:
    token = request.query.get("token", "")
    if auth.owner(token) is None:
        raise _unauthorized("invalid token")
    rest = [(k, v) for k, v in request.query.items() if k != "token"]
    location = request.rel_url.with_query(rest)
    redirect = web.HTTPSeeOther(location=str(location))
    redirect.set_cookie(
        COOKIE, token, httponly=True, samesite="Strict", secure=request.secure, path="/"
    )
    return redirect


def _page_write(request: web.Request) -> bool:
    """A write of the live page's own (``Origin`` the API's origin), which its cookie may make."""
    origin = request.headers.get("Origin")
    return request.path in COOKIE_WRITES and origin == f"{request.scheme}://{request.host}"


def make_middleware(auth: Auth) -> Middleware:
    """The middleware that lets only authenticated requests through (and sets OWNER)."""

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in ANONYMOUS or (request.method == "POST" and request.path in SIGNED):
            return await handler(request)
        safe = request.method in SAFE_METHODS
        if safe and "token" in request.query and not auth.open:
            raise _cookie_redirect(request, auth)
        token = bearer(request)
        if token is None and (safe or _page_write(request)):
            token = request.cookies.get(COOKIE)
        if token is None and not auth.open:
            raise _unauthorized("send Authorization: Bearer <token>")
        owner = auth.owner(token)
        if owner is None:
            raise _unauthorized("invalid token")
        request[OWNER] = owner
        return await handler(request)

    return authenticate
