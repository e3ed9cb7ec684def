"""How soon a followed match is polled again, by its phase and kick-off. Pure: ``now`` is given.

In play: every ``live_s``; half-time: ``half_time_s``; over: never again. Before kick-off a
match sleeps until the lineup window opens (``lineup_window_min`` before kick-off, re-checked
at least every ``idle_max_s`` in case the kick-off moves), is polled every ``lineup_s`` in the
window while its lineups are wanted and not yet out, and at live pace from ``kickoff_lead_s``
before kick-off; a match still "scheduled" ``overdue_s`` after its kick-off time (postponed in
all but name) falls back to ``pre_match_s``. Jitter spreads replicas and matches apart.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from notifier.domain.models import LIVE_STATUSES, OVER_STATUSES, MatchStatus
from notifier.settings import PollSettings

LINEUPS_AFTER_KICKOFF = timedelta(minutes=15)  # a late lineup is still worth one more look


def next_poll(
    status: MatchStatus | None,
    kickoff: datetime | None,
    now: datetime,
    poll: PollSettings,
    *,
    lineups_wanted: bool = False,
    live_s: float | None = None,
) -> float | None:
    """Seconds until the next poll of a match (before jitter); None once it is over.

    ``live_s``: the live pace its group's budget allows now (default ``poll.live_s``)."""
    live = poll.live_s if live_s is None else live_s
    if status in OVER_STATUSES:
        return None
    if status is MatchStatus.HALF_TIME or status is MatchStatus.SUSPENDED:
        return poll.half_time_s
    if status in LIVE_STATUSES:
        return live
    if kickoff is None:
        return poll.pre_match_s
    until = (kickoff - now).total_seconds()
    if until <= poll.kickoff_lead_s:
        return live if -until < poll.overdue_s else poll.pre_match_s
    to_lead = until - poll.kickoff_lead_s
    window = poll.lineup_window_min * 60.0
    if until > window:
        return min(until - window, poll.idle_max_s)
    if lineups_wanted:
        return min(poll.lineup_s, to_lead)
    return min(to_lead, poll.idle_max_s)


def lineups_wanted(
    has_lineups: bool, kickoff: datetime | None, now: datetime, poll: PollSettings
) -> bool:
    """Whether a match's lineups are worth asking for now (in the window and not known yet)."""
    if has_lineups or kickoff is None:
        return False
    opens = kickoff - timedelta(minutes=poll.lineup_window_min)
    return opens <= now <= kickoff + LINEUPS_AFTER_KICKOFF


def jittered(seconds: float, poll: PollSettings, rng: random.Random | None = None) -> float:
    """``seconds`` plus up to ``jitter_s`` (never more than a quarter of it)."""
    spread = min(poll.jitter_s, seconds / 4)
    return seconds + (rng or random).uniform(0.0, spread)


def backoff(failures: int, base: float, poll: PollSettings, retry_after: float | None) -> float:
    """Wait after ``failures`` failures in a row: exponential with full jitter, ``Retry-After``
    obeyed, at most ``max_backoff_s`` (unless the provider asks for longer)."""
    ceiling = min(base * 2 ** min(failures, 16), poll.max_backoff_s)
    return max(random.uniform(ceiling / 2, ceiling), retry_after or 0.0)
