"""Apprise: any Apprise URL (``json://…``, ``ntfys://…``, ``tgram://…``), for the long tail.

Optional: needs the ``apprise`` extra (``pip install match-notifier[apprise]``). Apprise makes its
own HTTP requests (``requests``, in a worker thread), outside the SSRF-safe session of
``notifier.net``, so the target is checked here instead, at subscribe time and before every send:
exactly one URL that Apprise knows; where the service takes a host of the subscriber's choosing
(``json://host``, ``ntfy://host/topic``, ``gotify://host``, …), that host must be allowed by the
same rules as a webhook's (:class:`notifier.net.AddressPolicy`): a literal address must be public
or allow-listed, and a name must resolve only to such addresses. Plain-HTTP schemes (``json://``,
``ntfy://host``) need ``delivery.allow_http``. Services whose endpoint Apprise fixes itself
(``tgram://``, ``ntfy://topic`` → ntfy.sh) have no host to check.

Residual gaps, accepted for an optional channel: the name is resolved by us and then again by
``requests``, so a name that re-resolves to a private address in between (DNS rebinding with a
short TTL) is not caught the way ``notifier.net``'s connect-time check catches it; and redirects
are followed as the Apprise plugin chooses. Operators who need the strict guarantee use the
``webhook`` channel, or run deliveries behind an egress proxy.
"""

from __future__ import annotations

import asyncio
import importlib.util
import ipaddress
import socket
from typing import Any

from notifier.channels import format as fmt
from notifier.channels.base import Delivered, Target
from notifier.channels.ratelimit import SYSTEM_CLOCK, Clock
from notifier.domain.alerts import Alert
from notifier.errors import AppriseMissingError, ChannelError
from notifier.net import AddressPolicy, parse_ip_literal

BODY_LIMIT = 4000
TITLE_LIMIT = 250


def apprise_installed() -> bool:
    """Whether the ``apprise`` package can be imported."""
    return importlib.util.find_spec("apprise") is not None


def load_plugin(url: str) -> Any:
    """The Apprise plugin for exactly one URL; ValueError if none (AppriseMissingError)."""
    if not apprise_installed():
        raise AppriseMissingError
    import apprise

    if not url or any(c in url for c in ", \t\r\n"):
        raise ValueError("exactly one Apprise URL is required")
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise ValueError("not an Apprise URL that this Apprise version supports")
    return plugin


def plugin_host(plugin: Any) -> str | None:
    """The host the plugin connects to if the subscriber chose it, else None (a fixed service)."""
    host = getattr(plugin, "host", None)
    if "host" not in getattr(type(plugin), "template_tokens", {}) or not host:
        return None
    return str(host).strip("[]").lower()


def check_plugin(plugin: Any, policy: AddressPolicy, *, allow_http: bool) -> str | None:
    """Refuse (ValueError) a plugin's literal bad address or plain HTTP; the name to resolve."""
    host = plugin_host(plugin)
    if host is None:
        return None
    if not getattr(plugin, "secure", True) and not allow_http:
        raise ValueError("plain-HTTP Apprise schemes need delivery.allow_http; use the s form")
    ip = parse_ip_literal(host)
    if ip is None:
        return host
    if not policy.allows(ip):
        raise ValueError(f"host {host!r} is not a public address")
    return None


async def check_name(host: str, policy: AddressPolicy, timeout_s: float) -> None:
    """Refuse (ValueError) a name that does not resolve, or resolves to a refused address."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout_s):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        raise ValueError(f"host {host!r} does not resolve") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not policy.allows(ip):
            raise ValueError(f"host {host!r} resolves to a non-public address ({ip})")


async def check_apprise_url(
    url: str, policy: AddressPolicy, *, allow_http: bool, timeout_s: float = 2.0
) -> Any:
    """The plugin of an Apprise URL that deliveries may reach; ValueError otherwise."""
    plugin = load_plugin(url)
    name = check_plugin(plugin, policy, allow_http=allow_http)
    if name is not None:
        await check_name(name, policy, timeout_s)
    return plugin


def message(alert: Alert) -> tuple[str, str]:
    """(title, body) of an alert: the headline and the rendered text."""
    return fmt.truncate(fmt.headline(alert), TITLE_LIMIT), fmt.truncate(alert.text, BODY_LIMIT)


class AppriseChannel:
    """Sends through Apprise after checking the target; any failure is retryable."""

    name = "apprise"

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        allow_http: bool = False,
        timeout: float = 10.0,
        resolve_timeout: float = 2.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._policy = policy
        self._allow_http = allow_http
        self._timeout = timeout
        self._resolve_timeout = resolve_timeout
        self._clock = clock

    async def send(self, alert: Alert, target: Target, *, idempotency_key: str) -> Delivered:
        """Check the URL again (the allow-list or DNS may have changed), then notify."""
        try:
            plugin = await check_apprise_url(
                target.url,
                self._policy,
                allow_http=self._allow_http,
                timeout_s=self._resolve_timeout,
            )
        except ValueError as exc:  # never echo the URL: it holds the service's tokens
            raise ChannelError(f"apprise target refused: {exc}", permanent=True) from None
        await self._notify(plugin, alert)
        return Delivered(channel=self.name, status=None, delivered_at=self._clock.now())

    async def _notify(self, plugin: Any, alert: Alert) -> None:
        import apprise

        # requests' own timeouts bound the worker thread; asyncio.timeout bounds our wait.
        plugin.socket_connect_timeout = min(self._timeout, 5.0)
        plugin.socket_read_timeout = self._timeout
        notifier = apprise.Apprise()
        notifier.add(plugin)
        title, body = message(alert)
        try:
            async with asyncio.timeout(self._timeout + 1.0):
                ok = await notifier.async_notify(body=body, title=title)
        except TimeoutError:
            raise ChannelError(f"apprise: timed out after {self._timeout:g}s") from None
        except Exception as exc:  # a plugin's own bug: retry rather than lose the alert
            raise ChannelError(f"apprise: {type(exc).__name__}") from None
        if not ok:
            raise ChannelError("apprise: the service did not accept the notification")
