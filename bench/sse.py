"""SSE fan-out: the time from an alert's XADD until the last of ``CLIENTS`` SSE clients has it.

The API (``init_app``, no tokens, bound to loopback) runs in this process against a private
server. ``CLIENT_PROCS`` client processes (``python -m bench.sse CLIENT HOST PORT COUNT``) each
open their share of ``/v1/stream`` connections as bare asyncio protocols with a minimal
HTTP/chunked/SSE parser, and say ``ready`` on stdout once every stream has answered. Then
``ALERTS`` goal alerts, each carrying its publish time (``time.monotonic()``, system-wide on
Linux and macOS), go to the alert stream ``GAP_S`` apart; each client stamps every frame as it
arrives. Per alert the figure is the latest receive time over all clients minus the publish time;
p50 and p99 are taken over the alerts. If the open-file limit cannot be raised far enough, the
client count is scaled down and the result says so.

The clients share this machine's cores with the server they time, which clients elsewhere would
not: so they are kept cheap (uvloop, a parser that does the least per frame) and run as
SCHED_BATCH (see :func:`stand_aside`), and the CPU each side used per alert is reported beside
the figure, to show which side the time went to.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import uvloop
from aiohttp import web

from bench.common import ROOT, Report, Result, percentile, private_server
from notifier.api.app import init_app
from notifier.bus import keys, streams
from notifier.bus.connect import connect
from notifier.bus.entries import alert_fields
from notifier.domain.alerts import Alert
from notifier.domain.models import MatchStatus, Score
from notifier.settings import Settings

CLIENTS = 10_000
CLIENT_PROCS = 4
ALERTS = 10
GAP_S = 1.0
TARGET_MS = 250.0
CONNECT_CONCURRENCY = 50  # connections being opened at once, per client process
BACKLOG = 1024  # listen backlog of the bench's site (setup speed only; not what is measured)
FD_MARGIN = 256  # descriptors a process needs besides its connections
READY_TIMEOUT_S = 180.0  # every client connected
COLLECT_TIMEOUT_S = 15.0  # after the last alert, for every client to have every alert
OVERALL_TIMEOUT_S = 300.0
HOST = "127.0.0.1"
MATCH = "api-football:1"


# --- client process ---------------------------------------------------------------------------


class Tally:
    """Which streams are done (have every alert, or were closed) once the count is known."""

    def __init__(self) -> None:
        self.expected: int | None = None  # alerts each stream should get; None: not told yet
        self.remaining = 0
        self.done = asyncio.Event()

    def check(self, client: SSEClient) -> None:
        """Count a stream that is done (once)."""
        if self.expected is None or client.finished:
            return
        if client.closed or len(client.got) >= self.expected:
            client.finished = True
            self.remaining -= 1
            if self.remaining <= 0:
                self.done.set()

    def expect(self, alerts: int, clients: list[SSEClient]) -> None:
        """From now on, a stream is done with ``alerts`` alerts."""
        self.expected, self.remaining = alerts, len(clients)
        if not clients:
            self.done.set()
        for c in clients:
            self.check(c)


class SSEClient(asyncio.Protocol):
    """One ``/v1/stream`` connection: stamps each alert frame with its arrival time.

    Lean on purpose: the client processes share the machine's cores with the server they time,
    so each microsecond a client spends on a frame is one the server does not get. A frame is
    kept whole with its arrival time; its data line is read after the run.
    """

    def __init__(self, request: bytes, ready: asyncio.Future[None], tally: Tally) -> None:
        self.request = request
        self.ready = ready
        self.tally = tally
        self.finished = False
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.headers_done = False
        self.chunked = False
        self.raw = b""  # undecoded chunked body
        self.sse = b""  # decoded SSE text not yet split into events
        self.got: list[tuple[float, bytes]] = []  # (arrival, SSE block) per alert
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.headers_done and not (data := self._headers(data)):
            return
        if self.chunked:
            data = self._dechunk(data)
        if self.sse:
            data, self.sse = self.sse + data, b""
        end = data.rfind(b"\n\n")
        if end < 0:
            self.sse = data
            return
        self.sse = data[end + 2 :]
        for block in data[:end].split(b"\n\n"):
            if b"\nevent: alert\n" in block:
                self.got.append((now, block))
                self.tally.check(self)
            elif not self.ready.done():
                self.ready.set_result(None)  # the first block: "retry: …\n: connected"

    def _headers(self, data: bytes) -> bytes:
        """The body bytes after the response head (none while the head is incomplete)."""
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            return b""
        head, data = self.head[:end], self.head[end + 4 :]
        self.head = b""
        if not head.startswith(b"HTTP/1.1 200"):
            status = head.split(b"\r\n", 1)[0].decode(errors="replace")
            self._fail(f"answered {status}")
            return b""
        self.headers_done = True
        self.chunked = b"transfer-encoding: chunked" in head.lower()
        return data

    def _dechunk(self, data: bytes) -> bytes:
        raw = self.raw + data if self.raw else data
        out: list[bytes] = []
        pos = 0
        while (line_end := raw.find(b"\r\n", pos)) >= 0:
            size = int(raw[pos:line_end].partition(b";")[0], 16)
            end = line_end + 2 + size
            if len(raw) < end + 2:
                break
            out.append(raw[line_end + 2 : end])
            pos = end + 2
            if size == 0:
                break
        self.raw = raw[pos:]
        return out[0] if len(out) == 1 else b"".join(out)

    def _fail(self, why: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(why))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.tally.check(self)
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before the stream began: {exc}"))


def alert_seq(block: bytes) -> int:
    """The ``bench_seq`` of an alert frame (an SSE block with a ``data:`` line)."""
    start = block.find(b"\ndata: ") + 7
    stop = block.find(b"\n", start)
    return int(orjson.loads(block[start : stop if stop >= 0 else None])["data"]["bench_seq"])


def stand_aside() -> None:
    """Run this client process as SCHED_BATCH (Linux): it never preempts the server on waking.

    Each frame the server writes wakes the client that owns the socket. A normal task woken
    that way preempts the server on its core, so one alert to 10,000 clients cost the server
    thousands of context switches, something a client on another machine never does. A batch
    task still runs at once on an idle core; it only waits for a busy one's time slice.
    """
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_BATCH"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def cpu_seconds() -> float:
    """CPU time (user and system) this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raise_nofile(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (up to the hard limit); the new soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def _open(
    host: str, port: int, request: bytes, gate: asyncio.Semaphore, tally: Tally
) -> SSEClient | None:
    loop = asyncio.get_running_loop()
    async with gate:
        ready: asyncio.Future[None] = loop.create_future()
        client = SSEClient(request, ready, tally)
        try:
            async with asyncio.timeout(60):
                await loop.create_connection(lambda: client, host, port)
                await ready
        except (OSError, TimeoutError):
            if client.transport is not None:
                client.transport.close()
            return None
        return client


async def client_main(host: str, port: int, count: int) -> None:
    """Open ``count`` streams, say ``ready``, then on ``collect N T`` report what arrived."""
    raise_nofile(count + FD_MARGIN)
    stand_aside()
    loop = asyncio.get_running_loop()
    request = (
        f"GET /v1/stream HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    tally = Tally()
    opened = await asyncio.gather(*(_open(host, port, request, gate, tally) for _ in range(count)))
    clients = [c for c in opened if c is not None]
    print(f"ready {len(clients)} {count - len(clients)}", flush=True)
    cpu = cpu_seconds()

    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    command = (await reader.readline()).split()
    if command and command[0] == b"collect":
        tally.expect(int(command[1]), clients)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.done.wait(), float(command[2]))
    cpu = cpu_seconds() - cpu
    # Per alert (by seq): how many clients have it, and when the last one got it.
    alerts: dict[int, list[float]] = {}
    for c in clients:
        for arrived, block in c.got:
            seq = alert_seq(block)
            seen = alerts.setdefault(seq, [0, 0.0])
            seen[0] += 1
            seen[1] = max(seen[1], arrived)
    closed = sum(c.closed for c in clients)
    for c in clients:
        if c.transport is not None:
            c.transport.close()
    doc = {"alerts": alerts, "closed": closed, "cpu": cpu}
    print(orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS).decode(), flush=True)


