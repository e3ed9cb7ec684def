"""HTTP/1.1 on the wire for the delivery client (:mod:`notifier.channels.http`): the request
head we send, and an incremental parser of the response a receiver sends back.

Pure: bytes in, values out, no I/O. The parser is fed whatever the socket hands over, split
anywhere (a test feeds every split of the same bytes and expects the same reply), and reads
only what delivery needs: status, headers, a body cut at ``max_body`` bytes, and whether the
connection may carry another request. Its framing follows RFC 9112 section 6: no body for 204,
304, 1xx and HEAD; ``Transfer-Encoding`` (chunked last) over ``Content-Length``; else the body
runs to the close. Interim 1xx answers are skipped. Anything it cannot frame for sure is a
:class:`~notifier.errors.ChannelError` (a transport error: retried, never a delivery).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from notifier.errors import ChannelError

MAX_HEAD = 64 * 1024  # bytes of status line and headers (and of a chunked body's trailers)
MAX_HEADERS = 128  # header lines in one response
MAX_CHUNK_LINE = 1024  # a chunk-size line with its extensions
_STATUS = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9]{2})(?: [^\r\n]*)?")
_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\r\n]*)?")
_NO_BODY = frozenset({204, 304})
_FRAMING = frozenset({"connection", "transfer-encoding", "content-length"})
_BODILESS = frozenset({"GET", "HEAD"})  # methods sent without Content-Length when empty
# Headers a caller may not set: they frame the message or the connection.
RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection", "te"})


def broken(what: str) -> ChannelError:
    """The receiver's answer could not be read: a transport error (retried)."""
    return ChannelError(f"{what}: transport error")


