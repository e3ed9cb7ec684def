"""Subscribe-time SSRF checks of a target URL: scheme, literal address, and what the name
resolves to now. Deliveries check again at connect time (``notifier.net``), so a name that
later resolves elsewhere (DNS rebinding) is refused then too.

A refusal here is a 403, not a 422: the request is what the document allows (the url's form
is checked before, :mod:`notifier.channels.shapes`), but this server will not deliver there,
for reasons no schema can state: what the name resolves to, this instance's delivery policy
(``allow_http``, ``allow_networks``), what the installed Apprise can use.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from yarl import URL

from notifier.channels.apprise import check_apprise_url
from notifier.channels.mqtt import parse_url, policy_resolver
from notifier.channels.subscriptions import FieldError, SubscriptionSpec, absolute_url
from notifier.errors import AppriseMissingError, ProblemError
from notifier.net import AddressPolicy, check_target_url, parse_ip_literal
from notifier.settings import DeliverySettings


def refused_target(field: str, message: str) -> ProblemError:
    """The 403 of a target this server will not deliver to, naming the field as a 422 does."""
    errors = [{"field": field, "message": message}]
    return ProblemError(403, f"{field}: {message}", errors=errors)


async def check_target(spec: SubscriptionSpec, settings: DeliverySettings) -> None:
    """Refuse (FieldError on ``url``) a target that deliveries would not be allowed to reach."""
    if spec.channel == "apprise":
        await _check_apprise(spec.url, settings)
        return
    if spec.channel == "mqtt":
        await _check_broker(spec.url, settings)
        return
    url = absolute_url(spec)
    if url is None:
        return  # a path under the channel's configured base URL
    policy = AddressPolicy.of(settings.allow_networks)
    try:
        check_target_url(url, allow_http=settings.allow_http, allow_networks=policy)
    except ValueError as exc:
        raise FieldError("url", str(exc)) from None
    host = URL(url).raw_host or ""
    if parse_ip_literal(host) is None:
        await _check_name(host, policy, settings.resolve_timeout_s)


async def _check_apprise(url: str, settings: DeliverySettings) -> None:
    policy = AddressPolicy.of(settings.allow_networks)
    try:
        await check_apprise_url(
            url, policy, allow_http=settings.allow_http, timeout_s=settings.resolve_timeout_s
        )
    except AppriseMissingError as exc:
        raise FieldError("channel", str(exc)) from None
    except ValueError as exc:
        raise FieldError("url", str(exc)) from None


async def _check_broker(url: str, settings: DeliverySettings) -> None:
    policy = AddressPolicy.of(settings.allow_networks)
    resolve = policy_resolver(policy, settings.resolve_timeout_s)
    try:
        tls, host, *_ = parse_url(url)
        if not tls and not settings.allow_http:
            raise ValueError("an mqtts:// broker is required (plain mqtt needs allow_http)")
        await resolve(host)
    except ValueError as exc:
        raise FieldError("url", str(exc)) from None


async def _check_name(host: str, policy: AddressPolicy, timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout_s):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        raise FieldError("url", f"host {host!r} does not resolve") from None
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    refused = sorted(str(ip) for ip in addresses if not policy.allows(ip))
    if refused:
        raise FieldError(
            "url",
            f"host {host!r} resolves to a non-public address ({refused[0]}),"
            " not in delivery.allow_networks",
        )
