"""HTTP-level helpers: SSRF checks for outgoing HTTP, and how long a server asked us to wait.

Two layers against SSRF: :func:`check_target_url` refuses bad URLs early with a clear message
(subscribe time and every request), and the delivery client (:mod:`notifier.channels.http`)
resolves names through :class:`SafeResolver` and checks every address it connects to against
the :class:`AddressPolicy`, so a name that resolves (or re-resolves: DNS rebinding) to a private
address fails.

:func:`retry_after` is the one reading of a ``Retry-After`` header, for feeds, channels and chat
platforms alike, so a provider and a webhook receiver saying the same thing get the same wait.
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from notifier.errors import BlockedAddressError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
NetworkLike = IPNetwork | str
RETRY_AFTER_MAX_S = 86_400.0  # a longer Retry-After is a server's mistake: waits are capped here
_DELTA_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")

# Ranges that Python's ``is_global`` lets through on some versions, or that we refuse anyway.
_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "192.0.0.0/24",
        "198.18.0.0/15",
        "168.63.129.16/32",  # Azure's WireServer: cloud metadata on a public address
        "224.0.0.0/3",  # multicast and reserved
        "64:ff9b:1::/48",  # local-use NAT64
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_LEGACY_V4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)
_HOSTNAME = re.compile(
    r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$"
)


def parse_networks(networks: Iterable[NetworkLike]) -> tuple[IPNetwork, ...]:
    """Networks from strings such as ``127.0.0.0/8`` or ``::1``."""
    return tuple(n if not isinstance(n, str) else ipaddress.ip_network(n) for n in networks)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo client, NAT64)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """Whether an address is globally routable unicast (and so is anything it embeds)."""
    inner = embedded_ipv4(ip)
    if inner is not None and (ip in _NAT64 or ip in _MAPPED):
        return is_public(inner)  # these are the IPv4 address, spelt in IPv6
    if not ip.is_global or any(ip.version == n.version and ip in n for n in _BLOCKED):
        return False
    if ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local:
        return False
    return inner is None or is_public(inner)


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses deliveries may connect to: public ones, plus allow-listed networks."""

    allow_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, networks: Iterable[NetworkLike] = ()) -> AddressPolicy:
        """A policy from networks given as strings or network objects."""
        return cls(parse_networks(networks))

    def allows(self, ip: IPAddress) -> bool:
        """Whether a connection to ``ip`` is permitted."""
        candidates = [ip] if (inner := embedded_ipv4(ip)) is None else [ip, inner]
        for cand in candidates:
            if any(cand.version == n.version and cand in n for n in self.allow_networks):
                return True
        return is_public(ip)

    def check(self, ip: IPAddress) -> None:
        """Raise :class:`BlockedAddressError` unless ``ip`` is permitted."""
        if not self.allows(ip):
            raise BlockedAddressError(
                f"address {ip} is not public and not in delivery.allow_networks"
            )


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a URL host denotes if it is an IP literal in any form, else None.

    Legacy IPv4 forms (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``) are read the way
    ``inet_aton`` (and so ``getaddrinfo``) reads them.
    """
    try:
        bare = host.strip("[]")
        return ipaddress.ip_address(bare.split("%", 1)[0] if ":" in bare else bare)
    except ValueError:
        pass
    if not _LEGACY_V4.match(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except OSError:
        raise ValueError(f"host {host!r} is a malformed IPv4 address") from None


def check_target_url(
    url: str | URL,
    *,
    allow_http: bool = False,
    allow_networks: Iterable[NetworkLike] | AddressPolicy = (),
) -> None:
    """Refuse (ValueError) a delivery URL that is not https, has userinfo or names a bad address."""
    policy = (
        allow_networks
        if isinstance(allow_networks, AddressPolicy)
        else AddressPolicy.of(allow_networks)
    )
    try:
        parsed = url if isinstance(url, URL) else URL(url)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid URL: {exc}") from None
    if parsed.scheme != "https" and not (allow_http and parsed.scheme == "http"):
        allowed = "https or http" if allow_http else "https (delivery.allow_http allows http)"
        raise ValueError(f"URL scheme must be {allowed}, not {parsed.scheme or 'missing'!r}")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise ValueError("URL must not contain credentials (user:password@)")
    host = parsed.raw_host
    if not host:
        raise ValueError("URL has no host")
    _check_host(host.lower(), policy)


def _check_host(host: str, policy: AddressPolicy) -> None:
    ip = parse_ip_literal(host)
    if ip is None:
        if not _HOSTNAME.match(host):
            raise ValueError(f"host {host!r} is not a valid host name")
        return  # names are checked at connect time, on every connection
    if not policy.allows(ip):
        means = "" if host == str(ip) else f" (that is {ip})"
        raise ValueError(
            f"host {host!r}{means} is not a public address (not in delivery.allow_networks)"
        )
    if ip.version == 4 and host.rstrip(".") != str(ip):
        raise ValueError(f"host {host!r} is a non-canonical IPv4 address; write {ip}")


class SafeResolver(AbstractResolver):
    """Resolves with aiohttp's default resolver and drops every address the policy refuses."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Addresses of ``host`` that may be connected to; BlockedAddressError if none."""
        results = await self._inner.resolve(host, port, family)
        kept = [r for r in results if self._policy.allows(ipaddress.ip_address(r["host"]))]
        if not kept:
            raise BlockedAddressError(
                f"{host} resolves only to non-public addresses (not in delivery.allow_networks)"
            )
        return kept

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value, clamped to ``0..RETRY_AFTER_MAX_S``.

    RFC 9110: delta-seconds (digits; a decimal fraction is accepted too, as some servers send
    one) or an HTTP-date, always GMT (a date that names no zone is read as GMT). A date in the
    past means now (0). None when the header is absent or garbage (a word, a sign, NaN), so the
    caller falls back to its own back-off rather than trusting a number it made up.
    """
    text = (value or "").strip()
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)  # may overflow to inf on absurd digit strings: clamped below
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)
