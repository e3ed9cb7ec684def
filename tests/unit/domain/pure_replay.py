"""A recorded match replayed without I/O: the replay timeline polled every 15 virtual seconds,
each answer parsed, diffed and folded as the pipeline does. Fast and deterministic: what the
shoot-out, phase and golden-text tests read."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from notifier.domain import texts
from notifier.domain.alerts import Alert
from notifier.domain.diff import carry, diff
from notifier.domain.engine import MatchState, apply, start
from notifier.domain.models import MatchSnapshot
from notifier.domain.tie import TieSpec, parse_first_leg
from notifier.feeds.api_football.parse import parse_fixture
from notifier.replay.api_football import Timeline
from notifier.settings import read_catalogue

REPO = Path(__file__).resolve().parents[3]
SCENARIO = REPO / "notifier" / "data" / "scenarios" / "atalanta-dortmund-2nd-leg.json"
T0 = datetime(2026, 2, 25, 20, 0, tzinfo=UTC)
STEP = 15.0
DEMO_TIE = TieSpec(
    id="ucl-2026-po-atalanta-dortmund",
    first_leg=parse_first_leg("Borussia Dortmund 2-0 Atalanta"),
    next_round="the round of 16",
)
DEMO_ALIASES = {"Borussia Dortmund": "Dortmund"}
texts.set_loader(read_catalogue)  # as every process does, on loading its settings


def scenario() -> dict[str, Any]:
    """The demo's scripted fixture (a fresh copy: tests edit it)."""
    data: dict[str, Any] = orjson.loads(SCENARIO.read_bytes())
    return copy.deepcopy(data)


def replay_alerts(
    recording: dict[str, Any],
    tie: TieSpec | None = DEMO_TIE,
    aliases: dict[str, str] | None = None,
    step: float = STEP,
) -> list[Alert]:
    """Every alert of replaying ``recording`` (an API-Football ``/fixtures?id=`` answer)."""
    tl = Timeline(recording)
    prev: MatchSnapshot | None = None
    state: MatchState | None = None
    alerts: list[Alert] = []
    t = -3600.0
    while t <= tl.end + step:
        [item] = tl.at(t)["response"]
        cur = parse_fixture(item)
        seen = T0 + timedelta(seconds=t)
        events = diff(prev, cur, seen=seen)
        prev = carry(prev, cur, events)
        for event in events:
            if state is None:
                state = start(event, tie, DEMO_ALIASES if aliases is None else aliases)
            state, out = apply(state, event, seen)
            alerts += out
        t += step
    return alerts
