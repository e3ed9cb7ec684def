"""Screening a poll before its diff: what to believe of a snapshot that contradicts the last. Pure.

* A status back from full-time, or teams that change: the snapshot is rejected (parked).
* A status back at an earlier phase (2H, then 1H): a glitch. The snapshot is taken with the last
  status kept, and reported; storing the earlier phase would make the next poll's return to the
  right one look like news (a second "second half under way").
* A score that goes down with a VAR decision (a new cancelled goal of that side): accepted.
* A score that goes down without one is more likely a provider glitch (1-0, 0-0, 1-0 again in
  the next poll) than a cancellation and a new goal. It is *held*: the snapshot is taken with
  the last score and goals kept, the drop is remembered (:class:`PendingDrop`, stored next to
  the snapshot) and reported, and only if the lower score is still there ``polls`` polls in a
  row is it accepted (then the diff emits the cancellation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from notifier.domain.diff import anomalies
from notifier.domain.diff_items import went_back
from notifier.domain.models import Frozen, Incident, MatchSnapshot, Score, Side

SIDES: tuple[Side, Side] = ("home", "away")
PENDING_STALE = timedelta(minutes=10)  # an older pending drop is not confirmation


class PendingDrop(Frozen):
    """A lower score seen without VAR evidence: which, how many polls in a row, since when."""

    score: Score
    polls: int = 1
    since: datetime


@dataclass(frozen=True)
class Verdict:
    """What to do with a poll: the snapshot to diff and store (None: reject), why, what is held."""

    snapshot: MatchSnapshot | None
    reason: str | None = None  # why it was rejected, or what was held back
    pending: PendingDrop | None = None


def dropped(prev: MatchSnapshot | None, cur: MatchSnapshot) -> bool:
    """Whether either side's score went down."""
    return prev is not None and any(cur.score.of(s) < prev.score.of(s) for s in SIDES)


def screen(
    prev: MatchSnapshot | None,
    cur: MatchSnapshot,
    pending: PendingDrop | None,
    *,
    now: datetime,
    polls: int = 2,
) -> Verdict:
    """Accept, hold back a score drop, or reject ``cur`` as the next state after ``prev``."""
    if prev is None:
        return Verdict(cur)
    if problems := anomalies(prev, cur):
        return Verdict(None, "; ".join(problems))
    flap = None
    if went_back(prev.status, cur.status):
        flap = f"status went back from {prev.status} to {cur.status}: {prev.status} kept"
        cur = cur.model_copy(update={"status": prev.status})
    if not dropped(prev, cur) or _var_backed(prev, cur):
        return Verdict(cur, flap)
    seen = 1
    if pending is not None and pending.score == cur.score and now - pending.since < PENDING_STALE:
        seen = pending.polls + 1
    if seen >= polls:
        return Verdict(cur, flap)
    held = cur.model_copy(update={"score": prev.score, "goals": prev.goals})
    reason = (
        f"score went down from {_text(prev.score)} to {_text(cur.score)} without a VAR "
        f"decision: held until {polls} polls in a row show it"
    )
    reason = f"{flap}; {reason}" if flap else reason
    since = pending.since if seen > 1 and pending is not None else now
    return Verdict(held, reason, PendingDrop(score=cur.score, polls=seen, since=since))


def _var_backed(prev: MatchSnapshot, cur: MatchSnapshot) -> bool:
    """Every side whose score went down has a new VAR cancellation in ``cur``."""
    for side in SIDES:
        if cur.score.of(side) < prev.score.of(side):
            fresh = [i for i in cur.cancelled_goals if i.side == side and not _known(i, prev)]
            if not fresh:
                return False
    return True


def _known(incident: Incident, prev: MatchSnapshot) -> bool:
    return incident in prev.cancelled_goals


def _text(score: Score) -> str:
    return f"{score.home}-{score.away}"
