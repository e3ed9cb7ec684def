"""What the soak measures in Redis and in the processes: keys, keys without a TTL (and those of
finished matches), the followed set, stream entries, Redis memory (and by kind of key), and
resident memory; and whether they stay flat after the warm-up (:func:`verdict`)."""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

import psutil
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from notifier.bus import keys

SCAN_COUNT = 1000


@dataclass(frozen=True)
class Sample:
    """One row of the growth table."""

    wave: int
    finished: int  # matches finished so far
    keys: int
    no_ttl: int
    finished_no_ttl: int  # keys naming a match finished longer ago than the retention
    watched: int  # entries of nf:watch
    ties: int  # entries of nf:ties
    used_memory: int
    rss: (
        int  # this process (poller, aggregator, dispatcher), its allocator's free memory given back
    )
    redis_rss: int  # the same for the server (MEMORY PURGE)
    rss_raw: int = 0  # this process, before giving anything back
    entries: int = 0  # entries of the event and alert streams, every partition
    kinds: str = ""  # key counts by kind (nf:<kind>:...), with and without a TTL
    memory: str = ""  # MEMORY USAGE by kind of key (KB)


async def keys_without_ttl(r: Redis) -> list[str]:
    """Every key that has no TTL (SCAN, then TTL in pipelined batches)."""
    out: list[str] = []
    batch: list[bytes] = []
    async for key in r.scan_iter(count=SCAN_COUNT):
        batch.append(key)
        if len(batch) >= SCAN_COUNT:
            out += await _no_ttl(r, batch)
            batch = []
    return out + await _no_ttl(r, batch)


async def _no_ttl(r: Redis, batch: list[bytes]) -> list[str]:
    if not batch:
        return []
    async with r.pipeline(transaction=False) as pipe:
        for key in batch:
            pipe.ttl(key)
        ttls = await pipe.execute()
    return [k.decode() for k, ttl in zip(batch, ttls, strict=True) if ttl == -1]


def naming(found: Iterable[str], ids: Iterable[str]) -> list[str]:
    """The keys that name one of ``ids`` (fixture ids, tie ids)."""
    wanted = [f":{i}" for i in ids]
    return [k for k in found if any(w in k for w in wanted)]


def listing(found: list[str], limit: int = 12) -> str:
    """A few keys, for the table's notes."""
    return ", ".join(sorted(found)[:limit])


async def sample(
    r: Redis,
    wave: int,
    finished: int,
    expired_ids: list[str],
    redis_pid: int | None,
    partitions: int = 1,
) -> Sample:
    """Measure now."""
    no_ttl = await keys_without_ttl(r)
    kinds, memory = await key_kinds(r)
    entries = 0
    for p in range(partitions):
        entries += int(await r.xlen(keys.events(p))) + int(await r.xlen(keys.alerts(p)))
    info = await r.info("memory")
    with contextlib.suppress(ResponseError):  # a server not built with jemalloc
        await r.execute_command("MEMORY", "PURGE")
    redis_rss = psutil.Process(redis_pid).memory_info().rss if redis_pid else 0
    rss_raw = psutil.Process().memory_info().rss
    trim_heap()
    return Sample(
        wave=wave,
        finished=finished,
        keys=int(await r.dbsize()),
        no_ttl=len(no_ttl),
        finished_no_ttl=len(naming(no_ttl, expired_ids)),
        watched=int(await r.hlen(keys.watch())),
        ties=int(await r.hlen(keys.ties_index())),
        used_memory=int(info["used_memory"]),
        rss=psutil.Process().memory_info().rss,
        redis_rss=redis_rss,
        rss_raw=rss_raw,
        entries=entries,
        kinds=kinds,
        memory=memory,
    )


