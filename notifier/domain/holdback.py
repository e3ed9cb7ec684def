"""Spoiler delay, the pure part: which held alerts a later alert takes back, and when each is due.

A subscriber ``delay_s`` behind gets each alert ``delay_s`` after it was emitted, and sees the
match as it stood then. So a goal and the cancellation that takes it back (VAR), or a score drop
and the goal that restores it (a feed glitch), both still held for that subscriber, are never
sent: the pair cancels out. Only a pair *adjacent* among the subscriber's held alerts of that
match is elided. Anything of the match held between them (a red card, half-time) carries the
score with the goal in it, in its text and JSON; dropping the pair around it would make that
alert refer to a goal never sent, so then the whole line is sent as it happened (consistent,
just not spoiler-free). Alerts of other matches between them (a subscriber following several)
do not count: they say nothing of this match.

The rule works on the alerts' own facts, the side and the score after: a goal takes ``side``
from ``n - 1`` to ``n``, its cancellation from ``n`` back to ``n - 1``. Each goal or
cancellation gets a *mark* (``goal:home:0-0>1-0``) and names the mark of the alert it would take
back (``undoes``); the Redis script that holds an alert compares the two strings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from notifier.domain.alerts import Alert
from notifier.domain.models import Score, Side

MAX_DELAY_S = 900
SCAN = 200  # held alerts looked back over for the last one of the same match
OPPOSITE = {"goal": "goal_cancelled", "goal_cancelled": "goal"}


def _side(alert: Alert) -> Side | None:
    side = alert.data.get("side")
    return side if side in ("home", "away") else None


def _score(score: Score) -> str:
    return f"{score.home}-{score.away}"


def before(alert: Alert) -> Score | None:
    """The score just before a goal or cancellation (None for other kinds, or with no side)."""
    side = _side(alert)
    if side is None or alert.kind not in OPPOSITE:
        return None
    step = -1 if alert.kind == "goal" else 1
    if alert.score.of(side) + step < 0:
        return None
    return alert.score.plus(side, step)


def mark(alert: Alert) -> str:
    """What this alert changed, as a string another alert can name ('' if nothing undoable)."""
    prior = before(alert)
    if prior is None:
        return ""
    return f"{alert.kind}:{_side(alert)}:{_score(prior)}>{_score(alert.score)}"


def undoes(alert: Alert) -> str:
    """The mark of the alert this one takes back ('' if none): the opposite kind, same side,
    from the score after this one to the score before it."""
    prior = before(alert)
    if prior is None:
        return ""
    kind = OPPOSITE[alert.kind]
    return f"{kind}:{_side(alert)}:{_score(alert.score)}>{_score(prior)}"


def due_ms(emitted_at: datetime, delay_s: float, rate: float = 1.0) -> int:
    """When an alert emitted at ``emitted_at`` is due for a subscriber ``delay_s`` behind, in
    epoch ms; ``rate`` is how fast the match clock runs (a replay at ``--speed``).

    Rounded up: never before the delay is over (truncated, an alert emitted at .821992 s went
    out at .821, a millisecond early, and a test saw it)."""
    return math.ceil(emitted_at.timestamp() * 1000 + delay_s * 1000 / rate)


Verdict = Literal["held", "elided"]


@dataclass
class HeldLine:
    """One subscriber's held alerts, in order (what the Redis scripts keep, as a model)."""

    items: list[tuple[Alert, int]] = field(default_factory=list)
    elided: Alert | None = None  # the held alert the last elision took back
    # False: only the very last held alert may be taken back, whatever its match (a reader that
    # resumes from a stream position needs every elided pair to be adjacent in the stream).
    per_match: bool = True

    def hold(self, alert: Alert, due: int) -> Verdict:
        """Hold ``alert`` until ``due``, or take back the last held alert of its match if it
        undoes that one (alerts of other matches between them say nothing of this one)."""
        u = undoes(alert)
        for i in range(len(self.items) - 1, max(-1, len(self.items) - 1 - SCAN), -1):
            held = self.items[i][0]
            if held.match != alert.match and self.per_match:
                continue
            if u and mark(held) == u:
                del self.items[i]
                self.elided = held
                return "elided"
            break
        self.items.append((alert, due))
        return "held"

    def release(self, now_ms: int) -> list[Alert]:
        """The alerts due by ``now_ms``, in order (the line stops at the first not due)."""
        out: list[Alert] = []
        while self.items and self.items[0][1] <= now_ms:
            out.append(self.items.pop(0)[0])
        return out
