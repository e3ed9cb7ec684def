"""SSRF, systematically: one address of every non-public range (private, loopback, link-local,
CGNAT, cloud metadata, documentation, benchmarking, multicast, reserved, broadcast) in IPv4 and
IPv6, each written every way a URL parser or ``inet_aton`` accepts (dotted, decimal, octal, hex,
short, trailing dot, IPv4-mapped, IPv4-compatible, NAT64, 6to4, zone id), plus names that
resolve to such addresses. Every one is refused when subscribing (403 or 422 on ``url``) and
when changing a subscription's URL; at delivery time the session refuses what got past the API (a
subscription stored directly, or a name that re-resolves), so the target never hears a byte;
and a receiver's redirect to a private address is not followed.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.subscriptions import SubscriptionStore
from notifier.net import AddressPolicy, check_target_url
from tests.counts import tried
from tests.integration.api.test_api import HOOK, A, serving
from tests.integration.deliver.test_delivery_support import (
    dispatching,
    eventually,
    make_alert,
    publish,
    receiving,
    settings_for,
    subscribe,
)

# One address per range; the comment names the range.
V4 = [
    "0.0.0.0",  # "this network"
    "0.1.2.3",  # 0.0.0.0/8
    "10.1.2.3",  # private
    "100.64.1.2",  # CGNAT
    "100.100.100.200",  # Alibaba Cloud metadata (CGNAT)
    "127.0.0.1",  # loopback
    "127.255.255.254",  # loopback
    "169.254.169.254",  # link-local: AWS, GCP, Azure, DigitalOcean metadata
    "169.254.170.2",  # AWS ECS task metadata
    "169.254.0.23",  # Tencent Cloud metadata
    "168.63.129.16",  # Azure WireServer: a metadata host on a public address
    "172.16.0.1",  # private
    "172.31.255.254",  # private
    "192.0.0.192",  # IETF protocol assignments: Oracle Cloud metadata
    "192.0.2.1",  # TEST-NET-1
    "192.168.0.1",  # private
    "198.18.0.1",  # benchmarking
    "198.51.100.1",  # TEST-NET-2
    "203.0.113.1",  # TEST-NET-3
    "224.0.0.1",  # multicast
    "239.255.255.250",  # multicast (SSDP)
    "240.0.0.1",  # reserved
    "255.255.255.255",  # broadcast
]
V6 = [
    "::",  # unspecified
    "::1",  # loopback
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:a9fe:a9fe",  # IPv4-mapped 169.254.169.254, in hex
    "::127.0.0.1",  # IPv4-compatible (deprecated) loopback
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2002:a9fe:a9fe::1",  # 6to4 of the metadata address
    "2001::1",  # Teredo
    "2001:db8::1",  # documentation
    "100::1",  # discard-only
    "fc00::1",  # unique local
    "fd00:ec2::254",  # AWS metadata over IPv6 (unique local)
    "fe80::1",  # link-local
    "fec0::1",  # site-local (deprecated)
    "ff02::1",  # multicast
]
ALLOWED = "198.51.100.7"  # TEST-NET-2, allow-listed on its own for the PATCH checks
NAMES = ["localhost", "LOCALHOST", "localhost.", "vm", "runsc"]  # /etc/hosts: 127.0.0.1
# 422: not the document's form of a URL (legacy IPv4 forms, zone ids, mapped addresses); 403: a
# URL of that form, refused as a target (a non-public address, or a name resolving to one).
REFUSED = (403, 422)


def v4_forms(address: str) -> list[str]:
    """Every way ``inet_aton`` (and so a URL, for some clients) reads the address."""
    ip = ipaddress.IPv4Address(address)
    n, parts = int(ip), [int(p) for p in address.split(".")]
    return sorted(
        {
            address,
            address + ".",
            str(n),
            hex(n),
            "0" + oct(n)[2:],
            ".".join("0" + oct(p)[2:] if p else "0" for p in parts),
            ".".join(hex(p) for p in parts),
            f"{parts[0]}.{(parts[1] << 16) | (parts[2] << 8) | parts[3]}",
            f"{parts[0]}.{parts[1]}.{(parts[2] << 8) | parts[3]}",
            ".".join(f"{p:03d}" for p in parts) if all(p < 8 for p in parts) else address,
        }
    )


def v6_forms(address: str) -> list[str]:
    """The address compressed, exploded, upper-case, and with a zone id."""
    ip = ipaddress.IPv6Address(address)
    return sorted(
        {f"[{address}]", f"[{ip.exploded}]", f"[{ip.compressed.upper()}]", f"[{ip}%25eth0]"}
    )


HOSTS = [h for a in V4 for h in v4_forms(a)] + [h for a in V6 for h in v6_forms(a)]


@pytest.mark.parametrize("host", HOSTS)
def test_every_form_is_refused_by_the_url_check(host: str) -> None:
    # (names pass this check: they are refused once resolved, below)
    tried("security: SSRF hosts checked (URL check)")
    with pytest.raises(ValueError):
        check_target_url(f"https://{host}/hook", allow_networks=AddressPolicy())


async def _post(http: aiohttp.ClientSession, body: dict[str, Any]) -> tuple[int, Any]:
    async with http.post("/v1/subscriptions", json=body, headers=A) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_every_form_is_refused_by_the_api(redis: Redis, redis_url: str) -> None:
    # One allowed target (a literal address: no DNS here), to have a subscription to PATCH.
    settings = settings_for(redis_url, allow_networks=[ALLOWED + "/32"], allow_http=False)
    async with serving(settings, redis) as (base, _), aiohttp.ClientSession(base) as http:
        status, made = await _post(http, HOOK | {"url": f"https://{ALLOWED}/h"})
        assert status == 201, made
        for host in [*HOSTS, *NAMES]:
            tried("security: SSRF URLs sent to the API (POST and PATCH)", 2)
            code, problem = await _post(http, HOOK | {"url": f"https://{host}/h"})
            assert code in REFUSED and problem["errors"][0]["field"] == "url", (host, problem)
            patch = {"url": f"https://{host}/h"}
            async with http.patch(f"/v1/subscriptions/{made['id']}", json=patch, headers=A) as r:
                assert r.status in REFUSED, (host, await r.text())


async def test_delivery_never_reaches_a_refused_address(redis: Redis, redis_url: str) -> None:
    """Stored without the API's checks: the session refuses them when it connects."""
    async with receiving() as rec:
        port = rec.port
        urls = [
            f"http://127.0.0.1:{port}/a",
            f"http://2130706433:{port}/b",
            f"http://0x7f.1:{port}/c",
            f"http://localhost:{port}/d",
            f"http://[::ffff:127.0.0.1]:{port}/e",
            f"http://vm:{port}/f",
        ]
        settings = settings_for(redis_url, allow_networks=[], allow_http=True)
        store = SubscriptionStore(redis)
        for url in urls:
            await subscribe(store, channel="webhook", url=url)
        async with dispatching(redis, settings):
            await publish(redis, make_alert())

            async def parked() -> bool:
                return await redis.xlen(keys.dlq("delivery")) >= len(urls)

            await eventually(parked, within=10)
        tried("security: SSRF deliveries attempted", len(urls))
        assert rec.seen == []  # not one byte reached the target


async def test_a_redirect_to_a_private_address_is_not_followed(
    redis: Redis, redis_url: str
) -> None:
    hops: list[str] = []

    async def redirect(request: web.Request, body: bytes) -> web.StreamResponse:
        hops.append(request.path)
        if request.path == "/start":
            raise web.HTTPTemporaryRedirect("http://169.254.169.254/latest/meta-data/")
        return web.Response(text="should never be reached")

    async with receiving(redirect) as rec:
        settings = settings_for(redis_url)  # the receiver's loopback is allowed, 169.254 is not
        await subscribe(SubscriptionStore(redis), channel="webhook", url=rec.url("/start"))
        async with dispatching(redis, settings):
            await publish(redis, make_alert())

            async def parked() -> bool:
                return await redis.xlen(keys.dlq("delivery")) >= 1

            await eventually(parked, within=10)
    tried("security: SSRF redirects tried")
    assert hops == ["/start"]
    reason = (await redis.xrange(keys.dlq("delivery")))[0][1][b"reason"].decode()
    assert "redirect" in reason
