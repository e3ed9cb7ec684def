"""Every alert text, in one module. Pure: a ``View`` of the match in, a sentence out."""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import NamedTuple

from notifier.domain.models import Goal, Incident, Lineup, LineupPlayer, MatchStatus, Score, Side
from notifier.domain.tie import Standing

NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
PURPOSE = {
    "win": "to go through",
    "extra_time": "to force extra time",
    "penalties": "to force penalties",
    "replay": "to force a replay",
}
STATUS_WORDS = {
    MatchStatus.POSTPONED: "postponed",
    MatchStatus.CANCELLED: "cancelled",
    MatchStatus.ABANDONED: "abandoned",
    MatchStatus.SUSPENDED: "suspended",
}


class View(NamedTuple):
    """What a sentence may speak of: names, score, the tie's standing and needs (a named tuple:
    one is built for every event, and a frozen dataclass costs several times as much)."""

    home: str
    away: str
    score: Score
    standing: Standing
    needs: tuple[Side, int, str] | None = None
    next_round: str | None = None
    shootout: Score | None = None
    kicks: Score | None = None  # shoot-out kicks taken by each side, where known
    extra_time_played: bool = False

    def name(self, side: Side) -> str:
        """Display name of one side."""
        return self.home if side == "home" else self.away


def minute(m: int | None, added: int | None = None) -> str:
    """``23'``, ``45+2'``; empty when unknown."""
    if m is None:
        return ""
    return f"{m}+{added}'" if added else f"{m}'"


def score_line(v: View) -> str:
    """``Atalanta 1-0 Dortmund``."""
    return f"{v.home} {v.score.home}-{v.score.away} {v.away}"


def aggregate(v: View) -> str | None:
    """``Dortmund lead 2-1 on aggregate``, ``2-2 on aggregate``; None for a single match."""
    agg = v.standing.aggregate
    if agg is None:
        return None
    hi, lo = max(agg.home, agg.away), min(agg.home, agg.away)
    if v.standing.leader is None or v.standing.how == "penalties":
        return f"{agg.home}-{agg.away} on aggregate"
    name = v.name(v.standing.leader)
    if v.standing.how == "away_goals":
        return f"{name} lead on away goals ({hi}-{lo} on aggregate)"
    return f"{name} lead {hi}-{lo} on aggregate"


def needs(v: View) -> str | None:
    """``Atalanta need two goals to force extra time``."""
    if v.needs is None:
        return None
    side, n, purpose = v.needs
    goals = "goal" if n == 1 else "goals"
    return f"{v.name(side)} need {NUMBERS[n]} {goals} {PURPOSE[purpose]}"


def _sentences(*parts: str | None) -> str:
    return ". ".join(p for p in parts if p)


def kickoff(v: View) -> str:
    """``Kick-off: Atalanta v Dortmund. Dortmund lead 2-0 from the first leg``."""
    head = f"Kick-off: {v.home} v {v.away}"
    agg = v.standing.aggregate
    if agg is None:
        return head
    if v.standing.leader is None:
        return _sentences(head, f"The first leg ended {agg.home}-{agg.away}")
    hi, lo = max(agg.home, agg.away), min(agg.home, agg.away)
    lead = f"{v.name(v.standing.leader)} lead {hi}-{lo} from the first leg"
    if v.standing.how == "away_goals":
        lead = f"{v.name(v.standing.leader)} lead on away goals from the first leg"
    return _sentences(head, lead)


def scorer(goal: Goal | None, m: int | None, added: int | None) -> str:
    """``Scamacca 23'``, ``Kossounou 23' og``, ``71' pen``; says so when the feed names nobody."""
    if goal is None or goal.player is None:
        when = minute(goal.minute if goal else m, goal.added if goal else added)
        return f"{when}, scorer not given by the feed" if when else "scorer not given by the feed"
    tail = {"own_goal": " og", "penalty": " pen", "normal": ""}[goal.kind]
    return f"{goal.player} {minute(goal.minute, goal.added)}{tail}".replace("  ", " ")