# --- the benchmark -----------------------------------------------------------------------------


def goal_alert(seq: int) -> Alert:
    """A goal alert about Atalanta, as the aggregator emits it, carrying its publish time."""
    now = datetime.now(UTC)
    return Alert(
        id=f"{MATCH}:goal:home:{seq + 1}",
        kind="goal",
        text="GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate",
        match=MATCH,
        event=f"{MATCH}:goal:home:{seq + 1}",
        home="Atalanta",
        away="Dortmund",
        status=MatchStatus.FIRST_HALF,
        minute=23,
        score=Score(home=1, away=0),
        aggregate={"Atalanta": 2, "Dortmund": 2},
        data={"player": "Scamacca", "bench_seq": seq, "bench_published": time.monotonic()},
        occurred_at=now,
        detected_at=now,
        emitted_at=now,
    )


@dataclass
class Procs:
    """The client processes and what they said."""

    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    connected: int = 0
    failed: int = 0
    cpu: float = 0.0  # CPU seconds they used from ready to done


async def _spawn_clients(port: int, counts: list[int], procs: Procs) -> None:
    for n in counts:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bench.sse", "CLIENT", HOST, str(port), str(n)),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        procs.procs.append(proc)
    for proc in procs.procs:
        assert proc.stdout is not None
        line = (await proc.stdout.readline()).split()
        if not line or line[0] != b"ready":
            raise RuntimeError(f"a client process did not get ready (it said {line!r})")
        procs.connected += int(line[1])
        procs.failed += int(line[2])


