"""The poller against a feed that misbehaves (:mod:`notifier.replay.faults`): 500s, 429 with
Retry-After, timeouts, resets, truncated JSON, wrong types, a score that goes down and up again,
a status that flaps, a goal re-keyed a minute later. The alerts stay true (the same as the pure
expectation of a clean feed: one goal alert per real goal, one correction per real correction),
the poller never raises, and every bad payload is in ``nf:dlq:feed`` with its reason.

The replay clock is stepped by hand, 15 virtual seconds per answered poll; a request that got
no answer costs no match time (the chaos test covers time lost to outages).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import orjson
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from notifier.bus import keys
from notifier.domain.alerts import ALERT, Alert
from notifier.replay.faults import FeedFault, FeedFaults, mutate
from notifier.replay.server import ReplayServer, start_replay_server
from notifier.settings import PollSettings, Settings
from tests.chaos.scenario import MatchPlan, expected_alerts, plan_matches
from tests.chaos.setup import follow
from workers.cli.commands import PRE_MATCH_LEAD_S
from workers.fold.aggregator import Aggregator
from workers.poll.poller import Poller

STEP_S = 15.0
KEY = "fault-test-key"
COUNTS = {FeedFault.RATE_LIMITED: 2, FeedFault.TIMEOUT: 3}  # others: 4 each
EVERY = 12  # one request in EVERY gets a fault: a state (>= 60 s) is still seen by 3 polls
# The client gives up after TIMEOUT_S; a TIMEOUT fault answers after HANG_S. An answer the
# client gave up on is a fault it never saw: TIMEOUT_S is far above a test process's pauses.
TIMEOUT_S, HANG_S = 1.0, 2.0


class StepClock:
    """A ``time_fn`` for the replay clock: virtual seconds, moved by hand."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def fault_plan(seed: int = 7) -> list[FeedFault | None]:
    """Every fault kind, a few times each, in a seeded order, one request in ``EVERY``."""
    kinds = [k for k in FeedFault for _ in range(COUNTS.get(k, 4))]
    random.Random(seed).shuffle(kinds)
    plan: list[FeedFault | None] = []
    for kind in kinds:
        plan += [None] * (EVERY - 1) + [kind]
    return plan


@dataclass
class Rig:
    """The feed, its clock and faults, the settings pointing at it."""

    server: ReplayServer
    clock: StepClock
    faults: FeedFaults
    settings: Settings
    plans: list[MatchPlan]


@pytest.fixture
async def rig(redis_url: str) -> AsyncIterator[Rig]:
    async with rigged(redis_url, FeedFaults(plan=fault_plan(), hang_s=HANG_S)) as made:
        yield made


@contextlib.asynccontextmanager
async def rigged(redis_url: str, faults: FeedFaults, matches: int = 3) -> AsyncIterator[Rig]:
    """The replay feed of ``matches`` matches on a hand-stepped clock, and settings for it."""
    plans = plan_matches(matches, stagger_s=0.0)
    clock = StepClock()
    server = await start_replay_server(
        [p.timeline for p in plans],  # type: ignore[misc]
        speed=1.0,
        start_offset=-PRE_MATCH_LEAD_S,
        api_key=KEY,
        time_fn=clock,
        feed_faults=faults,
    )
    fast = 0.001
    settings = Settings(
        redis_url=redis_url,
        poll=PollSettings(
            live_s=fast,
            half_time_s=fast,
            pre_match_s=fast,
            lineup_s=fast,
            jitter_s=0.0,
            max_backoff_s=fast,
        ),
    )
    feed = settings.provider("api-football").model_copy(
        update={
            "base_url": server.url,
            "api_key": SecretStr(KEY),
            "timeout_s": TIMEOUT_S,
            "requests_per_minute": 10**6,
            "requests_per_day": 10**9,
        }
    )
    settings = settings.model_copy(
        update={"providers": settings.providers.replace("api-football", feed)}
    )
    try:
        yield Rig(server, clock, faults, settings, plans)
    finally:
        await server.close()


async def poll_to_the_end(rig: Rig, r: Redis, max_polls: int = 5000) -> int:
    """Poll until every match is over; the number of polls."""
    async with aiohttp.ClientSession() as session:
        poller = Poller(r, session, rig.settings, instance="faults")
        await poller.sync()
        for n in range(max_polls):
            await poller.claim()
            if await poller.poll_all():
                rig.clock.t += STEP_S
            else:
                await asyncio.sleep(0.02)  # paused (429), backing off, or nothing due
            if all(not g.matches for g in poller.groups.values()):
                return n
    raise AssertionError("the matches never ended")