def goal(v: View, g: Goal | None, m: int | None, added: int | None) -> str:
    """``GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate``."""
    return _sentences(f"GOAL {score_line(v)} ({scorer(g, m, added)})", aggregate(v), needs(v))


def goal_cancelled(v: View, side: Side, g: Goal | None, m: int | None, added: int | None) -> str:
    """``Goal ruled out: Scamacca (Atalanta) 23'. Atalanta 0-0 Dortmund; Dortmund lead 2-0 ...``;
    ``Goal ruled out: Dortmund goal 40'. ...`` when the feed names no scorer."""
    team = v.name(side)
    if g is not None and g.kind == "own_goal":  # the player is of the other side
        team = f"own goal for {team}"
    when = minute(g.minute, g.added) if g is not None else minute(m, added)
    if g is not None and g.player:
        head = f"Goal ruled out: {g.player} ({team}) {when}"
    elif g is not None and g.kind == "own_goal":
        head = f"Goal ruled out: {team} {when}"
    else:
        head = f"Goal ruled out: {team} goal {when}"
    head = head.rstrip()
    tail = "; ".join(p for p in (score_line(v), aggregate(v)) if p)
    return _sentences(head, tail, needs(v))


def incident(label: str, v: View, i: Incident) -> str:
    """``Red card: Kossounou (Atalanta) 67'`` / ``Penalty missed: ...``."""
    who = i.player or "a player"
    return f"{label}: {who} ({v.name(i.side)}) {minute(i.minute, i.added)}".rstrip()


def half_time(v: View) -> str:
    """``Half-time: Atalanta 1-0 Dortmund. Dortmund lead 2-1 on aggregate``."""
    return _sentences(f"Half-time: {score_line(v)}", aggregate(v), needs(v))


def second_half(v: View) -> str:
    """``Second half under way: Atalanta 1-0 Dortmund``."""
    return _sentences(f"Second half under way: {score_line(v)}", aggregate(v))


def resumed(v: View) -> str:
    """``Play resumes: Atalanta 1-0 Dortmund. Dortmund lead 2-1 on aggregate. ...``."""
    return _sentences(f"Play resumes: {score_line(v)}", aggregate(v), needs(v))


def full_time(v: View, next_phase: MatchStatus | None) -> str:
    """``Full-time: Atalanta 2-0 Dortmund. 2-2 on aggregate: extra time``."""
    head = f"Full-time: {score_line(v)}"
    agg = aggregate(v)
    if next_phase == MatchStatus.EXTRA_TIME:
        return _sentences(head, f"{agg or 'Level'}: extra time")
    if next_phase == MatchStatus.PENALTIES:
        return _sentences(head, f"{agg or 'Level'}: penalties")
    a = v.standing.aggregate
    return f"{head} ({a.home}-{a.away} on aggregate)" if a is not None else head


def end_of_extra_time(v: View, next_phase: MatchStatus | None) -> str:
    """``End of extra time: Atalanta 2-0 Dortmund. 2-2 on aggregate: penalties``."""
    head = f"End of extra time: {score_line(v)}"
    agg = aggregate(v)
    if next_phase == MatchStatus.PENALTIES:
        return _sentences(head, f"{agg or 'Level'}: penalties")
    a = v.standing.aggregate
    return f"{head} ({a.home}-{a.away} on aggregate)" if a is not None else head


def shootout(v: View, kicker: str | None, scored: bool | None, side: Side | None) -> str:
    """``Penalties: Atalanta 3-2 Dortmund (Guirassy misses)``, ``... after 5 kicks each``."""
    s = v.shootout or Score()
    head = f"Penalties: {v.home} {s.home}-{s.away} {v.away}"
    what = None
    if scored is not None and side is not None:
        verb = "scores" if scored else "misses"
        what = f"{kicker} {verb}" if kicker else f"{v.name(side)} {verb}"
    k = v.kicks
    each = None
    if k is not None and k.home == k.away and k.home:
        each = f"after {k.home} kick{'s' if k.home > 1 else ''} each"
    parts = [p for p in (what, each) if p]
    return f"{head} ({', '.join(parts)})" if parts else head


