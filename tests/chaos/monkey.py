"""The faults of a chaos run, at random moments (seeded): ``kill -9`` of a random worker (then
restarted), a Redis crash and restart from its AOF, and a SIGSTOP of a worker past its lease.

A fault never takes the last ready replica of a role (replicas are independent machines: one
comes back before the next fault hits its peer). The Redis crash models a power cut: what the
kernel had not written to disk is gone. With ``appendfsync always`` every acknowledged write was
fsynced, so nothing is; with ``everysec`` up to the last second is, so the AOF is cut back to
the size it had a second before the crash (``aof-load-truncated`` drops a half-written command).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notifier.bus import keys
from notifier.bus.embedded import EmbeddedServer
from tests.chaos.procs import Worker

log = logging.getLogger("chaos")
EVERYSEC_LOSS_S = 1.0  # what an fsync every second may leave unwritten at a power cut


@dataclass(frozen=True)
class Fault:
    """One planned fault: when (seconds after the clock started) and what."""

    at: float
    kind: str  # "kill", "redis", "pause"


@dataclass
class Done:
    """One fault as it happened."""

    at: float
    kind: str
    target: str
    detail: str = ""


def plan_faults(
    rng: random.Random, span_s: float, *, kills: int, redis: int, pauses: int
) -> list[Fault]:
    """The faults spread over ``span_s``: one per equal slot, at a random moment of its middle."""
    kinds = ["kill"] * kills + ["redis"] * redis + ["pause"] * pauses
    rng.shuffle(kinds)
    slot = span_s / max(1, len(kinds))
    return [Fault(i * slot + slot * rng.uniform(0.2, 0.8), kind) for i, kind in enumerate(kinds)]


def aof_file(data_dir: Path) -> Path | None:
    """The AOF file being appended to: the newest ``*.incr.aof`` (multi-part AOF), else the
    single ``appendonly.aof``."""
    found = sorted(
        (data_dir / "appendonlydir").glob("*.incr.aof"),
        key=lambda p: int(p.name.rsplit(".", 3)[-3]),
    )
    if found:
        return found[-1]
    single = data_dir / "appendonly.aof"
    return single if single.exists() else None


@dataclass
class AofWatch:
    """Samples the AOF's size, so a crash can be rolled back to what was on disk a second ago."""

    data_dir: Path
    samples: deque[tuple[float, Path | None, int]] = field(
        default_factory=lambda: deque(maxlen=400)
    )

    async def run(self) -> None:
        """Sample every 20 ms until cancelled."""
        while True:
            path = aof_file(self.data_dir)
            size = path.stat().st_size if path is not None and path.exists() else 0
            self.samples.append((time.monotonic(), path, size))
            await asyncio.sleep(0.02)

    def synced_size(self, loss_s: float) -> tuple[Path | None, int]:
        """The AOF file and its size ``loss_s`` ago (the last moment surely fsynced)."""
        cutoff = time.monotonic() - loss_s
        older = [(p, s) for t, p, s in self.samples if t <= cutoff]
        return older[-1] if older else (None, 0)


@dataclass
class Monkey:
    """Carries out the faults on the workers and the server."""

    workers: Sequence[Worker]
    server: EmbeddedServer
    r: Any  # the harness's client (heartbeats)
    rng: random.Random
    fsync: str
    pause_s: float
    aof: AofWatch
    partitions: int
    done: list[Done] = field(default_factory=list)
    crash: dict[str, Any] = field(default_factory=dict)

    async def run(self, faults: Sequence[Fault], started: float) -> None:
        """Each fault at its time (relative to ``started``, monotonic)."""
        for fault in faults:
            await asyncio.sleep(max(0.0, started + fault.at - time.monotonic()))
            at = time.monotonic() - started
            if fault.kind == "redis":
                await self._after_an_event()
                await self.crash_redis(time.monotonic() - started)
                continue
            worker = await self._victim()
            if worker is None:
                self.done.append(Done(at, fault.kind, "-", "no worker could be spared"))
            elif fault.kind == "kill":
                await self.kill(worker, at)
            else:
                await self.pause(worker, at)

    async def _victim(self) -> Worker | None:
        """A random worker whose role keeps another ready replica (waits a little for one)."""
        for _ in range(100):
            ready = [w for w in self.workers if await w.ready(self.r)]
            spare = [w for w in ready if any(o.role == w.role and o is not w for o in ready)]
            if spare:
                return self.rng.choice(spare)
            await asyncio.sleep(0.1)
        return None

    async def kill(self, worker: Worker, at: float) -> None:
        """``kill -9``, then start it again."""
        pid = worker.proc.pid if worker.proc else 0
        await worker.kill()
        await worker.start()
        self.done.append(Done(at, "kill", worker.name, f"pid {pid}"))

    async def pause(self, worker: Worker, at: float) -> None:
        """SIGSTOP for ``pause_s`` (past its lease), then SIGCONT."""
        worker.pause()
        await asyncio.sleep(self.pause_s)
        worker.resume()
        self.done.append(Done(at, "pause", worker.name, f"SIGSTOP {self.pause_s:.1f} s"))

    async def _after_an_event(self, within: float = 30.0) -> None:
        """Wait (bounded) until an event was just published: a crash then has work to lose."""
        names = [keys.events(p) for p in range(self.partitions)]
        base = sum([await self.r.xlen(n) for n in names])
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            if sum([await self.r.xlen(n) for n in names]) > base:
                return

    async def crash_redis(self, at: float) -> None:
        """SIGKILL the server, cut its AOF back to what was on disk (``everysec``: what a
        second ago), start it again."""
        everysec = self.fsync == "everysec"
        before = await event_ids(self.r, self.partitions) if everysec else set()
        path, size = self.aof.synced_size(EVERYSEC_LOSS_S if everysec else 0.0)
        await self.server.kill()
        cut = 0
        if everysec and path is not None and path.exists():
            cut = path.stat().st_size - size
            with path.open("r+b") as fh:
                fh.truncate(size)
        await self.server.start()
        after = await event_ids(self.r, self.partitions) if everysec else set()
        self.crash = {"at": at, "aof_bytes_lost": cut, "events_lost": sorted(before - after)}
        detail = f"SIGKILL, AOF cut by {cut} bytes" if cut else "SIGKILL"
        self.done.append(Done(at, "redis", "server", detail))


async def event_ids(r: Any, partitions: int) -> set[str]:
    """The ``id`` field of every entry of every partition's event stream."""
    found: set[str] = set()
    for p in range(partitions):
        rows = await r.xrange(keys.events(p))
        found |= {f[b"id"].decode() for _, f in rows if b"id" in f}
    return found
