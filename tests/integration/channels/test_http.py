"""The delivery client against real servers on 127.0.0.1: aiohttp applications for what a
receiver usually does, and a raw asyncio server for what a broken one does.

Keep-alive and its end (``Connection: close``, a server closing an idle connection), chunked
and close-delimited bodies, the body cap, slow, hanging and resetting servers, the per-origin
bound, TLS with a private CA (verification, SNI) and the SSRF policy at connect time. A POST is
never sent twice by the client: each test that breaks a connection counts what arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from notifier.channels.http import DeliveryClient, Reply
from notifier.errors import ChannelError
from tests.security.test_redis_auth_tls import make_certs

LOOPBACK = ["127.0.0.0/8", "::1/128"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Seen:
    """What a server saw: requests (path, body) and the client ports they came from."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []
        self.ports: list[int] = []
        self.open = 0  # requests being answered now
        self.most = 0  # the most at once


@contextlib.asynccontextmanager
async def app_server(
    handler: Handler, ssl_context: ssl.SSLContext | None = None, **runner_opts: object
) -> AsyncIterator[tuple[int, Seen]]:
    seen = Seen()

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.requests.append((request.path_qs, await request.read()))
        peer = request.transport.get_extra_info("peername") if request.transport else None
        seen.ports.append(peer[1] if peer else 0)
        seen.open += 1
        seen.most = max(seen.most, seen.open)
        try:
            return await handler(request)
        finally:
            seen.open -= 1

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5, **runner_opts)  # type: ignore[arg-type]
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    try:
        yield runner.addresses[0][1], seen
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def raw_server(
    answer: bytes | None, *, close: bool = True
) -> AsyncIterator[tuple[int, list[bytes]]]:
    """Reads each request head and answers ``answer`` as is (None: never answers; b"": closes
    without a word)."""
    got: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(100):
                head = await reader.readuntil(b"\r\n\r\n")
                got.append(head)
                if answer is None:
                    await asyncio.sleep(30)
                writer.write(answer)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], got
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await server.wait_closed()


@pytest.fixture
async def client() -> AsyncIterator[DeliveryClient]:
    async with DeliveryClient(allow_networks=LOOPBACK, allow_http=True, limit_per_host=4) as c:
        yield c


async def post(
    client: DeliveryClient, url: str, body: bytes = b"{}", total_s: float = 3.0
) -> Reply:
    return await client.request("POST", url, body, {}, total_s=total_s, max_body=1024)


