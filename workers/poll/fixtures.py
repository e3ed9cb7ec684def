"""The fixtures job: discover the matches of the followed competitions and teams, and follow
them (with their kick-off, and their tie where the provider links the legs).

Runs on start-up and every ``fixtures_sync_s`` (daily). One request per followed competition,
through the provider's shared budget; a match already followed keeps the tie it was given
(``config/ties`` may know better), and a tie is attached only before the match kicks off, so a
match never moves partition while it is being played.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import redis.asyncio as aioredis

from notifier.bus import keys, poll_status
from notifier.bus.follows import list_follows
from notifier.bus.poll_status import stamp
from notifier.bus.watches import Watch, add_watch, list_watches, save_tie
from notifier.errors import FeedError
from notifier.feeds.discovery import Found, discovery_request, plan_follow
from notifier.settings import FollowSettings, Settings

if TYPE_CHECKING:
    from workers.poll.group import Feed

log = logging.getLogger("notifier.fixtures")


class FixturesJob:
    """Discovery of the fixtures of ``settings.follow``."""

    def __init__(
        self,
        r: aioredis.Redis,
        settings: Settings,
        feeds: Mapping[str, Feed],
        now: Callable[[], datetime],
    ) -> None:
        self.r = r
        self.settings = settings
        self.feeds = feeds
        self.now = now
        self.failing: set[str] = set()
        self.failures = 0  # runs in a row with a failed lookup (0: the last run was clean)

    async def run(self) -> int:
        """Discover every followed competition; how many matches were followed or updated."""
        changed = 0
        for spec in [*self.settings.follow, *await list_follows(self.r)]:
            found = await self.discover(spec)
            if found is not None:
                changed += await self.follow(found)
        self.failures = self.failures + 1 if self.failing else 0
        return changed

    async def discover(self, spec: FollowSettings) -> Found | None:
        """What one followed competition yields now (None if the provider could not say)."""
        feed = self.feeds.get(spec.provider)
        name = f"{spec.provider}:{spec.league}"
        if feed is None or await feed.budget.take() > 0:
            return None
        try:
            body = await feed.client.fetch(discovery_request(spec, self.now()))
            items = feed.source.split(body)
        except FeedError as exc:
            await poll_status.record(
                self.r, spec.provider, fixtures_at=stamp(), fixtures_outcome=f"{name}: {exc}"
            )
            if name not in self.failing:
                self.failing.add(name)
                log.warning("fixtures_failing", extra={"competition": name, "error": str(exc)})
            return None
        await poll_status.record(self.r, spec.provider, fixtures_at=stamp(), fixtures_outcome="ok")
        if name in self.failing:
            self.failing.discard(name)
            log.info("fixtures_recovered", extra={"competition": name})
        snapshots = [i.snapshot for i in items if i.snapshot is not None]
        return plan_follow(spec, snapshots)

    async def follow(self, found: Found) -> int:
        """Store the ties and add (or update) the watches; how many watches changed."""
        for tie in found.ties:
            await save_tie(self.r, tie, keys.partition_of(tie.id, self.settings.streams.partitions))
        known = {w.key: w for w in await list_watches(self.r)}
        changed = 0
        for watch in found.watches:
            merged = _merge(known.get(watch.key), watch)
            if merged != known.get(watch.key):
                await add_watch(self.r, merged)
                changed += 1
        if changed:
            log.info("fixtures_followed", extra={"changed": changed, "ties": len(found.ties)})
        return changed


def _merge(old: Watch | None, new: Watch) -> Watch:
    """The new watch, keeping a tie the old one had (config or an earlier discovery)."""
    if old is None:
        return new
    return new.model_copy(update={"tie": old.tie or new.tie})