async def _collect(procs: Procs) -> tuple[dict[int, int], dict[int, float], int]:
    """Per alert seq: clients that have it, latest arrival; and streams the server closed."""
    for proc in procs.procs:
        assert proc.stdin is not None
        proc.stdin.write(f"collect {ALERTS} {COLLECT_TIMEOUT_S}\n".encode())
        await proc.stdin.drain()
    counts: dict[int, int] = {}
    last: dict[int, float] = {}
    closed = 0
    for proc in procs.procs:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError(f"client process {proc.pid} ended without its results")
        doc: dict[str, Any] = orjson.loads(line)
        closed += doc["closed"]
        procs.cpu += doc["cpu"]
        for seq, (n, arrived) in doc["alerts"].items():
            counts[int(seq)] = counts.get(int(seq), 0) + n
            last[int(seq)] = max(last.get(int(seq), 0.0), arrived)
    return counts, last, closed


async def _stop_clients(procs: Procs) -> None:
    for proc in procs.procs:
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
    for proc in procs.procs:
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


def bench_settings(redis_url: str, clients: int = CLIENTS) -> Settings:
    """Default settings; the API on a loopback port with no tokens (so no auth), taking
    ``clients`` streams: every client here comes from one address with one (no) token, as
    behind a reverse proxy, so the per-caller stream cap (``api.sse_streams_per_token``,
    default 64) and the connection cap (``api.max_connections``, 4,096) are raised as such a
    deployment raises them (they refused all but 64 of the 10,000 otherwise)."""
    base = Settings.load(None, redis_url=redis_url)
    update = {
        "host": HOST,
        "port": 0,
        "tokens": [],
        "sse_streams_per_token": clients,
        "max_connections": max(base.api.max_connections, clients + 100),
    }
    api = base.api.model_copy(update=update)
    return base.model_copy(update={"api": api, "console": False})