async def alerts_of(r: Redis, settings: Settings) -> list[Alert]:
    out = []
    for p in range(settings.streams.partitions):
        out += [ALERT.validate_json(f[b"body"]) for _, f in await r.xrange(keys.alerts(p))]
    return out


async def dead_letters(r: Redis) -> list[str]:
    return [f[b"reason"].decode() for _, f in await r.xrange(keys.dlq("feed"))]


async def test_alerts_stay_true_through_feed_faults(rig: Rig, redis: Redis) -> None:
    await follow(redis, rig.settings, rig.plans)
    await poll_to_the_end(rig, redis)
    await Aggregator(redis, rig.settings, instance="agg").drain()
    got = await alerts_of(redis, rig.settings)
    for plan in rig.plans:
        want = [(a.id, a.text) for a in expected_alerts(plan, -PRE_MATCH_LEAD_S, rig.settings)]
        assert [(a.id, a.text) for a in got if a.match == plan.watch.key] == want
    assert set(rig.faults.injected) == set(FeedFault), rig.faults.injected
    reasons = await dead_letters(redis)
    found = Counter(_category(reason) for reason in reasons)
    for kind in (FeedFault.TRUNCATED, FeedFault.WRONG_TYPES, FeedFault.SCORE_GLITCH):
        assert found[kind] >= rig.faults.injected[kind], (kind, reasons)
    assert found[FeedFault.STATUS_FLAP] >= 1, reasons
    assert all(reason.strip() for reason in reasons)


def _category(reason: str) -> str:
    if "score went down" in reason:
        return FeedFault.SCORE_GLITCH
    if "status went back" in reason:
        return FeedFault.STATUS_FLAP
    if "JSON" in reason or "json" in reason:
        return FeedFault.TRUNCATED
    return FeedFault.WRONG_TYPES


async def test_events_lost_by_a_rolled_back_server_are_derived_again(
    redis_url: str, redis: Redis
) -> None:
    """A server back from an AOF that lost its last second (appendfsync everysec): the stored
    snapshot is older than the one the poller remembers. Found by the chaos run with the
    default lease TTL: the poller kept diffing against its memory and the lost events were
    never published again."""
    async with rigged(redis_url, FeedFaults(), matches=1) as rig, aiohttp.ClientSession() as http:
        plan = rig.plans[0]  # Spain v Croatia: Morata's goal at 29'
        p = keys.partition_of(plan.watch.key, rig.settings.streams.partitions)
        await follow(redis, rig.settings, rig.plans)
        poller = Poller(redis, http, rig.settings, instance="rolled-back")
        await poller.sync()

        async def poll_at(minute: float) -> None:
            rig.clock.t = PRE_MATCH_LEAD_S + minute * 60
            for _ in range(100):  # until it is due (a millisecond after the last poll)
                if await poller.poll_all():
                    return
                await asyncio.sleep(0.01)
            raise AssertionError("no poll")

        await poll_at(28.5)
        before = await redis.get(keys.snapshot(p, plan.watch.key))
        length = await redis.xlen(keys.events(p))
        await poll_at(29.5)
        goal = [f[b"id"] for _, f in await redis.xrange(keys.events(p))][length:]
        assert goal == [b"api-football:8100000:goal:home:1-0:29"]
        # The rollback: the last commit is gone, the lease (and the poller's memory) are not.
        await redis.set(keys.snapshot(p, plan.watch.key), before)
        await redis.xtrim(keys.events(p), maxlen=length)
        for minute in (30.5, 31.5):
            await poll_at(minute)
        again = [f[b"id"] for _, f in await redis.xrange(keys.events(p))][length:]
        assert again == goal


def test_a_score_glitch_never_lands_on_a_changing_score() -> None:
    """A glitch on the answer where a goal first shows would look like no goal yet, not like a
    score going down: it is only injected where the real score is the one served before."""
    faults = FeedFaults()

    def answer(home: int) -> bytes:
        item = {"fixture": {"id": 5, "status": {"short": "1H"}}, "goals": {"home": home, "away": 0}}
        return orjson.dumps({"response": [item]})

    def glitched(body: bytes) -> bytes | None:
        changed = mutate(body, FeedFault.SCORE_GLITCH, faults.rng, faults.steady)
        faults.remember(body)
        return changed

    assert glitched(answer(1)) is None  # nothing served before: no score to compare with
    assert glitched(answer(2)) is None  # 1-0 then 2-0: a glitch would hide the goal
    changed = glitched(answer(2))  # 2-0 again: a glitch is a score going down
    assert changed is not None
    assert orjson.loads(changed)["response"][0]["goals"] == {"home": 1, "away": 0}
