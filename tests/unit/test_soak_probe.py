"""``make soak``'s verdict (bench/soak_probe.py): what "flat" means is a number, and a step is
not a slope."""

from __future__ import annotations

from bench.soak_probe import Sample, growth, verdict

MB = 2**20


def _waves(rss_mb: list[float], *, finished_no_ttl: int = 0) -> list[Sample]:
    return [
        Sample(
            wave=i,
            finished=10 * (i + 1),
            keys=32,
            no_ttl=19,
            finished_no_ttl=finished_no_ttl if i == 3 else 0,
            watched=0,
            ties=0,
            used_memory=2_300_000,
            rss=int(mb * MB),
            redis_rss=8 * MB,
        )
        for i, mb in enumerate(rss_mb)
    ]


def test_a_pool_growing_once_is_flat_and_memory_growing_every_wave_is_not() -> None:
    step = _waves([84.5, 84.9, 85.0, 85.0, 85.6, 85.5, 85.5, 85.6])  # one step of 0.6 MB
    assert growth(step[2:], "rss") == 0.0
    assert verdict(step, 2, {"rss": 8.0, "keys": 0.5}) == []
    leak = _waves([84 + i * 60 / 1024 for i in range(8)])  # 60 KB a wave: 6 KB a match
    assert round(growth(leak[2:], "rss") / 1024, 1) == 6.0
    assert verdict(leak, 2, {"rss": 4.0}) == ["rss grew +6.00 KB per finished match (limit 4.0 KB)"]


def test_a_key_without_ttl_of_a_finished_match_or_too_few_waves_fail() -> None:
    kept = _waves([85.0] * 8, finished_no_ttl=2)
    assert verdict(kept, 2, {}) == ["wave 3: 2 keys without a TTL name a finished match"]
    assert verdict(_waves([85.0] * 4), 2, {})[-1].startswith("2 waves after the warm-up")
