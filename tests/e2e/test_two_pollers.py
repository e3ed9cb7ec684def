"""Two ``notifier poll`` processes on one Redis, 50 replayed matches, one killed mid-match.

Real subprocesses (``python -m workers.cli.main poll``) with ``REDIS_URL`` pointing at the test's
private server and the settings in environment variables; the replay server and the aggregator
run in the test process. Each poller reaches the replay server under its own base URL
(``/~a``, ``/~b``), so the server's request log tells who asked for what. Checked: no match
is asked for by both in one tick, each poller holds half of the groups, the killed poller's
matches are polled again by the other within a few seconds, and the alert stream has every
alert of every match exactly once, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.bus.watches import Watch, add_watch
from notifier.feeds.registry import get
from notifier.replay.api_football import Timeline
from notifier.replay.server import ReplayServer, start_replay_server
from notifier.settings import Settings
from tests.recordings import TURKIYE_PORTUGAL, require
from workers.cli import runtime
from workers.fold import aggregator

ROOT = Path(__file__).resolve().parents[2]
MATCHES = 50
SPEED = 400.0  # a 111-minute match in about 17 s
GROUPS = 8
LIVE_S = 0.1  # 40 virtual seconds
IN_FLIGHT_S = 0.5  # how late a request sent before the kill may still be logged
TTL_MS = 1000
KEY = "two-pollers-key"
EXPECTED = [
    ("lineups", 0, 0),
    ("lineups", 0, 0),
    ("kickoff", 0, 0),
    ("goal", 0, 1),
    ("goal", 0, 2),
    ("half_time", 0, 2),
    ("second_half", 0, 2),
    ("goal", 0, 3),
    ("full_time", 0, 3),  # a single match: one end-of-match alert
]

pytestmark = pytest.mark.e2e


def timelines() -> list[Timeline]:
    data = orjson.loads(require(TURKIYE_PORTUGAL).read_bytes())
    out = []
    for i in range(MATCHES):
        copied = copy.deepcopy(data)
        copied["response"][0]["fixture"]["id"] = 5_000_000 + i
        out.append(Timeline(copied))
    return out


def env_for(redis_url: str, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFIER_", "REDIS_URL"))}
    prefix = "NOTIFIER_PROVIDERS__API_FOOTBALL__"
    env.update(
        {
            "REDIS_URL": redis_url,
            "NOTIFIER_CONFIG": str(ROOT / "config" / "notifier.toml"),
            f"{prefix}BASE_URL": base_url,
            f"{prefix}API_KEY": KEY,
            f"{prefix}BULK_GROUPS": str(GROUPS),
            f"{prefix}REQUESTS_PER_MINUTE": "1000000",
            f"{prefix}REQUESTS_PER_DAY": "1000000000",
            "NOTIFIER_POLL__LIVE_S": str(LIVE_S),
            "NOTIFIER_POLL__HALF_TIME_S": str(LIVE_S),
            "NOTIFIER_POLL__PRE_MATCH_S": str(LIVE_S),
            "NOTIFIER_POLL__LINEUP_S": str(LIVE_S),
            "NOTIFIER_POLL__JITTER_S": "0",
            "NOTIFIER_STREAMS__LEASE_TTL_MS": str(TTL_MS),
            "NOTIFIER_HEARTBEAT_S": "0.5",
            "NOTIFIER_LOG_LEVEL": "WARNING",
            "NOTIFIER_LOG_FORMAT": "json",
        }
    )
    return env


@contextlib.contextmanager
def pollers(redis_url: str, server: ReplayServer, tmp: Path) -> Iterator[dict[str, Any]]:
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in ("a", "b"):
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "workers.cli.main", "poll"],
                cwd=ROOT,
                env=env_for(redis_url, f"{server.url}/~{name}"),
                stdout=subprocess.DEVNULL,
                stderr=(tmp / f"poller-{name}.log").open("wb"),
            )
        yield procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def owners(r: Redis) -> dict[str, str]:
    """Group -> owner pid, from the group leases."""
    out = {}
    for g in range(GROUPS):
        value = await r.get(keys.poll_group_lease("api-football", str(g)))
        if value:
            out[str(g)] = value.decode().split(":")[0].rsplit("-", 1)[1]
    return out


async def wait_for(check: Any, within: float) -> None:
    """Poll ``check`` until it holds (the state lives in other processes: no event to await)."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@pytest.mark.timeout(60)
