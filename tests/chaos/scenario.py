"""What a chaos run replays and what it must deliver: the matches (real recordings and the demo
scenario under distinct fixture ids, each shifted on the shared virtual clock), and the expected
alerts, computed from the recordings by the pure core alone (screen, diff, carry, fold) over
every minute of each match's timeline: no Redis, no HTTP, no worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import load_json, with_fixture_id
from notifier.domain.alerts import Alert
from notifier.domain.diff import carry, diff
from notifier.domain.engine import MatchState, apply, start
from notifier.domain.feedcheck import PendingDrop, screen
from notifier.domain.models import OVER_STATUSES, MatchSnapshot
from notifier.domain.tie import TieSpec, parse_first_leg
from notifier.domain.watch import Watch
from notifier.feeds.api_football.parse import parse_fixture
from notifier.replay.api_football import Timeline
from notifier.settings import Settings
from tests.recordings import API_FOOTBALL, SPAIN_CROATIA, TURKIYE_PORTUGAL

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "notifier" / "data" / "scenarios" / "atalanta-dortmund-2nd-leg.json"
MINUTE = 60.0
T0 = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)

# (recording, first leg of the tie it is the second leg of, what the winner reaches)
SOURCES: tuple[tuple[Path, str | None, str | None], ...] = (
    (SPAIN_CROATIA, None, None),
    (SCENARIO, "Borussia Dortmund 2-0 Atalanta", "the round of 16"),
    (TURKIYE_PORTUGAL, "Portugal 1-0 Türkiye", None),
)


class ShiftedTimeline:
    """A timeline seen ``shift`` virtual seconds ahead (negative: it kicks off later).

    A wrapper, not a subclass: the replay server calls ``fixture_json``, which must shift once.
    """

    def __init__(self, inner: Timeline, shift: float) -> None:
        self.inner = inner
        self.shift = shift
        self.fixture_id = inner.fixture_id
        self.end = inner.end - shift  # on the shared clock

    def fixture_at(self, t: float) -> dict[str, Any]:
        """The fixture at shared time t."""
        return self.inner.fixture_at(t + self.shift)

    def fixture_json(self, t: float, *, brief: bool = False) -> bytes:
        """The fixture JSON at shared time t."""
        return self.inner.fixture_json(t + self.shift, brief=brief)

    def lineups_at(self, t: float) -> list[Any]:
        """The lineups at shared time t."""
        return self.inner.lineups_at(t + self.shift)

    def status_at(self, t: float) -> str | None:
        """The status at shared time t."""
        return self.inner.status_at(t + self.shift)


@dataclass(frozen=True)
class MatchPlan:
    """One replayed match: its timeline on the shared clock, and the tie it is a leg of."""

    timeline: ShiftedTimeline
    tie: TieSpec | None

    @property
    def watch(self) -> Watch:
        """What the notifier follows for it."""
        tie = self.tie.id if self.tie else None
        return Watch(provider="api-football", match_id=str(self.timeline.fixture_id), tie=tie)


def plan_matches(
    count: int, *, first_id: int = 8_100_000, stagger_s: float = 60.0, skip_s: float = 0.0
) -> list[MatchPlan]:
    """``count`` matches cycling over the sources; match i kicks off ``i * stagger_s`` later,
    and every match starts ``skip_s`` into its timeline (whole minutes: the feed caches them)."""
    sources = [(load_json(path), leg, nxt) for path, leg, nxt in SOURCES if path.exists()]
    if not sources:
        raise FileNotFoundError(f"no recordings in {API_FOOTBALL}")
    out = []
    for i in range(count):
        raw, first_leg, next_round = sources[i % len(sources)]
        fixture_id = first_id + i
        inner = Timeline(with_fixture_id(raw, fixture_id))
        tie = None
        if first_leg is not None:
            tie = TieSpec(
                id=f"chaos-tie-{fixture_id}",
                first_leg=parse_first_leg(first_leg),
                next_round=next_round,
                second_leg=f"api-football:{fixture_id}",
            )
        shift = MINUTE * math.floor((skip_s - i * stagger_s) / MINUTE)
        out.append(MatchPlan(ShiftedTimeline(inner, shift), tie))
    return out


def expected_alerts(plan: MatchPlan, start_at: float, settings: Settings) -> list[Alert]:
    """Every alert of one match, in order, as the poller and aggregator derive them when they
    poll every virtual minute from ``start_at`` until the match is over."""
    prev: MatchSnapshot | None = None
    pending: PendingDrop | None = None
    state: MatchState | None = None
    alerts: list[Alert] = []
    t = start_at
    while prev is None or prev.status not in OVER_STATUSES:
        now = T0 + timedelta(seconds=t)
        cur = parse_fixture(plan.timeline.fixture_at(t))
        verdict = screen(prev, cur, pending, now=now, polls=settings.poll.glitch_polls)
        pending = verdict.pending
        if verdict.snapshot is not None:
            events = diff(prev, verdict.snapshot, seen=now)
            events = [e.model_copy(update={"tie": plan.watch.tie}) for e in events]
            prev = carry(prev, verdict.snapshot, events)
            for event in events:
                state = state or start(event, plan.tie, settings.aliases)
                state, out = apply(state, event, now)
                alerts += out
        if t > plan.timeline.end + 10 * MINUTE:
            raise AssertionError(f"match {plan.watch.key} never ends")
        t += MINUTE
    return alerts
