"""The poller: APScheduler owns time; followed matches are polled in bulk, group by group.

A provider's followed matches fall into lease groups (ESPN: one per league; the others:
``bulk_groups`` stable buckets). Each replica holds its fair share of the group leases (the
live pollers stamp themselves in ``keys.members("poller")``), so N replicas split the work and
each group has one poller at a time. A group's job (``poll:<provider>:<group>``) asks for its
due matches in as few requests as the provider allows (:mod:`workers.poll.group`) and publishes
each match under that match's own fenced lease (:mod:`workers.poll.publish`): even a paused
ex-owner of a group cannot publish twice. A dead replica's groups lapse with their TTL and are
claimed by the others within seconds; the stored snapshots make them carry on where it left.

Jobs: ``sync`` (followed matches, every ``sync_every``), ``claim`` (group leases, a third of
the lease TTL), ``fixtures`` (discovery, daily and on start-up, when ``follow`` is set) and one
per owned group at the fastest pace (``max_instances=1``, ``coalesce``, ``misfire_grace_time``
of the interval); each match keeps its own phase-paced due time inside its group.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import redis.asyncio as aioredis
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from notifier.bus import follows, keys
from notifier.bus.balance import Membership, fair_share
from notifier.bus.budget import Budget
from notifier.bus.holder import Holder
from notifier.bus.lease import Lease
from notifier.bus.retention import Retention
from notifier.bus.watches import Watch, list_watches
from notifier.feeds import registry
from notifier.feeds.client import FeedClient
from notifier.settings import Settings
from workers.poll.fixtures import FixturesJob
from workers.poll.group import Feed, GroupPoll
from workers.poll.publish import Publisher, Tracked, utcnow

__all__ = ["Poller", "utcnow"]

log = logging.getLogger("notifier.poller")
GroupKey = tuple[str, str]  # provider, group


class Poller:
    """Polls the followed matches of this replica's share of the lease groups."""

    def __init__(
        self,
        r: aioredis.Redis,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        instance: str,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.r = r
        self.settings = settings
        self.instance = instance
        self.now = now
        ttl = settings.streams.lease_ttl_ms
        self.leases = Holder(r, instance, ttl)
        self.members = Membership(r, "poller", instance, ttl)
        self.publisher = Publisher(r, settings, self.leases, now)
        self.feeds: dict[str, Feed] = {}
        for name, source in registry.PROVIDERS.items():
            p = settings.provider(name)
            self.feeds[name] = Feed(
                name, FeedClient(session, name, p), p, Budget(r, name, p), source
            )
        self.fixtures = FixturesJob(r, settings, self.feeds, now)
        self.retention = Retention(r, settings)
        self.groups: dict[GroupKey, GroupPoll] = {}
        self.owned: set[GroupKey] = set()
        self.scheduler: AsyncIOScheduler | None = None
        self._claiming = asyncio.Lock()
        self._running: set[GroupKey] = set()  # groups whose tick is running
        self._retrying = False  # the fixtures job runs on its retry schedule
        self._follows_seen: int | None = None  # version of the stored follows last seen

    def partition(self, watch: Watch) -> int:
        """Partition of a match: by its tie, so both legs stay in order on one stream."""
        return keys.partition_of(watch.tie or watch.key, self.settings.streams.partitions)

    def tick_s(self) -> float:
        """How often a group's job runs: a quarter of the fastest pace any of its matches may
        need (the live floor, where the budget allows it), so a match waits little past its due
        time for the next tick (a tick with nothing due costs one MGET)."""
        poll = self.settings.poll
        fastest = min(poll.live_floor_s, poll.live_s, poll.half_time_s, poll.lineup_s)
        return min(fastest / 4, poll.pre_match_s)

    def start(self, scheduler: AsyncIOScheduler, sync_every: float) -> None:
        """Attach to a running scheduler: sync now and every ``sync_every`` s, claim, discover."""
        self.scheduler = scheduler
        claim_s = min(1.0, self.settings.streams.lease_ttl_ms / 3000)
        self._every(self.sync, "sync", sync_every)
        self._every(self.claim, "claim", claim_s)
        # Always: follows can be added while it runs (``notifier follow``, ``/v1/follows``).
        self._every(self.discover, "fixtures", self.settings.poll.fixtures_sync_s)

    def _every(self, func: Callable[[], object], job_id: str, seconds: float) -> None:
        assert self.scheduler is not None
        self.scheduler.add_job(
            func,
            IntervalTrigger(seconds=seconds),
            id=job_id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=math.ceil(seconds) + 1,
            next_run_time=datetime.now(UTC),
        )

    async def discover(self) -> None:
        """Run the fixtures job, then follow what it found at once. A lookup that failed is
        tried again within minutes (backing off), not at the next daily run."""
        try:
            if await self.fixtures.run():
                await self.sync()
        finally:
            self._retry_fixtures()

    def _retry_fixtures(self) -> None:
        """After a failed lookup: the next run in minutes (doubling up to a cap); after the
        recovery: the daily schedule again."""
        if self.scheduler is None or self.scheduler.get_job("fixtures") is None:
            return
        poll = self.settings.poll
        failures = self.fixtures.failures
        if failures:
            wait = min(poll.fixtures_retry_s * 2 ** (failures - 1), poll.fixtures_retry_max_s)
        elif self._retrying:
            wait = poll.fixtures_sync_s
        else:
            return
        self._retrying = failures > 0
        when = datetime.now(UTC) + timedelta(seconds=min(wait, poll.fixtures_sync_s))
        self.scheduler.modify_job("fixtures", next_run_time=when)

    async def sync(self) -> None:
        """Track every followed match that is not over, in its group; drop the unfollowed.
        A change of the stored follows runs the fixtures job at once. First the retention:
        finished matches older than ``retention_hours`` are forgotten, so the followed set read
        here stays what is still followed (plus the recently finished), and the streams are
        trimmed of what is older (:class:`notifier.bus.retention.Retention`)."""
        seen = await follows.version(self.r)
        if self._follows_seen is not None and seen != self._follows_seen:
            self._follows_seen = seen
            log.info("follows_changed", extra={"version": seen})
            await self.discover()
        self._follows_seen = seen
        now_ms = await self.retention.run()
        watches = [w for w in await list_watches(self.r)]
        done = await self._done_flags(watches, now_ms)
        wanted: dict[GroupKey, dict[str, Watch]] = {}
        for watch, over in zip(watches, done, strict=True):
            if over or watch.provider not in self.feeds:
                continue
            feed = self.feeds[watch.provider]
            key = (watch.provider, feed.source.group_of(watch, feed.settings.bulk_groups))
            wanted.setdefault(key, {})[watch.match_id] = watch
        for key in list(self.groups):
            if key not in wanted:
                await self._drop_group(key, release=True)
        for key, matches in wanted.items():
            self._track(key, matches)
        for (provider, _), group in self.groups.items():
            group.groups = sum(1 for p, _ in self.groups if p == provider)
        await self.claim()

    async def _done_flags(self, watches: list[Watch], now_ms: int) -> list[bool]:
        async with self.r.pipeline(transaction=False) as pipe:
            for w in watches:
                pipe.exists(keys.match_done(self.partition(w), w.key))
            done = [bool(n) for n in await pipe.execute()]
        ended = {w.key: now_ms for w, over in zip(watches, done, strict=True) if over}
        if ended:  # matches that ended before the retention existed, or on another replica
            await self.r.zadd(keys.finished(), ended, nx=True)
        return done

    def _track(self, key: GroupKey, matches: dict[str, Watch]) -> None:
        group = self.groups.get(key)
        if group is None:
            feed = self.feeds[key[0]]
            group = GroupPoll(feed, key[1], self.publisher, self.settings.poll, self.now)
            self.groups[key] = group
        for match_id in [m for m in group.matches if m not in matches]:
            self.leases.forget(group.matches.pop(match_id).lease)
        for match_id, watch in matches.items():
            tracked = group.matches.get(match_id)
            if tracked is None or tracked.watch != watch:
                group.matches[match_id] = Tracked(watch, self.partition(watch))

    async def claim(self) -> None:
        """Hold our fair share of the group leases; run the jobs of the groups we hold."""
        async with self._claiming:  # the claim job and a sync may both ask at once
            await self._claim()

    async def _claim(self) -> None:
        live = await self.members.live(int(time.time() * 1000))
        share = fair_share(len(self.groups), live)
        for key in sorted(self.groups):
            had = key in self.owned
            if not had and len(self.owned) >= share:
                continue
            if await self.leases.hold(keys.poll_group_lease(*key)) is None:
                if had:
                    log.warning("group_lost", extra={"group": ":".join(key)})
                    await self._unown(key, release=False)
                continue
            if not had:
                self._own(key)
        for key in sorted(self.owned, reverse=True)[: max(0, len(self.owned) - share)]:
            await self._unown(key, release=True)

    def _own(self, key: GroupKey) -> None:
        self.owned.add(key)
        self.groups[key].active = True
        log.info("group_acquired", extra={"group": ":".join(key), "owner": self.instance})
        if self.scheduler is None:
            return
        tick = self.tick_s()
        jitter = min(self.settings.poll.jitter_s, tick / 4)
        self.scheduler.add_job(
            self.run_group,
            IntervalTrigger(seconds=tick, jitter=jitter or None),
            args=[key],
            id=job_id(key),
            max_instances=2,  # a second tick leaves at once: no "skipped" warning per tick
            coalesce=True,
            misfire_grace_time=math.ceil(tick) + 1,
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )

    async def _unown(self, key: GroupKey, *, release: bool) -> None:
        """Stop polling a group; ``release``: give its leases up at once (else they lapse)."""
        self.owned.discard(key)
        if key in self.groups:
            self.groups[key].active = False
        if self.scheduler is not None and self.scheduler.get_job(job_id(key)) is not None:
            self.scheduler.remove_job(job_id(key))
        group = self.groups.get(key)
        lease_keys = [keys.poll_group_lease(*key)]
        lease_keys += [t.lease for t in group.matches.values()] if group else []
        for lease in lease_keys:
            token = self.leases.tokens.get(lease)
            self.leases.forget(lease)
            if release and token is not None:
                await Lease.release(self.r, lease, self.instance, token)
        if group is not None:
            for t in group.matches.values():
                t.stored = None

    async def _drop_group(self, key: GroupKey, *, release: bool) -> None:
        await self._unown(key, release=release)
        self.groups.pop(key, None)

    async def run_group(self, key: GroupKey) -> int:
        """The job of one group: poll its due matches; requests made. A tick that finds the
        group's previous one still running (a cycle of many requests) leaves at once."""
        group = self.groups.get(key)
        if group is None or key not in self.owned or key in self._running:
            return 0
        self._running.add(key)
        try:
            return await self._run_group(key, group)
        finally:
            self._running.discard(key)

    async def _run_group(self, key: GroupKey, group: GroupPoll) -> int:
        made = await group.tick(slack=self.tick_s() / 2)
        for match_id in [m for m, t in group.matches.items() if t.done]:
            tracked = group.matches.pop(match_id)
            await self.leases.release(tracked.lease)  # its last poll is committed
            log.info("match_over", extra={"match": tracked.watch.key, "status": tracked.status})
        return made

    async def poll_all(self) -> int:
        """One tick of every group this replica holds (tests, benchmarks); requests made."""
        return sum([await self.run_group(key) for key in sorted(self.owned)])


def job_id(key: GroupKey) -> str:
    """The scheduler job of a group: ``poll:<provider>:<group>``."""
    return f"poll:{key[0]}:{key[1]}"
