"""Pure helpers of scaling out: fair shares of partitions, cluster URLs, the fold state cache."""

from __future__ import annotations

import pytest

from notifier.bus.balance import fair_share
from notifier.bus.connect import cluster_url
from notifier.domain.engine import MatchState
from workers.fold.batch import StateCache


@pytest.mark.parametrize(
    ("partitions", "replicas", "share"),
    [(12, 1, 12), (12, 2, 6), (12, 3, 4), (12, 5, 3), (1, 3, 1), (4, 0, 4), (7, 2, 4)],
)
def test_fair_share(partitions: int, replicas: int, share: int) -> None:
    assert fair_share(partitions, replicas) == share


@pytest.mark.parametrize(
    ("url", "plain"),
    [
        ("redis+cluster://127.0.0.1:7000", "redis://127.0.0.1:7000"),
        ("rediss+cluster://:pw@host:7000/0", "rediss://:pw@host:7000/0"),
        ("REDIS+CLUSTER://h:1", "redis://h:1"),
        ("redis://127.0.0.1:6379/0", None),
        ("unix:///tmp/redis.sock", None),
        ("redis+cluster:", None),
    ],
)
def test_cluster_url(url: str, plain: str | None) -> None:
    assert cluster_url(url) == plain


def state(match: str) -> MatchState:
    return MatchState(match=match, home="A", away="B")


def test_state_cache_serves_only_the_json_it_was_given() -> None:
    cache = StateCache(limit=2)
    cache.put(0, "m1", b"v1", state("m1"))
    cache.put(1, "m2", b"v1", state("m2"))
    assert cache.get(0, "m1", b"v2") is None  # Redis holds something else now: parse that
    assert cache.get(0, "m1", b"v1") is not None  # m1 is now the most recent
    cache.put(1, "m3", b"v1", state("m3"))
    assert cache.get(1, "m2", b"v1") is None  # the least recently used went
    assert cache.get(0, "m1", b"v1") is not None
    cache.drop_partition(0)
    assert cache.get(0, "m1", b"v1") is None
    assert cache.get(1, "m3", b"v1") is not None
    cache.drop(1, "m3")
    assert cache.get(1, "m3", b"v1") is None