def trim_heap() -> None:
    """Give the allocator's free memory back before the RSS is read (glibc's ``malloc_trim``;
    nothing elsewhere). glibc keeps what Python freed for reuse: 2-6 MB here, rising and falling
    with the heap's top from wave to wave, which drowned a growth of a few KB a match. What is
    left is what the process holds; the raw RSS is in the table too."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


async def key_kinds(r: Redis) -> tuple[str, str]:
    """``kind=count`` of every key by its second part (``nf:seen:...`` is ``seen``), and
    ``kind=KB`` of their MEMORY USAGE (streams included)."""
    counts: dict[str, int] = {}
    used: dict[str, int] = {}
    async for key in r.scan_iter(count=SCAN_COUNT):
        kind = key.decode().split(":")[1] if b":" in key else key.decode()
        counts[kind] = counts.get(kind, 0) + 1
        used[kind] = used.get(kind, 0) + int(await r.memory_usage(key) or 0)
    by_count = sorted(counts.items(), key=lambda kv: -kv[1])
    by_use = sorted(used.items(), key=lambda kv: -kv[1])
    return (
        " ".join(f"{k}={n}" for k, n in by_count),
        " ".join(f"{k}={n / 1024:.1f}" for k, n in by_use),
    )


MIN_WAVES = 6  # waves after the warm-up the verdict needs: five growths, one step left out

# What the growth line and the verdict read, by name: (the unit they are shown in, its size).
MEASURES = {
    "keys": ("", 1),
    "no_ttl": ("", 1),
    "entries": ("", 1),
    "used_memory": (" KB", 1024),
    "rss": (" KB", 1024),
    "redis_rss": (" KB", 1024),
    "rss_raw": (" KB", 1024),
}


def growth(samples: list[Sample], measure: str) -> float:
    """Growth per finished match of one measure: the median over the waves of each wave's
    growth per match it finished. What grows with every match grows in every wave; a pool, an
    allocator arena or a cache that grows once up to its bound (a step in one wave) is not
    growth per match, and the median of five waves or more leaves one such step out (a
    least-squares slope took a step of 0.6 MB in one wave of eight for 13 KB a match)."""
    rates = [
        (getattr(b, measure) - getattr(a, measure)) / (b.finished - a.finished)
        for a, b in itertools.pairwise(samples)
        if b.finished > a.finished
    ]
    return statistics.median(rates) if rates else 0.0


def table(samples: list[Sample], warmup: int) -> str:
    """The growth table, and the growth per finished match after the warm-up waves."""
    head = (
        "wave finished  keys  no_ttl  finished_no_ttl  nf:watch  nf:ties  entries"
        "  used_memory_MB  rss_MB  redis_rss_MB  rss_raw_MB"
    )
    lines = [head]
    for s in samples:
        lines.append(
            f"{s.wave:4d} {s.finished:8d} {s.keys:5d} {s.no_ttl:7d} {s.finished_no_ttl:16d}"
            f" {s.watched:9d} {s.ties:8d} {s.entries:8d} {s.used_memory / 2**20:15.2f}"
            f" {s.rss / 2**20:7.1f} {s.redis_rss / 2**20:13.1f} {s.rss_raw / 2**20:11.1f}"
        )
    if samples:
        lines.append(f"keys by kind at the end: {samples[-1].kinds}")
        lines.append(f"Redis memory by kind at the end (KB): {samples[-1].memory}")
    after = [s for s in samples if s.wave >= warmup]
    if len(after) >= 2:
        first, last = after[0], after[-1]
        shown = ", ".join(
            f"{name} {growth(after, name) / size:+.2f}{unit}"
            for name, (unit, size) in MEASURES.items()
        )
        lines.append(
            f"per finished match after warm-up (waves {first.wave}..{last.wave}, "
            f"{last.finished - first.finished} matches, median of the waves): {shown}"
        )
    return "\n".join(lines)


def verdict(samples: list[Sample], warmup: int, limits: dict[str, float]) -> list[str]:
    """Why the soak failed (empty: it passed): a finished match kept a key without a TTL, or a
    measure grew more per finished match after the warm-up than its limit (in its unit)."""
    why = [
        f"wave {s.wave}: {s.finished_no_ttl} keys without a TTL name a finished match"
        for s in samples
        if s.finished_no_ttl
    ]
    after = [s for s in samples if s.wave >= warmup]
    if len(after) < MIN_WAVES:
        return [*why, f"{len(after)} waves after the warm-up: {MIN_WAVES} at least tell a trend"]
    for name, limit in limits.items():
        unit, size = MEASURES[name]
        per_match = growth(after, name) / size
        if per_match > limit:
            why.append(
                f"{name} grew {per_match:+.2f}{unit} per finished match (limit {limit}{unit})"
            )
    return why
