"""HTTP/1.1 on the wire: the response parser read whole or in any pieces, its framing rules,
garbage answered with ChannelError only; the request head; URLs routed as yarl reads them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.channels.http import _parsed_route, route
from notifier.channels.wire import ResponseParser, request_head
from notifier.errors import ChannelError

NAMES = ["Server", "Date", "Content-Type", "X-Request-Id", "Retry-After", "Set-Cookie", "Vary"]
VALUE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)


@dataclass
class Response:
    raw: bytes
    status: int
    body: bytes  # the whole body as sent
    framing: str  # length, chunked, close, none


@st.composite
def responses(draw: st.DrawFn) -> Response:
    status = draw(st.sampled_from([200, 201, 204, 302, 304, 404, 410, 429, 500, 503]))
    framing = (
        "none" if status in (204, 304) else draw(st.sampled_from(["length", "chunked", "close"]))
    )
    body = b"" if framing == "none" else draw(st.binary(max_size=300))
    headers = draw(st.lists(st.tuples(st.sampled_from(NAMES), VALUE), max_size=5))
    head = b"HTTP/1.0" if framing == "close" and draw(st.booleans()) else b"HTTP/1.1"
    lines = [head + b" %d Whatever" % status]
    lines += [f"{n}: {v}".encode() for n, v in headers]
    if framing == "length":
        lines.append(b"Content-Length: %d" % len(body))
        payload = body
    elif framing == "chunked":
        lines.append(b"Transfer-Encoding: chunked")
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=4)))
        parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        ext = b";x=1" if draw(st.booleans()) else b""
        payload = b"".join(b"%x%s\r\n%s\r\n" % (len(p), ext, p) for p in parts if p)
        payload += b"0\r\nX-Trailer: t\r\n\r\n" if draw(st.booleans()) else b"0\r\n\r\n"
    else:
        payload = body
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" if draw(st.booleans()) else b""
    raw = interim + b"\r\n".join(lines) + b"\r\n\r\n" + payload
    return Response(raw, status, body, framing)


def read(pieces: list[bytes], max_body: int) -> ResponseParser:
    parser = ResponseParser(max_body)
    for piece in pieces:
        if parser.feed(piece):
            break
    if not parser.done:
        parser.feed_eof()
    return parser


def outcome(p: ResponseParser) -> tuple[object, ...]:
    return (p.status, p.headers, p.body, p.truncated, p.reusable)


@settings(max_examples=300, deadline=None)
@given(responses(), st.data(), st.integers(0, 400))
def test_any_split_of_the_bytes_reads_the_same(
    resp: Response, data: st.DataObject, cap: int
) -> None:
    whole = read([resp.raw], cap)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(resp.raw)), max_size=12)))
    pieces = [resp.raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(resp.raw)], strict=True)]
    assert outcome(read(pieces, cap)) == outcome(whole)
    assert whole.status == resp.status
    assert whole.body == resp.body[:cap]
    assert whole.truncated == (len(resp.body) > cap)
    kept_open = resp.framing in ("length", "chunked", "none") and not whole.truncated
    assert whole.reusable == kept_open


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8))
def test_garbage_is_a_channel_error_or_an_answer(pieces: list[bytes]) -> None:
    parser = ResponseParser(100)
    try:
        for piece in pieces:
            parser.feed(piece)
        parser.feed_eof()
    except ChannelError as exc:
        assert str(exc).endswith("transport error") and not exc.permanent
    else:
        assert parser.done and 100 <= parser.status <= 999


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", "conflicting"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "malformed content length"),
        (b"HTTP/1.1 200 OK\r\n folded: no\r\n\r\n", "malformed response header"),
        (b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "malformed response header"),
        (b"HTTP/2 200\r\n\r\n", "malformed status line"),
        (b"HTTP/1.1 101 Switching\r\n\r\n", "protocol switch"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc", "chunk end"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70_000, "head too large"),
    ],
)
def test_what_cannot_be_framed_for_sure_is_refused(raw: bytes, why: str) -> None:
    with pytest.raises(ChannelError, match=why):
        read([raw], 100)


def test_keep_alive_follows_the_version_and_connection_header() -> None:
    def reusable(raw: bytes) -> bool:
        return read([raw], 100).reusable

    assert reusable(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert not reusable(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
    assert not reusable(b"HTTP/1.0 204 No Content\r\n\r\n")
    assert reusable(b"HTTP/1.0 204 No Content\r\nConnection: Keep-Alive\r\n\r\n")
    both = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    assert read([both], 100).body == b"" and not reusable(both), "smuggling-shaped: closed"
    assert not reusable(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab"), "bytes after it"
    head = ResponseParser(100, head_request=True)
    assert head.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n") and head.reusable


def test_the_request_head_refuses_a_smuggled_header() -> None:
    head = request_head("POST", "/h?x=1", "example.com:8443", {"webhook-id": "a|b"}, 2)
    assert head == (
        b"POST /h?x=1 HTTP/1.1\r\nHost: example.com:8443\r\nwebhook-id: a|b\r\n"
        b"Content-Length: 2\r\n\r\n"
    )
    assert b"Content-Length" not in request_head("GET", "/", "h", {}, 0)
    bad = [
        ("X-A", "1\r\nX-B: 2"),
        ("X-A", "1\n"),
        ("X A", "1"),
        ("X:A", "1"),
        ("content-length", "9"),
    ]
    for name, value in bad:
        with pytest.raises(ChannelError, match="cannot be sent"):
            request_head("POST", "/", "h", {name: value}, 0)


URL_CHARS = "abcXYZ09-._~%/?#=&+:@!$'()*,;[] é"


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["http", "https", "HTTP", "ftp"]),
    st.lists(st.text("abz09-_X", min_size=1, max_size=6), min_size=1, max_size=3),
    st.one_of(st.none(), st.integers(0, 70_000), st.just("080")),
    st.text(URL_CHARS, max_size=20),
)
def test_a_url_is_routed_as_yarl_reads_it(
    scheme: str, labels: list[str], port: int | str | None, rest: str
) -> None:
    url = f"{scheme}://{'.'.join(labels)}{'' if port is None else f':{port}'}/{rest}"
    try:
        expected = _parsed_route(url)
    except (TypeError, ValueError):
        with pytest.raises((TypeError, ValueError)):
            route(url)
        return
    assert route(url) == expected
