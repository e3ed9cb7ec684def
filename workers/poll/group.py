"""One group of one provider's matches, polled in bulk: a tick asks for every match that is due
in as few requests as the provider allows, then publishes each match on its own.

Politeness lives here: every request first takes a token of the provider's shared budget; a
429 pauses the provider for every replica (``Retry-After``, else ``pause_s``); 5xx and timeouts
back the group off exponentially, with jitter. Trouble is logged once when it starts and once
when it ends (Home Assistant's coordinator style), not on every tick.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.exceptions import RedisError

from notifier import metrics
from notifier.bus import poll_status
from notifier.bus.budget import Budget, save_cadence
from notifier.domain.cadence import Cadence, Load, Plan, horizon, live_interval, reserve_for
from notifier.domain.models import OVER_STATUSES, MatchSnapshot
from notifier.errors import FeedError, FeedParseError
from notifier.feeds.base import Provider
from notifier.feeds.bulk import Due, Item, Planned
from notifier.feeds.client import FeedClient, Request
from notifier.settings import PollSettings, ProviderSettings
from workers.poll.pacing import backoff, jittered, lineups_wanted, next_poll
from workers.poll.publish import Publisher, Tracked

log = logging.getLogger("notifier.poller")


@dataclass
class Feed:
    """A provider as the poller uses it: its name, client, settings, shared request budget, and
    the provider itself (what to ask, how to read the answers)."""

    provider: str
    client: FeedClient
    settings: ProviderSettings
    budget: Budget
    source: Provider


class GroupPoll:
    """The matches of one lease group of a provider, and their bulk polling."""

    def __init__(
        self,
        feed: Feed,
        group: str,
        publisher: Publisher,
        poll: PollSettings,
        now: Callable[[], datetime],
    ) -> None:
        self.feed = feed
        self.group = group
        self.publisher = publisher
        self.poll = poll
        self.now = now
        self.matches: dict[str, Tracked] = {}
        self.failures = 0
        self.starved = False
        self.resume_at = 0.0
        self.missing: set[str] = set()
        self.active = False  # while this replica holds the group's lease
        self.groups = 1  # lease groups sharing the provider's budget (the poller sets it)
        self.cadence = Cadence(poll.live_s, "ceiling", 1)
        self._shown: tuple[float, str, int] | None = None
        self._shown_at = 0.0
        self._cycle = (time.monotonic(), 0.0)  # this tick's start and jitter seed
        self._parsed: dict[Request, tuple[bytes, list[Item]]] = {}  # answers split last tick
        self.outcome: str | None = None  # of this tick's requests ("ok", "error: ...")

    @property
    def name(self) -> str:
        """``provider:group``."""
        return f"{self.feed.provider}:{self.group}"

    async def tick(self, slack: float = 0.0) -> int:
        """Poll the matches due (within ``slack`` seconds); the number of requests made."""
        mono = time.monotonic()
        if mono < self.resume_at:
            return 0
        await self.replan()
        self._cycle = (mono, random.random())
        slack = min(slack, self.cadence.interval_s / 10)  # early by a tenth at most: the budget
        due = [t for t in self.matches.values() if not t.done and t.due <= mono + slack]
        made = 0
        wanted = [Due(t.watch, t.status) for t in due]
        self.outcome = None
        planned_now = self.feed.source.plan(wanted, self.feed.settings)
        if (
            planned_now
        ):  # keep the answers of the last cycle only (a tick between cycles plans none)
            kept = [p.request for p in planned_now if p.request in self._parsed]
            self._parsed = {request: self._parsed[request] for request in kept}
        for planned in planned_now:
            body = await self._fetch(planned.request)
            if body is None:
                break
            made += 1
            await self._apply(planned, body)
        if self.outcome is not None:
            await self._report()
        return made

    async def replan(self) -> Cadence:
        """Choose the group's live interval from the plan's budget and what it polls now."""
        now = self.now()
        live = upcoming = 0
        for t in self.matches.values():
            if t.done:
                continue
            kickoff = t.kickoff or t.watch.kickoff
            if t.status is None or next_poll(t.status, kickoff, now, self.poll) == self.poll.live_s:
                live += 1  # live pace (or never polled yet: it may well be live)
            elif kickoff is not None and kickoff.date() == now.date():
                upcoming += 1
        p = self.feed.settings
        _, used_today = await self.feed.budget.used()
        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        load = Load(
            live=live,
            bulk=p.max_ids,
            used_today=used_today,
            reserve=reserve_for(upcoming, p.max_ids, self.poll.live_s),
            horizon_s=horizon((now - midnight).total_seconds()),
        )
        plan = Plan(
            p.requests_per_minute, p.requests_per_day, self.groups, self.poll.budget_headroom
        )
        self.cadence = live_interval(plan, load, self.poll.live_floor_s, self.poll.live_s)
        await self._show(live)
        return self.cadence

    async def _show(self, live: int) -> None:
        """Record the cadence for ``notifier status`` when it changes (else every 30 s)."""
        c = self.cadence
        shown = (round(c.interval_s, 2), c.reason, live)
        if shown == self._shown and time.monotonic() - self._shown_at < 30:
            return
        self._shown, self._shown_at = shown, time.monotonic()
        fields: dict[str, object] = {
            "interval_s": shown[0],
            "reason": c.reason,
            "live": live,
            "requests_per_cycle": c.requests_per_cycle,
            "at": time.time(),
        }
        await save_cadence(self.feed.budget.r, self.name, fields)

    async def _report(self) -> None:
        """The poll's outcome and the next one due, for ``notifier status``: informative only,
        so a Redis that cannot take it now changes nothing of the poll."""
        mono = time.monotonic()
        dues = [t.due for t in self.matches.values() if not t.done]
        nxt = max(min(dues, default=mono), self.resume_at) - mono if dues else None
        try:
            r = self.publisher.r
            await poll_status.record_poll(r, self.feed.provider, self.outcome or "ok", nxt)
        except (RedisError, OSError) as exc:
            log.debug("poll_status_not_recorded", extra={"group": self.name, "error": str(exc)})

    async def _fetch(self, request: Request) -> bytes | None:
        """The body of one request, or None (budget spent, provider paused, or it failed)."""
        wait = await self.feed.budget.take()
        if wait > 0:
            self._starve(wait)
            return None
        self._fed()
        started = time.monotonic()
        try:
            body = await self.feed.client.fetch(request)
        except FeedError as exc:
            metrics.polled(self.feed.provider, "error", time.monotonic() - started)
            self.outcome = f"error: {exc}"
            await self._failed(exc)
            return None
        metrics.polled(self.feed.provider, "ok", time.monotonic() - started)
        self.outcome = self.outcome or "ok"
        return body

    async def _apply(self, planned: Planned, body: bytes) -> None:
        try:
            items = self._split(planned.request, body)
        except FeedError as exc:
            if isinstance(exc, FeedParseError):
                metrics.polled(self.feed.provider, "parse_error", 0.0)
                await self.publisher.park(None, str(exc), body, source=self.name)
            await self._failed(exc)
            return
        self._recovered()
        found = set()
        for item in items:
            t = self.matches.get(item.match_id or "")
            if t is None or t.done:
                continue  # another group's match, or one nobody follows
            found.add(t.watch.match_id)
            await self._publish(t, item)
        self.missing -= found
        self._missing([m for m in planned.matches if m not in found])

    def _split(self, request: Request, body: bytes) -> list[Item]:
        """The answer's items; on a 304 the client hands back the very body it cached, whose
        items were split the last time: an unchanged poll costs no parsing."""
        last = self._parsed.get(request)
        if last is not None and last[0] is body:
            return last[1]
        items = self.feed.source.split(body)
        if self.feed.client.revalidates(request):  # only answers that can come back as a 304
            self._parsed[request] = (body, items)
        return items

    async def _publish(self, t: Tracked, item: Item) -> None:
        if not self.active:
            return  # the group went to another replica while its request was in flight
        if item.snapshot is None:
            await self.publisher.park(t, item.error or "unreadable", item.body())
            self._pace(t, None)
            return
        snap = await self._complete(t, item, item.snapshot)
        stored = await self.publisher.publish(t, snap, item.body(), note=item.note)
        if not self.active:  # given up meanwhile: let the new holder have the match at once
            await self.publisher.let_go(t)
        self._pace(t, stored or snap)

    async def _complete(self, t: Tracked, item: Item, snap: MatchSnapshot) -> MatchSnapshot:
        """The bulk snapshot, completed by one per-match request where the bulk view lacks it."""
        kickoff = snap.kickoff or t.watch.kickoff
        wanted = lineups_wanted(snap.lineups is not None, kickoff, self.now(), self.poll)
        request = self.feed.source.detail_request(item, t.watch, wanted, self.feed.settings)
        if request is None:
            return snap
        body = await self._fetch(request)
        if body is None:
            return snap
        try:
            return self.feed.source.merge_detail(item, body)
        except FeedError as exc:
            await self.publisher.park(t, f"detail: {exc}", body)
            return snap

    def _pace(self, t: Tracked, snap: MatchSnapshot | None) -> None:
        """When ``t`` is due next, by the phase it is in (done once it is over)."""
        if snap is not None:
            t.status, t.has_lineups = snap.status, snap.lineups is not None
            t.kickoff = snap.kickoff or t.watch.kickoff
        wanted = lineups_wanted(t.has_lineups, t.kickoff, self.now(), self.poll)
        wanted = wanted and self.feed.settings.lineups
        seconds = next_poll(
            t.status,
            t.kickoff,
            self.now(),
            self.poll,
            lineups_wanted=wanted,
            live_s=self.cadence.interval_s,
        )
        if seconds is None:
            stored = t.stored[1] if t.stored is not None else None
            t.done = stored is not None and stored.status in OVER_STATUSES
            seconds = self.poll.live_s  # over, but not committed by us: look again
        # Every match polled in one tick is next due together (same start, same jitter): they
        # stay in one bulk request, and the group's requests per cycle stay what replan counted.
        start, seed = self._cycle
        t.due = start + jittered(seconds, self.poll, random.Random(seed))

    def _missing(self, ids: list[str]) -> None:
        for match_id in ids:
            t = self.matches[match_id]
            if match_id not in self.missing:
                self.missing.add(match_id)
                log.warning("match_not_in_feed", extra={"match": t.watch.key, "group": self.name})
            self._pace(t, None)

    def _starve(self, wait: float) -> None:
        self.resume_at = time.monotonic() + wait
        if not self.starved:
            self.starved = True
            log.warning("budget_exhausted", extra={"group": self.name, "wait_s": round(wait, 1)})

    def _fed(self) -> None:
        if self.starved:
            self.starved = False
            log.info("budget_available", extra={"group": self.name})

    async def _failed(self, exc: FeedError) -> None:
        self.failures += 1
        if self.failures == 1:
            log.warning(
                "feed_failing", extra={"group": self.name, "error": str(exc), "status": exc.status}
            )
        if exc.status == 429:
            wait = await self.feed.budget.pause(exc.retry_after)
        else:
            wait = backoff(self.failures, self.poll.live_s, self.poll, exc.retry_after)
        self.resume_at = time.monotonic() + wait

    def _recovered(self) -> None:
        if self.failures:
            log.info("feed_recovered", extra={"group": self.name, "failed": self.failures})
            self.failures = 0