async def test_two_pollers_one_killed(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    served = timelines()
    server = await start_replay_server(served, speed=SPEED, start_offset=-600.0, api_key=KEY)
    for t in served:
        await add_watch(redis, Watch(provider="api-football", match_id=str(t.fixture_id)))
    settings = Settings.load(None, redis_url=redis_url)
    async with server, contextlib.AsyncExitStack() as stack:
        pipe = await runtime.open_pipeline(settings, stack, roles=("aggregate",))
        with pollers(redis_url, server, tmp_path) as procs:
            pids = {str(p.pid): name for name, p in procs.items()}

            async def balanced() -> bool:
                held = list((await owners(redis)).values())
                return sorted(held.count(pid) for pid in pids) == [GROUPS // 2] * 2

            await wait_for(balanced, 15)
            groups = {g: pids[pid] for g, pid in (await owners(redis)).items()}
            server.log.reset()  # from here on, ownership is settled
            await wait_for(lambda: _after(server, 25 * 60), 30)  # 25 minutes in
            victim = "a"
            procs[victim].send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            procs[victim].wait(timeout=5)
            await runtime.serve(pipe, sync_every=1.0, done=lambda: all_done(pipe, served))
        hits = list(server.log.hits)
    alerts = await alert_stream(redis)
    assert time.monotonic() - started < 60

    # Nobody asked for a match the other asked for in the same tick.
    by_match: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for hit in hits:
        for match in hit.matches:
            by_match[match].append((hit.at, hit.client))
    for match, asks in by_match.items():
        asks.sort()
        for (t1, c1), (t2, c2) in itertools.pairwise(asks):
            assert c1 == c2 or t2 - t1 > LIVE_S / 2, f"{match} asked by {c1} and {c2} at once"
    # The victim's matches: polled by the survivor within a few seconds of the kill.
    victims = {
        str(t.fixture_id)
        for t in served
        if groups[_group_of(Watch(provider="api-football", match_id=str(t.fixture_id)))] == victim
    }
    assert victims, "the victim held groups"
    for match in victims:
        # A request the victim sent just before the kill is still logged when this process's
        # loop gets to it (the replay server runs here): only later ones would be its own.
        after = [(t, c) for t, c in by_match[match] if t > killed_at + IN_FLIGHT_S]
        assert after and {c for _, c in after} == {"b"}, match
        took = after[0][0] - killed_at
        assert took < 5.0, f"{match} taken over after {took:.1f}s"
    # Every alert of every match, once, in order.
    assert len({a["id"] for a in alerts}) == len(alerts), "an alert was emitted twice"
    for t in served:
        key = f"api-football:{t.fixture_id}"
        mine = [
            (a["kind"], a["home"], a["away"])
            for a in alerts
            if a["match"] == key and a["kind"] != "yellow_card"  # five bookings as well
        ]
        assert mine == EXPECTED, key


async def _after(server: ReplayServer, t: float) -> bool:
    return server.clock.now() >= t


async def all_done(pipe: runtime.Pipeline, served: list[Timeline]) -> bool:
    """Every match over and every event folded."""
    done = [keys.match_done(0, f"api-football:{t.fixture_id}") for t in served]
    if await pipe.r.exists(*done) < len(done):
        return False
    return await aggregator.pending_work(pipe.r, pipe.settings) == 0


async def alert_stream(r: Redis) -> list[dict[str, Any]]:
    out = []
    for _, fields in await r.xrange(keys.alerts(0)):
        body = orjson.loads(fields[b"body"])
        out.append(
            {
                "id": fields[b"id"].decode(),
                "kind": fields[b"kind"].decode(),
                "match": fields[b"match"].decode(),
                "home": body["score"]["home"],
                "away": body["score"]["away"],
            }
        )
    return out


def _group_of(watch: Watch) -> str:
    return get(watch.provider).group_of(watch, GROUPS)