def result(v: View, final: Standing) -> str:
    """``Dortmund win 3-1 on aggregate and reach the round of 16`` and its siblings."""
    agg, leader = final.aggregate, final.leader
    if leader is None:
        level = agg or v.score
        return f"{v.home} and {v.away} draw {level.home}-{level.away}"
    name = v.name(leader)
    text = _result_text(v, final, name, agg)
    return f"{text} and reach {v.next_round}" if v.next_round else text


def _result_text(v: View, final: Standing, name: str, agg: Score | None) -> str:
    if final.how == "penalties":
        s = v.shootout or Score()
        hi, lo = max(s.home, s.away), min(s.home, s.away)
        level = agg or v.score
        where = "on aggregate" if agg is not None else "after extra time"
        if agg is None and not v.extra_time_played:
            where = "at full-time"
        return f"{name} win {hi}-{lo} on penalties ({level.home}-{level.away} {where})"
    if final.how == "provider":  # level, and the feed names the winner (shoot-out not given)
        level = agg or v.score
        on = " on aggregate" if agg is not None else ""
        return f"{name} go through ({level.home}-{level.away}{on})"
    if agg is None:
        loser = v.away if final.leader == "home" else v.home
        hi, lo = max(v.score.home, v.score.away), min(v.score.home, v.score.away)
        return f"{name} beat {loser} {hi}-{lo}" + (
            " after extra time" if v.extra_time_played else ""
        )
    if final.how == "away_goals":
        return f"{name} win on away goals ({agg.home}-{agg.away} on aggregate)"
    hi, lo = max(agg.home, agg.away), min(agg.home, agg.away)
    return f"{name} win {hi}-{lo} on aggregate" + (
        " after extra time" if v.extra_time_played else ""
    )


def status(v: View, st: MatchStatus, m: int | None) -> str:
    """``Atalanta v Dortmund postponed`` / ``suspended at 67'``."""
    word = STATUS_WORDS.get(st, str(st))
    if st in (MatchStatus.POSTPONED, MatchStatus.CANCELLED):  # not played: no score to give
        return f"{v.home} v {v.away} {word}"
    when = f" at {minute(m)}" if st in (MatchStatus.SUSPENDED, MatchStatus.ABANDONED) and m else ""
    return f"{v.home} v {v.away} {word}{when} ({v.score.home}-{v.score.away})"


def lineup(team: str, lu: Lineup) -> str:
    """``Lineups: Atalanta (3-4-2-1) Carnesecchi; Kossounou, Djimsiti, Ahanor; ...``."""
    shape = f" ({lu.formation})" if lu.formation else ""
    lines = "; ".join(", ".join(p.name for p in row) for row in _rows(lu.start))
    return f"Lineups: {team}{shape} {lines}".rstrip()


def _rows(players: Iterable[LineupPlayer]) -> list[list[LineupPlayer]]:
    """Group the XI by formation line: by grid row (right to left), else by position."""
    rows: dict[int, list[tuple[int, LineupPlayer]]] = {}
    for i, p in enumerate(players):
        row, col = _grid(p.grid) or (_LINES.get((p.position or "M")[:1].upper(), 2), -i)
        rows.setdefault(row, []).append((col, p))
    # Right to left; reverse=True keeps equal columns in their order, as a -col key would.
    return [[p for _, p in sorted(rows[r], key=_column, reverse=True)] for r in sorted(rows)]


_LINES = {"G": 0, "D": 1, "M": 2, "F": 3}
_column = itemgetter(0)


def _grid(grid: str | None) -> tuple[int, int] | None:
    if not grid:
        return None
    try:
        row, col = grid.split(":")
        return int(row), int(col)
    except ValueError:
        return None
