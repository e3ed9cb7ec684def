"""What the soak measures in Redis and in the processes: keys, keys without a TTL (and those of
finished matches), the followed set, stream entries, Redis memory (and by kind of key), and
resident memory; and whether they stay flat after the warm-up (:func:`verdict`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psutil
from redis.asyncio import Redis

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
    rss: int  # this process: poller, aggregator and dispatcher
    redis_rss: int
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
    redis_rss = psutil.Process(redis_pid).memory_info().rss if redis_pid else 0
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
        entries=entries,
        kinds=kinds,
        memory=memory,
    )


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


# What the growth line and the verdict read, by name: (the unit they are shown in, its size).
MEASURES = {
    "keys": ("", 1),
    "no_ttl": ("", 1),
    "entries": ("", 1),
    "used_memory": (" KB", 1024),
    "rss": (" KB", 1024),
    "redis_rss": (" KB", 1024),
}


def growth(samples: list[Sample], measure: str) -> float:
    """Growth per finished match of one measure: the least-squares slope over the samples
    (one per wave), so one wave's noise (an allocator taking a new arena) weighs little."""
    xs = [float(s.finished) for s in samples]
    ys = [float(getattr(s, measure)) for s in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread if spread else 0.0


def table(samples: list[Sample], warmup: int) -> str:
    """The growth table, and the growth per finished match after the warm-up waves."""
    head = (
        "wave finished  keys  no_ttl  finished_no_ttl  nf:watch  nf:ties  entries"
        "  used_memory_MB  rss_MB  redis_rss_MB"
    )
    lines = [head]
    for s in samples:
        lines.append(
            f"{s.wave:4d} {s.finished:8d} {s.keys:5d} {s.no_ttl:7d} {s.finished_no_ttl:16d}"
            f" {s.watched:9d} {s.ties:8d} {s.entries:8d} {s.used_memory / 2**20:15.2f}"
            f" {s.rss / 2**20:7.1f} {s.redis_rss / 2**20:13.1f}"
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
            f"{last.finished - first.finished} matches, least-squares slope): {shown}"
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
    if len(after) < 3:
        return [*why, f"{len(after)} waves after the warm-up: 3 at least tell a trend"]
    for name, limit in limits.items():
        unit, size = MEASURES[name]
        per_match = growth(after, name) / size
        if per_match > limit:
            why.append(
                f"{name} grew {per_match:+.2f}{unit} per finished match (limit {limit}{unit})"
            )
    return why