async def measure(redis_url: str, clients: int) -> dict[str, Any]:
    """Serve the API, connect the clients, publish the alerts, gather the arrivals."""
    settings = bench_settings(redis_url, clients)
    r = connect(redis_url)
    runner = web.AppRunner(init_app(settings, r), access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    procs = Procs()
    try:
        site = web.TCPSite(runner, HOST, 0, backlog=BACKLOG)
        await site.start()
        port = int(runner.addresses[0][1])
        share, extra = divmod(clients, CLIENT_PROCS)
        counts = [share + (i < extra) for i in range(CLIENT_PROCS)]
        async with asyncio.timeout(READY_TIMEOUT_S):
            await _spawn_clients(port, [n for n in counts if n], procs)
        await asyncio.sleep(0.5)  # let the handlers hand their streams to the hub
        stream = keys.alerts(keys.partition_of(MATCH, settings.streams.partitions))
        published: dict[int, float] = {}
        cpu = cpu_seconds()
        for seq in range(ALERTS):
            alert = goal_alert(seq)
            published[seq] = float(alert.data["bench_published"])
            await streams.publish(r, stream, alert_fields(alert), maxlen=1000)
            await asyncio.sleep(GAP_S)
        cpu = cpu_seconds() - cpu
        async with asyncio.timeout(COLLECT_TIMEOUT_S + 30):
            got, last, closed = await _collect(procs)
    finally:
        await _stop_clients(procs)
        await runner.cleanup()
        await r.aclose()
    return {
        "connected": procs.connected,
        "failed": procs.failed,
        "closed": closed,
        "processes": len(procs.procs),
        "got": got,
        "ms": {seq: (last[seq] - published[seq]) * 1000 for seq in last},
        "server_cpu_ms": cpu * 1000 / ALERTS,
        "client_cpu_ms": procs.cpu * 1000 / ALERTS,
    }


async def run(report: Report) -> None:
    """Time to the last of 10,000 SSE clients (fewer if the open-file limit is too low)."""
    # This process holds the server's end of every connection: it needs that many descriptors.
    limit = raise_nofile(CLIENTS + FD_MARGIN)
    clients = min(CLIENTS, limit - FD_MARGIN)
    if clients < CLIENTS:
        print(
            f"# sse: RLIMIT_NOFILE allows {limit} open files: {clients} clients, not {CLIENTS}",
            flush=True,
        )
    try:
        async with asyncio.timeout(OVERALL_TIMEOUT_S), private_server("sse") as server:
            m = await measure(server.url, clients)
    except TimeoutError:
        report.pending("sse_time_to_last_client_p99", f"not done in {OVERALL_TIMEOUT_S:g} s")
        return
    values = [m["ms"][seq] for seq in sorted(m["ms"])]
    if not values:
        report.pending("sse_time_to_last_client_p99", "no client received an alert")
        return
    p50, p99 = percentile(values, 50), percentile(values, 99)
    connected = m["connected"]
    missing = sum(connected - m["got"].get(seq, 0) for seq in range(ALERTS))
    notes = [
        f"{connected:,} clients in {m['processes']} processes, {ALERTS} alerts",
        f"CPU per alert: server {m['server_cpu_ms']:.0f} ms, clients {m['client_cpu_ms']:.0f} ms",
    ]
    if clients < CLIENTS:
        notes.append(f"scaled down from {CLIENTS:,}: RLIMIT_NOFILE {limit}")
    if m["failed"]:
        notes.append(f"{m['failed']} connections failed")
    if missing:
        notes.append(f"INCOMPLETE: {missing} of {connected * ALERTS} deliveries missing")
    report.add(
        Result(
            "sse_time_to_last_client_p99",
            p99,
            "ms",
            f"p50 {p50:.3g} ms; {p99 / TARGET_MS:.2f} of the {TARGET_MS:g} ms target; "
            + "; ".join(notes),
            {
                "p50": p50,
                "p99": p99,
                "target": TARGET_MS,
                "clients": connected,
                "wanted": CLIENTS,
                "failed": m["failed"],
                "missing": missing,
                "closed_by_server": m["closed"],
                "server_cpu_ms_per_alert": round(m["server_cpu_ms"], 1),
                "client_cpu_ms_per_alert": round(m["client_cpu_ms"], 1),
                "per_alert_ms": values,
            },
        )
    )


if __name__ == "__main__" and sys.argv[1:2] == ["CLIENT"]:
    uvloop.run(client_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