async def test_keep_alive_reuses_one_connection(client: DeliveryClient) -> None:
    async def ok(request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async with app_server(ok) as (port, seen):
        for i in range(5):
            reply = await post(client, f"http://127.0.0.1:{port}/h/{i}", b'{"n": %d}' % i)
            assert reply.status == 204 and reply.body == b""
    assert seen.requests == [(f"/h/{i}", b'{"n": %d}' % i) for i in range(5)]
    assert len(set(seen.ports)) == 1, "one connection for all five"


async def test_connection_close_is_honoured(client: DeliveryClient) -> None:
    async def closing(request: web.Request) -> web.StreamResponse:
        return web.Response(text="bye", headers={"Connection": "close"})

    async with app_server(closing) as (port, seen):
        for _ in range(3):
            reply = await post(client, f"http://127.0.0.1:{port}/")
            assert reply.status == 200 and reply.body == b"bye"
    assert len(seen.requests) == 3 and len(set(seen.ports)) == 3


async def test_an_idle_connection_closed_by_the_server_is_not_used(client: DeliveryClient) -> None:
    async def ok(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    async with app_server(ok, keepalive_timeout=0.1) as (port, seen):
        await post(client, f"http://127.0.0.1:{port}/a")
        await asyncio.sleep(0.5)  # the server closes the idle connection
        reply = await post(client, f"http://127.0.0.1:{port}/b")
        assert reply.body == b"ok"
    assert [p for p, _ in seen.requests] == ["/a", "/b"] and len(set(seen.ports)) == 2


async def test_chunked_and_close_delimited_bodies(client: DeliveryClient) -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(status=200)
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for part in (b"hello ", b"chunked ", b"world"):
            await resp.write(part)
            await asyncio.sleep(0.01)
        await resp.write_eof()
        return resp

    async with app_server(chunked) as (port, seen):
        for _ in range(2):
            reply = await post(client, f"http://127.0.0.1:{port}/")
            assert reply.body == b"hello chunked world" and not reply.truncated
    assert len(set(seen.ports)) == 1, "a chunked answer read whole keeps the connection"
    async with raw_server(b"HTTP/1.0 200 OK\r\nX-Kind: old\r\n\r\nto the close") as (port, _):
        reply = await post(client, f"http://127.0.0.1:{port}/")
    assert reply.body == b"to the close" and reply.headers["x-kind"] == "old"


async def test_an_oversized_body_is_cut_and_its_connection_dropped(
    client: DeliveryClient,
) -> None:
    async def huge(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"x" * 1_000_000, status=500)

    async with app_server(huge) as (port, seen):
        for _ in range(2):
            reply = await post(client, f"http://127.0.0.1:{port}/")
            assert reply.status == 500 and reply.truncated and reply.body == b"x" * 1024
    assert len(set(seen.ports)) == 2, "the rest was not drained: the connection went"


async def test_slow_and_hanging_servers_time_out(client: DeliveryClient) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(2)
        return web.Response(status=204)

    async with app_server(slow) as (port, seen):
        with pytest.raises(ChannelError, match=r"timed out after 0\.3s") as err:
            await post(client, f"http://127.0.0.1:{port}/", total_s=0.3)
    assert not err.value.permanent and len(seen.requests) == 1
    async with raw_server(None) as (port, got):
        with pytest.raises(ChannelError, match="timed out"):
            await post(client, f"http://127.0.0.1:{port}/", total_s=0.3)
    assert len(got) == 1


async def test_a_connection_dropped_before_the_answer_is_no_second_post(
    client: DeliveryClient,
) -> None:
    async with raw_server(b"") as (port, got):
        with pytest.raises(ChannelError, match="transport error") as err:
            await post(client, f"http://127.0.0.1:{port}/")
        assert not err.value.permanent
        await asyncio.sleep(0.1)
    assert len(got) == 1, "written once, never sent again by the client"
    async with raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort") as (port, _):
        with pytest.raises(ChannelError, match="transport error"):
            await post(client, f"http://127.0.0.1:{port}/")
    async with raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab"
    ) as (
        port,
        _,
    ):
        with pytest.raises(ChannelError, match="transport error"):
            await post(client, f"http://127.0.0.1:{port}/")


async def test_redirects_and_answers_are_returned_not_followed(client: DeliveryClient) -> None:
    async def moved(request: web.Request) -> web.StreamResponse:
        if request.path == "/old":
            raise web.HTTPFound("/new")
        return web.Response(status=503, headers={"Retry-After": "7"})

    async with app_server(moved) as (port, seen):
        reply = await post(client, f"http://127.0.0.1:{port}/old")
        assert reply.status == 302 and reply.headers["Location"] == "/new"
        reply = await post(client, f"http://127.0.0.1:{port}/busy")
        assert reply.status == 503 and reply.headers["retry-after"] == "7"
    assert [p for p, _ in seen.requests] == ["/old", "/busy"]


async def test_at_most_limit_per_host_connections_at_once(client: DeliveryClient) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.1)
        return web.Response(status=204)

    async with app_server(slow) as (port, seen):
        replies = await asyncio.gather(
            *(post(client, f"http://127.0.0.1:{port}/") for _ in range(12))
        )
    assert all(r.status == 204 for r in replies)
    assert seen.most == 4 and len(set(seen.ports)) == 4


async def test_refused_targets_are_not_connected_to() -> None:
    async def ok(request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async with app_server(ok) as (port, seen):
        async with DeliveryClient(allow_http=True) as strict:
            for url in (f"http://127.0.0.1:{port}/", f"http://localhost:{port}/"):
                with pytest.raises(ChannelError, match="target refused") as err:
                    await post(strict, url)
                assert err.value.permanent
        async with DeliveryClient(allow_networks=LOOPBACK) as https_only:
            with pytest.raises(ChannelError, match="scheme must be https"):
                await post(https_only, f"http://127.0.0.1:{port}/")
        async with DeliveryClient(allow_networks=LOOPBACK, allow_http=True) as ok_client:
            with pytest.raises(ChannelError, match="invalid target URL"):
                await post(ok_client, "http://[::1/")
            with pytest.raises(ChannelError, match="cannot be sent") as err:
                await ok_client.request(
                    "POST",
                    f"http://127.0.0.1:{port}/",
                    b"",
                    {"X-A": "1\r\nX-B: 2"},
                    total_s=1,
                    max_body=1,
                )
            assert err.value.permanent
            with pytest.raises(ChannelError, match="cannot connect"):
                await post(ok_client, "http://127.0.0.1:9/")
    assert seen.requests == []


async def test_tls_is_verified_and_names_the_host(tmp_path: Path) -> None:
    ca, cert, key = make_certs(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment, func-returns-value]

    async def ok(request: web.Request) -> web.StreamResponse:
        return web.Response(text="secure")

    trusting = ssl.create_default_context(cafile=str(ca))
    async with app_server(ok, ssl_context=server_ctx) as (port, seen):
        async with DeliveryClient(allow_networks=LOOPBACK, ssl_context=trusting) as c:
            for host in ("localhost", "127.0.0.1"):
                reply = await post(c, f"https://{host}:{port}/")
                assert reply.body == b"secure"
        async with DeliveryClient(allow_networks=LOOPBACK) as default:  # system CAs only
            with pytest.raises(ChannelError, match=r"cannot connect.*CERTIFICATE_VERIFY_FAILED"):
                await post(default, f"https://localhost:{port}/")
    assert names[0] == "localhost", "SNI names the host"
    assert len(seen.requests) == 2
