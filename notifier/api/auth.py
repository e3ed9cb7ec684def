"""Bearer-token authentication of every route but ``/healthz``.

A request carries ``Authorization: Bearer <token>``; a browser gets the HttpOnly, SameSite=Strict
cookie ``nf_token`` by opening any page with ``?token=T`` once (answered by a 303 to the same URL
without the token), and the cookie then authenticates its GETs (the page, its EventSource).
The cookie authenticates no request that changes something, but the live page's own Web Push
subscription (``COOKIE_WRITES``, with the API's own ``Origin``). The caller is known by the
hash of its token (its *owner* id): subscriptions belong to it, and the token is never stored.
No token configured: allowed only on a loopback address, where every caller is ``local``, and
only for requests whose ``Host`` is a loopback name (a DNS-rebinding page names its own host).

The ``?token=`` redirect (an open redirect and a login-CSRF door if done naively) follows these
rules: the ``Location`` is always a path on this host (``//evil.example/`` becomes
``/evil.example/``); the cookie is host-only (no ``Domain``), so the token lands in the cookie of
the host that served it; and a link never replaces a cookie that already holds a valid token,
nor sets one when the browser says the navigation came from another site
(``Sec-Fetch-Site: cross-site`` / ``same-site``): someone else's link cannot swap the victim's
session for the attacker's token. The link's token is then simply dropped from the URL.
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

from notifier.errors import ConfigError, ProblemError
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


LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})
FOREIGN_SITES = frozenset({"cross-site", "same-site"})


def loopback_host(host_header: str | None) -> bool:
    """Whether a ``Host`` header names this machine's loopback (with or without a port)."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else ""
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host in LOOPBACK_NAMES or is_loopback(host)


def same_origin_path(request: web.Request) -> str:
    """The request's path and query without ``token``, as a path on this host.

    Leading slashes and backslashes collapse to one ``/``: ``//evil.example/`` (which a browser
    reads as another host) becomes the harmless local path ``/evil.example/``.
    """
    path = "/" + request.rel_url.raw_path.lstrip("/\\")
    rest = [(k, v) for k, v in request.query.items() if k != "token"]
    query = request.rel_url.with_query(rest).raw_query_string
    return f"{path}?{query}" if query else path


def _cookie_redirect(request: web.Request, auth: Auth) -> web.HTTPSeeOther:
    token = request.query.get("token", "")
    if auth.owner(token) is None:
        raise _unauthorized("invalid token")
    redirect = web.HTTPSeeOther(location=same_origin_path(request))
    held = request.cookies.get(COOKIE)
    foreign = request.headers.get("Sec-Fetch-Site", "none").lower() in FOREIGN_SITES
    if (held and auth.owner(held) is not None) or foreign:
        log.warning("api_token_link_ignored", extra={"reason": "cookie" if held else "site"})
        return redirect
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
        if auth.open and not loopback_host(request.headers.get("Host")):
            raise ProblemError(403, "without api.tokens only a loopback Host is served")
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
