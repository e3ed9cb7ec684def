"""The scoreboard of a live message, the pure part: folded from the alerts a subscriber gets.

A subscription with ``style = "live"`` keeps one chat message per match or tie and edits it on
each change. What it shows comes from the alerts themselves (score, minute, aggregate, leader,
what is needed, goals and red cards so far); a goal ruled out comes off the list. The ids of
the alerts folded are kept, so an alert delivered again changes nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from notifier.domain import digests, render
from notifier.domain.alerts import Alert
from notifier.domain.models import Score

SEEN_MAX = 500  # alert ids remembered per board (a match has far fewer)


class Line(BaseModel):
    """A goal or a red card on the board."""

    model_config = ConfigDict(frozen=True)

    kind: str  # "goal" | "red_card"
    side: str
    text: str  # "Scamacca 23'"
    score: Score | None = None  # after the goal: what a cancellation takes back


class LiveBoard(BaseModel):
    """One live message: where it is, and what it shows."""

    model_config = ConfigDict(frozen=True)

    message_id: str | None = None
    shown: str = ""  # the text the message shows now
    home: str = ""
    away: str = ""
    score: Score = Score()
    minute: str = ""
    status: str = ""
    headline: str | None = None
    needs: str | None = None
    result: str | None = None
    lines: tuple[Line, ...] = ()
    seen: tuple[str, ...] = Field(default=())


def fold(board: LiveBoard, alert: Alert) -> LiveBoard:
    """The board after ``alert`` (unchanged if it was folded before)."""
    if alert.id in board.seen:
        return board
    lines = list(board.lines)
    side = str(alert.data.get("side") or "")
    if alert.kind == "goal":
        lines.append(Line(kind="goal", side=side, text=_who(alert), score=alert.score))
    elif alert.kind == "goal_cancelled":
        lines = _without_goal(lines, side)
    elif alert.kind == "red_card":
        lines.append(Line(kind="red_card", side=side, text=_who(alert)))
    return board.model_copy(
        update={
            "home": alert.home,
            "away": alert.away,
            "score": alert.score,
            "minute": render.minute(alert.minute, alert.added),
            "status": str(alert.status),
            "headline": digests.aggregate_of(alert.home, alert.away, alert.aggregate, alert.leader),
            "needs": alert.needs,
            "result": alert.text if alert.kind == "result" else board.result,
            "lines": tuple(lines),
            "seen": (*board.seen, alert.id)[-SEEN_MAX:],
        }
    )


def _who(alert: Alert) -> str:
    player = alert.data.get("player") or (alert.data.get("goal") or {}).get("player")
    team = alert.home if alert.data.get("side") == "home" else alert.away
    return digests.live_line(player, team, render.minute(alert.minute, alert.added))


def _without_goal(lines: list[Line], side: str) -> list[Line]:
    """``lines`` less the last goal of ``side`` (the one a cancellation takes back)."""
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if line.kind == "goal" and line.side == side:
            return lines[:i] + lines[i + 1 :]
    return lines


def text(board: LiveBoard) -> str:
    """What the message shows."""
    return digests.live_board(
        board.home,
        board.away,
        board.score,
        board.minute,
        board.headline,
        board.needs,
        [(line.kind, line.text) for line in board.lines],
        board.result,
    )
