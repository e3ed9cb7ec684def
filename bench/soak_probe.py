"""What the soak measures in Redis and in the processes: keys, keys without a TTL (and those of
finished matches), the followed set, Redis memory, and resident memory."""

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
    kinds: str = ""  # key counts by kind (nf:<kind>:...), with and without a TTL


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
    r: Redis, wave: int, finished: int, expired_ids: list[str], redis_pid: int | None
) -> Sample:
    """Measure now."""
    no_ttl = await keys_without_ttl(r)
    kinds = await key_kinds(r)
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
        kinds=kinds,
    )


async def key_kinds(r: Redis) -> str:
    """``kind=count`` of every key by its second part (``nf:seen:...`` is ``seen``)."""
    counts: dict[str, int] = {}
    async for key in r.scan_iter(count=SCAN_COUNT):
        kind = key.decode().split(":")[1] if b":" in key else key.decode()
        counts[kind] = counts.get(kind, 0) + 1
    return " ".join(f"{k}={n}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def table(samples: list[Sample], warmup: int) -> str:
    """The growth table, and the growth per finished match after the warm-up waves."""
    head = (
        "wave finished  keys  no_ttl  finished_no_ttl  nf:watch  nf:ties"
        "  used_memory_MB  rss_MB  redis_rss_MB"
    )
    lines = [head]
    for s in samples:
        lines.append(
            f"{s.wave:4d} {s.finished:8d} {s.keys:5d} {s.no_ttl:7d} {s.finished_no_ttl:16d}"
            f" {s.watched:9d} {s.ties:8d} {s.used_memory / 2**20:15.2f} {s.rss / 2**20:7.1f}"
            f" {s.redis_rss / 2**20:13.1f}"
        )
    if samples:
        lines.append(f"keys by kind at the end: {samples[-1].kinds}")
    after = [s for s in samples if s.wave >= warmup]
    if len(after) >= 2:
        first, last = after[0], after[-1]
        n = max(1, last.finished - first.finished)
        lines.append(
            f"per finished match after warm-up (waves {first.wave}..{last.wave}, {n} matches): "
            f"keys {(last.keys - first.keys) / n:+.2f}, "
            f"no_ttl {(last.no_ttl - first.no_ttl) / n:+.2f}, "
            f"used_memory {(last.used_memory - first.used_memory) / n / 1024:+.1f} KB, "
            f"rss {(last.rss - first.rss) / n / 1024:+.1f} KB, "
            f"redis_rss {(last.redis_rss - first.redis_rss) / n / 1024:+.1f} KB"
        )
    return "\n".join(lines)
