"""The leanest webhook receiver we could write, for when nginx cannot be had: one process, an
asyncio protocol on uvloop that answers every request ``204 No Content`` without parsing more
than its Content-Length, counting requests.

``python -m bench.lean_receiver PORT...``: prints ``url http://127.0.0.1:P ...``;
``GET /count`` on any port answers the number of other requests so far (as text).
"""

from __future__ import annotations

import asyncio
import sys

from workers.cli.main import run_async

COUNT = [0]
NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


class Hook(asyncio.Protocol):
    """One connection: split requests by their headers and Content-Length, answer each."""

    def __init__(self) -> None:
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            head = self.buf[:end].lower()
            at = head.find(b"content-length:")
            size = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buf) < end + 4 + size:
                return
            self.buf = self.buf[end + 4 + size :]
            self._answer(head)

    def _answer(self, head: bytes) -> None:
        assert self.transport is not None
        if head.startswith(b"get /count"):
            body = str(COUNT[0]).encode()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            return
        COUNT[0] += 1
        self.transport.write(NO_CONTENT)


async def main(ports: list[int]) -> None:
    """Listen on every port (0: a free one) until killed."""
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(Hook, "127.0.0.1", p) for p in ports]
    urls = [f"http://127.0.0.1:{s.sockets[0].getsockname()[1]}" for s in servers]
    print("url", *urls, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    run_async(main([int(p) for p in sys.argv[1:]] or [0]))