def request_head(
    method: str,
    target: str,
    authority: str,
    headers: Mapping[str, str],
    length: int,
    fixed: str = "",
) -> bytes:
    """The request line and headers: ``Host`` first, then ``fixed`` (header lines the client
    sends with every request, already checked: :func:`header_lines`), ``headers``, and
    ``Content-Length`` last (left out of an empty GET or HEAD).

    A header name or value that would end its line (CR, LF, NUL) is refused, not sent: values
    come from subscriptions (tokens, secrets) and must not smuggle a header in. So is a header
    that frames the message or is the client's own (``RESERVED``)."""
    lines = [f"{method} {target} HTTP/1.1\r\nHost: {authority}\r\n{fixed}"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\0" in value or not _sendable(name):
            raise ChannelError(f"header {name!r} cannot be sent", permanent=True)
        lines.append(f"{name}: {value}\r\n")
    empty = not length and method in _BODILESS
    lines.append("\r\n" if empty else f"Content-Length: {length}\r\n\r\n")
    return "".join(lines).encode("utf-8")


def header_lines(headers: Mapping[str, str]) -> str:
    """Header lines checked once, for :func:`request_head`'s ``fixed``."""
    head = request_head("GET", "/", "-", headers, 0)
    return head.decode("utf-8").split("\r\n", 2)[2].removesuffix("\r\n")


class ResponseParser:
    """One response, fed in pieces; :attr:`done` once it is complete (or cut at the cap).

    After ``done``: :attr:`status`, :attr:`headers` (name, value pairs as sent), :attr:`body`
    (at most ``max_body`` bytes), :attr:`truncated` (the body went on past the cap) and
    :attr:`reusable` (the connection may carry the next request: the answer was framed by its
    length, read whole, with nothing after it, and nobody asked to close)."""

    def __init__(self, max_body: int, *, head_request: bool = False) -> None:
        self.max_body = max_body
        self.head_request = head_request
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.body = b""
        self.truncated = False
        self.reusable = False
        self.done = False
        self._buf = bytearray()
        self._body = bytearray()
        self._state = "head"  # head, length, chunk-size, chunk-data, chunk-end, trailers, close
        self._left = 0  # bytes left of the body (length) or of the chunk (chunk-data)
        self._keep = False  # the headers allow another request on the connection

    def feed(self, data: bytes) -> bool:
        """Take the next bytes from the socket; whether the response is complete."""
        if self.done:
            if data:
                self.reusable = False  # bytes nobody asked for: the framing is not ours
            return True
        self._buf += data
        while not self.done:
            before = (self._state, len(self._buf))
            self._step()
            if (self._state, len(self._buf)) == before and not self.done:
                break  # waits for more bytes
        if self.done and self._buf:
            self.reusable = False
        return self.done

    def feed_eof(self) -> bool:
        """The receiver closed its side; whether that completed the response (a body that runs
        to the close). A response cut short raises."""
        if self.done:
            return True
        if self._state == "close":
            self._finish(reusable=False)
            return True
        if self._state == "head" and not self._buf and not self.status:
            raise broken("connection closed before any answer")
        raise broken("connection closed in the middle of the answer")

    # -- states -----------------------------------------------------------------------------

    def _step(self) -> None:
        state = self._state
        if state == "head":
            self._head()
        elif state in ("length", "close", "chunk-data"):
            self._data()
        elif state == "chunk-size":
            self._chunk_size()
        elif state == "chunk-end":
            self._chunk_end()
        else:
            self._trailers()

    def _head(self) -> None:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > MAX_HEAD:
                raise broken("response head too large")
            return
        if end > MAX_HEAD:
            raise broken("response head too large")
        raw = bytes(self._buf[:end])
        del self._buf[: end + 4]
        head = _HEADS.get(raw)
        if head is None:
            head = _read_head(raw)
            if head is None:
                return  # an interim answer: the real one follows
            if len(_HEADS) >= HEADS_KEPT:
                _HEADS.clear()
            _HEADS[raw] = head
        self.status, self.headers = head.status, list(head.headers)
        self._frame(head)

    def _frame(self, head: _Head) -> None:
        """How the body is delimited (RFC 9112 6.3), and whether the connection stays open."""
        self._keep = head.keep
        if self.head_request or self.status in _NO_BODY:
            self._finish(reusable=self._keep)
            return
        if head.encodings:
            if head.encodings[-1] != "chunked":
                self._state = "close"  # a body that runs to the close
                return
            self._keep = self._keep and not head.lengths  # both: smuggling-shaped, never reused
            self._state = "chunk-size"
            return
        if head.lengths:
            self._left = _content_length(head.lengths)
            self._state = "length"
            if self._left == 0:
                self._finish(reusable=self._keep)
            return
        self._state = "close"

    def _data(self) -> None:
        """Body bytes: of a known length, of a chunk, or up to the close."""
        if not self._buf:
            return
        take = len(self._buf) if self._state == "close" else min(self._left, len(self._buf))
        self._keep_body(bytes(self._buf[:take]))
        del self._buf[:take]
        self._left -= take
        if self.done or self._left > 0 or self._state == "close":
            return
        if self._state == "length":
            self._finish(reusable=self._keep)
        else:
            self._state = "chunk-end"

    def _chunk_size(self) -> None:
        line = self._line(MAX_CHUNK_LINE, "chunk size line too long")
        if line is None:
            return
        size = _CHUNK_SIZE.fullmatch(line)
        if size is None:
            raise broken("malformed chunk size")
        self._left = int(size[1], 16)
        self._state = "chunk-data" if self._left else "trailers"

    def _chunk_end(self) -> None:
        if len(self._buf) < 2:
            return
        if self._buf[:2] != b"\r\n":
            raise broken("malformed chunk end")
        del self._buf[:2]
        self._state = "chunk-size"

    def _trailers(self) -> None:
        line = self._line(MAX_HEAD, "response trailers too large")
        if line is None:
            return
        if line:
            _header(line)  # read, checked and dropped: delivery needs no trailer
            return
        self._finish(reusable=self._keep)

    # -- helpers ----------------------------------------------------------------------------

    def _line(self, limit: int, too_long: str) -> bytes | None:
        end = self._buf.find(b"\r\n")
        if end < 0:
            if len(self._buf) > limit:
                raise broken(too_long)
            return None
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    def _keep_body(self, data: bytes) -> None:
        room = self.max_body - len(self._body)
        if len(data) > room:
            self._body += data[:room]
            self.truncated = True
            self._finish(reusable=False)  # the rest is not read: the connection goes
            return
        self._body += data

    def _finish(self, *, reusable: bool) -> None:
        self.body = bytes(self._body)
        self.reusable = reusable and not self.truncated
        self.done = True


class _Head(NamedTuple):
    """A response head as read (status line and headers) with what framing reads of it."""

    status: int
    headers: tuple[tuple[str, str], ...]
    keep: bool  # the version and Connection header allow another request
    encodings: list[str]  # Transfer-Encoding tokens, lower case, in order
    lengths: list[str]  # the Content-Length values


# Heads read already, by their bytes: a receiver answers thousands of deliveries with the same
# head (its Date changes once a second), and reading one costs more than the rest of a reply.
HEADS_KEPT = 64
_HEADS: dict[bytes, _Head] = {}


def _read_head(raw: bytes) -> _Head | None:
    """The head of a final response (None for an interim 1xx one); ChannelError if malformed."""
    lines = raw.split(b"\r\n")
    status = _STATUS.fullmatch(lines[0])
    if status is None:
        raise broken("malformed status line")
    if len(lines) > MAX_HEADERS + 1:
        raise broken("too many response headers")
    code = int(status[2])
    headers = tuple(_header(line) for line in lines[1:])
    if 100 <= code < 200:
        if code == 101:
            raise broken("unexpected protocol switch")
        return None
    found: dict[str, list[str]] = {}  # the framing headers' values, in one pass
    for name, value in headers:
        low = name.lower()
        if low in _FRAMING:
            found.setdefault(low, []).append(value)
    connection = _tokens(found.get("connection", ()))
    http11 = status[1] == b"1"
    keep = "keep-alive" in connection if not http11 else "close" not in connection
    encodings = _tokens(found.get("transfer-encoding", ()))
    return _Head(code, headers, keep, encodings, found.get("content-length", []))


# Header names checked once: the few our channels send, the few receivers answer with.
_SENDABLE: set[str] = set()
_RECEIVED: dict[bytes, str] = {}
NAMES_KEPT = 512


def _sendable(name: str) -> bool:
    if name in _SENDABLE:
        return True
    if not _NAME.fullmatch(name.encode()) or name.lower() in RESERVED:
        return False
    if len(_SENDABLE) < NAMES_KEPT:
        _SENDABLE.add(name)
    return True


def _header(line: bytes) -> tuple[str, str]:
    raw, sep, value = line.partition(b":")
    name = _RECEIVED.get(raw)
    if not sep:
        raise broken("malformed response header")
    if name is None:
        if not _NAME.fullmatch(raw):  # also a folded line (RFC 9112 5.2: rejected)
            raise broken("malformed response header")
        name = raw.decode("ascii")
        if len(_RECEIVED) < NAMES_KEPT:
            _RECEIVED[raw] = name
    return name, value.strip(b" \t").decode("utf-8", "surrogateescape")


def _tokens(values: Iterable[str]) -> list[str]:
    """The comma-separated tokens of a header's values, lower case, in order."""
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def _content_length(values: list[str]) -> int:
    """One length from ``Content-Length`` headers; the same number repeated is one number."""
    found = {v.strip() for value in values for v in value.split(",")}
    if len(found) != 1:
        raise broken("conflicting content lengths")
    text = found.pop()
    if not text.isascii() or not text.isdigit() or len(text) > 15:
        raise broken("malformed content length")
    return int(text)
