"""The delivery client's connections: an asyncio Protocol per connection, pooled per origin.

:class:`Pool` keeps idle connections per origin (scheme, host, port) for ``KEEPALIVE_S`` and
bounds those in use: ``limit`` in all, ``limit_per_host`` per origin, waiters served in order.
A new connection goes only to an address the :class:`~notifier.net.AddressPolicy` allows: a
literal address is checked before connecting, a name is resolved through
:class:`~notifier.net.SafeResolver` (non-public answers dropped; kept ``DNS_TTL_S``), and the
peer of every connection is checked again once connected. TLS uses the default verified
context and names the host (SNI, without its trailing dot).

A :class:`Connection` carries one request at a time; its answer is fed to a
:class:`~notifier.channels.wire.ResponseParser` as the bytes arrive. A connection the receiver
closed while idle is seen closed before anything is written on it and is not used.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections import deque

from notifier.channels.deadlines import Deadlines
from notifier.channels.wire import ResponseParser, broken
from notifier.errors import BlockedAddressError, ChannelError
from notifier.net import AddressPolicy, SafeResolver

KEEPALIVE_S = 30.0  # an idle connection is closed after this long
DNS_TTL_S = 10.0  # a name's allowed addresses are kept this long
CONNECT_MAX_S = 5.0  # resolving, connecting and the TLS handshake, within the total
DNS_CACHE = 10_000  # names whose addresses a pool remembers
Origin = tuple[str, str, int]  # scheme, host, port


class Connection(asyncio.Protocol):
    """One connection: at most one request on it at a time, its answer fed to a parser."""

    def __init__(self, deadlines: Deadlines) -> None:
        self.deadlines = deadlines  # the pool's: where an exchange's deadline waits
        self.transport: asyncio.Transport | None = None
        self.parser: ResponseParser | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False  # the receiver closed it (or it broke): no request goes on it
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio one

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None or parser.done:  # bytes nobody asked for: not ours to reuse
            self.close()
            return
        try:
            if parser.feed(data):
                self._wake(None)
        except ChannelError as exc:
            self._wake(exc)

    def eof_received(self) -> bool:
        self.closed = True
        self._ended()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if exc is None:
            self._ended()
        else:
            self._wake(broken(f"connection lost ({type(exc).__name__})"))

    def _ended(self) -> None:
        """The receiver closed: a body that runs to the close is complete now."""
        parser = self.parser
        if parser is None or self.waiter is None:
            return
        try:
            parser.feed_eof()
            self._wake(None)
        except ChannelError as exc:
            self._wake(exc)

    def _wake(self, exc: ChannelError | None) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if exc is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(exc)

    async def exchange(self, data: bytes, parser: ResponseParser, deadline: float) -> None:
        """Write one request and wait for its whole answer (``parser`` holds it) until
        ``deadline`` (loop time; TimeoutError then, at most ``deadlines.TICK_S`` late). The
        pool's coarse deadlines, not a timer on the loop: this runs once per delivery."""
        if self.transport is None or not self.usable():  # closed before a byte was written
            raise broken("connection closed before the request")
        self.parser = parser
        self.waiter = waiter = asyncio.get_running_loop().create_future()
        tick = self.deadlines.add(deadline, self)
        try:
            self.transport.write(data)
            await waiter
        finally:
            self.deadlines.drop(tick, self)
            self.waiter = None

    def expire(self) -> None:
        """The exchange's deadline passed: it ends with TimeoutError."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(TimeoutError())

    def usable(self) -> bool:
        """Whether a request may be written on it now (open, nothing half-read)."""
        t = self.transport
        return not self.closed and t is not None and not t.is_closing()

    def close(self) -> None:
        """Close it (the receiver may still be sending: nothing more is read)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Pool:
    """Connections per origin, bounded in use, idle ones kept for reuse (see module doc)."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        limit: int,
        limit_per_host: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self.limit, self.limit_per_host = limit, limit_per_host
        self._ssl = ssl_context
        self._resolver: SafeResolver | None = None
        self._dns: dict[tuple[str, int], tuple[float, list[tuple[int, str]]]] = {}
        self._idle: dict[Origin, list[Connection]] = {}
        self._busy: dict[Origin, int] = {}
        self._in_use = 0
        self._waiters: deque[tuple[Origin, asyncio.Future[None]]] = deque()
        self._sweep: asyncio.TimerHandle | None = None
        self.deadlines = Deadlines()  # every exchange's, one loop timer for them all
        self.closed = False

    async def close(self) -> None:
        """Close the idle connections (those in use close when they are released)."""
        self.closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
        if self._sweep is not None:
            self._sweep.cancel()
        if self._resolver is not None:
            await self._resolver.close()

    def _room(self, origin: Origin) -> bool:
        return self._in_use < self.limit and self._busy.get(origin, 0) < self.limit_per_host

    def _take(self, origin: Origin) -> None:
        self._in_use += 1
        self._busy[origin] = self._busy.get(origin, 0) + 1

    def take(self, origin: Origin) -> Connection | None:
        """An idle connection to ``origin`` if there is room for it (counted as in use until
        :meth:`release`), else None: :meth:`acquire` waits or connects. Without a coroutine:
        the usual send finds one."""
        if not self._room(origin) or not self._idle.get(origin):
            return None
        self._take(origin)
        conn = self._idle_conn(origin)
        if conn is None:  # every idle one was closed meanwhile
            self._give_back(origin)
        return conn

    async def acquire(self, origin: Origin, deadline: float) -> Connection:
        """A connection to ``origin``, idle or new, counted as in use until :meth:`release`;
        TimeoutError past ``deadline`` (loop time)."""
        if self._room(origin):  # then nobody waits for it: every release hands places on
            self._take(origin)
        else:  # handed a place by _give_back, in order
            async with asyncio.timeout_at(deadline):
                await self._wait(origin)
        try:
            conn = self._idle_conn(origin)
            if conn is None:  # connect bounds itself (within what is left)
                conn = await self.connect(origin, deadline - asyncio.get_running_loop().time())
            return conn
        except BaseException:
            self._give_back(origin)
            raise

    async def _wait(self, origin: Origin) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((origin, waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._give_back(origin)  # handed a place just as the wait ended
            else:
                self._waiters.remove((origin, waiter))
            raise

    def _idle_conn(self, origin: Origin) -> Connection | None:
        """The most recently used idle connection still open (the others are closed)."""
        idle = self._idle.get(origin)
        now = asyncio.get_running_loop().time()
        while idle:
            conn = idle.pop()
            if conn.usable() and now - conn.idle_since < KEEPALIVE_S:
                return conn
            conn.close()
        return None

    def release(self, origin: Origin, conn: Connection, *, reusable: bool) -> None:
        """Give a connection back: kept idle if ``reusable``, else closed."""
        conn.parser = None
        if reusable and not self.closed:
            conn.idle_since = asyncio.get_running_loop().time()
            idle = self._idle.setdefault(origin, [])
            idle.append(conn)
            if len(idle) > self.limit_per_host:
                idle.pop(0).close()
            if self._sweep is None:
                self._sweep = asyncio.get_running_loop().call_later(KEEPALIVE_S, self._sweep_idle)
        else:
            conn.close()
        self._give_back(origin)

    def _give_back(self, origin: Origin) -> None:
        """A place in use is free: hand it to the first waiter it fits, in order."""
        self._in_use -= 1
        left = self._busy[origin] - 1
        if left:
            self._busy[origin] = left
        else:
            del self._busy[origin]
        for item in list(self._waiters):
            want, waiter = item
            if waiter.done():
                self._waiters.remove(item)
            elif self._room(want):
                self._waiters.remove(item)
                self._take(want)
                waiter.set_result(None)
            if self._in_use >= self.limit:
                break

    def _sweep_idle(self) -> None:
        """Close the connections idle for ``KEEPALIVE_S`` (and the closed ones)."""
        self._sweep = None
        now = asyncio.get_running_loop().time()
        for origin, idle in list(self._idle.items()):
            keep = [c for c in idle if c.usable() and now - c.idle_since < KEEPALIVE_S]
            for conn in idle:
                if conn not in keep:
                    conn.close()
            if keep:
                self._idle[origin] = keep
            else:
                del self._idle[origin]
        if self._idle and not self.closed:
            self._sweep = asyncio.get_running_loop().call_later(KEEPALIVE_S, self._sweep_idle)

    async def connect(self, origin: Origin, total_s: float) -> Connection:
        """A new connection to ``origin``, to an address the policy allows (ChannelError)."""
        scheme, host, port = origin
        tls = self._tls() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        last: OSError | None = None
        try:
            async with asyncio.timeout(min(total_s, CONNECT_MAX_S)):
                for family, address in await self._addresses(host, port):
                    try:
                        transport, conn = await loop.create_connection(
                            lambda: Connection(self.deadlines),
                            address,
                            port,
                            family=family,
                            ssl=tls,
                            server_hostname=host.rstrip(".") if tls is not None else None,
                        )
                    except OSError as exc:  # refused, unreachable, TLS (an SSLError)
                        last = exc
                        continue
                    self._check_peer(transport)
                    return conn
        except BlockedAddressError as exc:
            raise ChannelError(f"target refused: {exc}", permanent=True) from None
        except OSError as exc:  # the name does not resolve
            raise ChannelError(f"cannot connect: {exc}") from None
        raise ChannelError(f"cannot connect: {last}")

    def _check_peer(self, transport: asyncio.BaseTransport) -> None:
        """The address connected to is one the policy allows (whatever resolved it)."""
        peer = transport.get_extra_info("peername")
        try:
            self.policy.check(ipaddress.ip_address(peer[0]))
        except (BlockedAddressError, TypeError, ValueError, IndexError):
            transport.close()
            raise BlockedAddressError(f"peer {peer!r} is not allowed") from None

    async def _addresses(self, host: str, port: int) -> list[tuple[int, str]]:
        """(family, address) to try: a literal address if allowed, else the name's allowed
        addresses (BlockedAddressError if none)."""
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            self.policy.check(literal)
            return [(socket.AF_INET6 if literal.version == 6 else socket.AF_INET, host)]
        now = asyncio.get_running_loop().time()
        hit = self._dns.get((host, port))
        if hit is not None and hit[0] > now:
            return hit[1]
        if self._resolver is None:
            self._resolver = SafeResolver(self.policy)
        found = await self._resolver.resolve(host, port, family=socket.AF_UNSPEC)
        addresses = [(int(a["family"]), str(a["host"])) for a in found]
        if len(self._dns) >= DNS_CACHE:
            self._dns.clear()
        self._dns[(host, port)] = (now + DNS_TTL_S, addresses)
        return addresses

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()  # verified, system CAs
        return self._ssl
