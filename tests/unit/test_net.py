"""HTTP-level helpers: SSRF defences (URL checks, the connect-time guard) and Retry-After."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import given
from hypothesis import strategies as st

from notifier.channels.http import DeliveryClient, route
from notifier.errors import BlockedAddressError, ChannelError
from notifier.net import (
    RETRY_AFTER_MAX_S,
    AddressPolicy,
    SafeResolver,
    check_target_url,
    is_public,
    parse_ip_literal,
    retry_after,
)

LOOPBACK = ["127.0.0.0/8", "::1/128"]
PUBLIC = "not a public address"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", PUBLIC),
        ("http://10.0.0.1/", PUBLIC),
        ("http://172.16.0.1/", PUBLIC),
        ("http://192.168.1.1/", PUBLIC),
        ("http://169.254.169.254/latest/meta-data/", PUBLIC),
        ("http://100.64.0.1/", PUBLIC),
        ("http://0.0.0.0/", PUBLIC),
        ("http://[::1]/", PUBLIC),
        ("http://[fe80::1]/", PUBLIC),
        ("http://[fe80::1%25eth0]/", PUBLIC),
        ("http://[fc00::1]/", PUBLIC),
        ("http://[::ffff:10.0.0.1]/", PUBLIC),
        ("http://[::ffff:127.0.0.1]/", PUBLIC),
        ("http://[64:ff9b::a00:1]/", PUBLIC),  # NAT64 of 10.0.0.1
        ("http://[2002:c0a8:101::1]/", PUBLIC),  # 6to4 of 192.168.1.1
        ("http://[::]/", PUBLIC),
        ("http://2130706433/", PUBLIC),
        ("http://0x7f000001/", PUBLIC),
        ("http://0x7f.0.0.1/", PUBLIC),
        ("http://0177.0.0.1/", PUBLIC),
        ("http://127.1/", PUBLIC),
        ("http://127.0.0.1./", PUBLIC),
        ("http://224.0.0.1/", PUBLIC),
        ("http://255.255.255.255/", PUBLIC),
        ("http://999.1.1.1/", "malformed"),
        ("http://1572395042/", "non-canonical"),  # public, but not in canonical form
        ("http://example.com/", "scheme must be https"),
        ("https://user:pass@example.com/", "credentials"),
        ("https://user@example.com/", "credentials"),
        ("ftp://example.com/", "scheme must be https"),
        ("https:///path", "no host"),
        ("https://exa mple.com/", "not a valid host name"),
        ("https://1.2.3.4%2f.example/", "not a valid host name"),
    ],
)
def test_refused(url: str, reason: str) -> None:
    allow_http = "example.com" not in url  # only those cases test the scheme and userinfo
    with pytest.raises(ValueError, match=reason):
        check_target_url(url, allow_http=allow_http)


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/hook",
        "https://[2606:4700::1111]/hook",
        "https://[::ffff:93.184.216.34]/",
        "https://example.com:8443/hook?x=1",
        "https://hooks.slack.com/services/T0/B0/X",
        "https://xn--r8jz45g.jp/",
        "https://例え.jp/",
    ],
)
def test_accepted(url: str) -> None:
    check_target_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hook", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/"],
)
def test_allow_list_admits_loopback(url: str) -> None:
    check_target_url(url, allow_http=True, allow_networks=LOOPBACK)
    with pytest.raises(ValueError, match="not a public address"):
        check_target_url(url, allow_http=True, allow_networks=["10.0.0.0/8"])


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
        ("example.com", None),
        ("cafe.beef", None),
    ],
)
def test_parse_ip_literal(host: str, expected: str | None) -> None:
    ip = parse_ip_literal(host)
    assert (str(ip) if ip is not None else None) == expected


@pytest.mark.parametrize(
    ("ip", "public"),
    [
        ("8.8.8.8", True),
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", False),  # Teredo
        ("198.18.0.1", False),
        ("192.0.2.1", False),
        ("240.0.0.1", False),
        ("ff02::1", False),
        ("2001:db8::1", False),
    ],
)
def test_is_public(ip: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(ip)) is public


@pytest.fixture
async def local_server() -> AsyncIterator[int]:
    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield runner.addresses[0][1]
    await runner.cleanup()


async def test_name_resolving_to_loopback_is_refused_at_connect_time(local_server: int) -> None:
    # "localhost" passes the URL check (it is a name); the resolver must refuse its address.
    url = f"http://localhost:{local_server}/"
    check_target_url(url, allow_http=True)
    async with DeliveryClient(allow_http=True) as client:
        with pytest.raises(ChannelError, match="target refused") as err:
            await client.request("GET", url, b"", {}, total_s=3.0, max_body=1024)
    assert err.value.permanent
    async with DeliveryClient(allow_http=True, allow_networks=LOOPBACK) as client:
        reply = await client.request("GET", url, b"", {}, total_s=3.0, max_body=1024)
    assert reply.body == b"hello"


async def test_connect_refuses_literal_ip_without_url_check(local_server: int) -> None:
    # The URL check refuses it first; the connect step, called alone, is the last line.
    async with DeliveryClient(allow_http=True) as client:
        with pytest.raises(ChannelError, match="target refused") as err:
            await client.pool.connect(route(f"http://127.0.0.1:{local_server}/").origin, 3.0)
    assert err.value.permanent


class RebindingResolver(AbstractResolver):
    """Answers a public address, then (rebinding) a private and a loopback one."""

    def __init__(self) -> None:
        self.answers = [["93.184.216.34"], ["10.0.0.1", "127.0.0.1"], ["10.0.0.1", "1.1.1.1"]]

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=ip, port=port, family=family, proto=0, flags=0)
            for ip in self.answers.pop(0)
        ]

    async def close(self) -> None:
        pass


async def test_safe_resolver_drops_private_answers() -> None:
    resolver = SafeResolver(AddressPolicy(), RebindingResolver())
    assert [r["host"] for r in await resolver.resolve("evil.example", 443)] == ["93.184.216.34"]
    with pytest.raises(BlockedAddressError):
        await resolver.resolve("evil.example", 443)
    assert [r["host"] for r in await resolver.resolve("evil.example", 443)] == ["1.1.1.1"]


NOW = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0.2", 0.2),  # not RFC 9110, but sent and harmless
        ("0", 0.0),
        ("Wed, 11 Mar 2026 20:01:00 GMT", 60.0),
        ("Wednesday, 11-Mar-26 20:01:00 GMT", 60.0),  # RFC 850, obsolete but allowed
        ("Wed Mar 11 20:01:00 2026", 60.0),  # asctime: no zone, GMT by definition
        ("Wed, 11 Mar 2026 20:01:00 -0000", 60.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: now
        ("99999999999", RETRY_AFTER_MAX_S),  # clamped
        ("9" * 400, RETRY_AFTER_MAX_S),  # a float overflow, clamped too
        (None, None),
        ("", None),
        ("-5", None),
        ("+5", None),
        ("1e3", None),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Wed, 99 Foo 2026 99:99:99 GMT", None),
    ],
)
def test_retry_after(value: str | None, expected: float | None) -> None:
    assert retry_after(value, NOW) == expected


@given(st.integers(min_value=0, max_value=10**12))
def test_retry_after_delta_seconds_are_taken_as_given_up_to_the_cap(seconds: int) -> None:
    assert retry_after(str(seconds), NOW) == min(float(seconds), RETRY_AFTER_MAX_S)


@given(st.integers(min_value=-(10**8), max_value=10**8))
def test_retry_after_http_date_is_the_time_until_it(offset: int) -> None:
    header = format_datetime(NOW + timedelta(seconds=offset), usegmt=True)
    assert retry_after(header, NOW) == min(max(float(offset), 0.0), RETRY_AFTER_MAX_S)


@given(st.text())
def test_retry_after_never_raises_and_stays_in_range(value: str) -> None:
    wait = retry_after(value, NOW)
    assert wait is None or 0.0 <= wait <= RETRY_AFTER_MAX_S
