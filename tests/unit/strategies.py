"""Snapshot builders, a scripted second leg and hypothesis strategies shared by the unit tests.

Everything here is plain data built from the real models: no mocks. The seed tie is the one of
DESIGN.md: first leg Borussia Dortmund 2-0 Atalanta, second leg Atalanta v Borussia Dortmund.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from notifier.domain.alerts import Alert
from notifier.domain.diff import carry, diff
from notifier.domain.engine import MatchState, apply, start
from notifier.domain.events import Event
from notifier.domain.models import (
    Goal,
    GoalKind,
    Incident,
    Lineup,
    LineupPlayer,
    Lineups,
    MatchSnapshot,
    MatchStatus,
    Score,
    ShootoutKick,
    Side,
    Team,
)
from notifier.domain.tie import TieRules, TieSpec, parse_first_leg

S = MatchStatus
T0 = datetime(2026, 2, 25, 20, 0, tzinfo=UTC)
HOME, AWAY = "Atalanta", "Borussia Dortmund"
ALIASES = {"Borussia Dortmund": "Dortmund"}
KEY = "api-football:900001"
TIE = TieSpec(
    id="ucl-2026-po-atalanta-dortmund",
    first_leg=parse_first_leg("Borussia Dortmund 2-0 Atalanta"),
    next_round="the round of 16",
)
SIDES: tuple[Side, Side] = ("home", "away")
# The order a match moves through, for generated histories.
PATH = (
    S.SCHEDULED,
    S.FIRST_HALF,
    S.HALF_TIME,
    S.SECOND_HALF,
    S.EXTRA_TIME,
    S.PENALTIES,
    S.FINISHED,
)


def snap(
    status: MatchStatus = S.FIRST_HALF,
    score: tuple[int, int] = (0, 0),
    *,
    minute: int | None = None,
    goals: Iterable[Goal] = (),
    home: str = HOME,
    away: str = AWAY,
    **fields: object,
) -> MatchSnapshot:
    """One poll of the seed second leg (or of any match, with other names)."""
    return MatchSnapshot.model_validate(
        {
            "provider": "api-football",
            "match_id": "900001",
            "home": Team(name=home),
            "away": Team(name=away),
            "status": status,
            "score": Score(home=score[0], away=score[1]),
            "minute": minute,
            "goals": tuple(goals),
            **fields,
        }
    )


def goal(
    minute: int,
    side: Side,
    player: str | None = None,
    *,
    added: int | None = None,
    kind: GoalKind = "normal",
    ref: str | None = None,
) -> Goal:
    """A goal as a feed lists it."""
    return Goal(minute=minute, added=added, side=side, player=player, kind=kind, ref=ref)


def incident(
    minute: int, side: Side, player: str | None = None, detail: str | None = None
) -> Incident:
    """A red card, a missed penalty or a VAR decision."""
    return Incident(minute=minute, side=side, player=player, detail=detail)


def polls(snapshots: Sequence[MatchSnapshot], first: MatchSnapshot | None = None) -> list[Event]:
    """The events of polling ``snapshots`` one after the other, a minute apart."""
    events: list[Event] = []
    prev = first
    for i, cur in enumerate(snapshots):
        fresh = diff(prev, cur, seen=T0 + timedelta(minutes=i))
        events += fresh
        prev = carry(prev, cur, fresh)  # as the poller stores it
    return events


def fold(
    events: Iterable[Event],
    tie: TieSpec | None = TIE,
    aliases: dict[str, str] | None = None,
    state: MatchState | None = None,
) -> tuple[MatchState | None, list[Alert]]:
    """Fold events into a (new) match state; every alert, in order."""
    alerts: list[Alert] = []
    for event in events:
        if state is None:
            state = start(event, tie, ALIASES if aliases is None else aliases)
        state, out = apply(state, event, event.seen + timedelta(seconds=1))
        alerts += out
    return state, alerts


def texts(alerts: Iterable[Alert]) -> list[str]:
    """The text of each alert."""
    return [a.text for a in alerts]


def _players(rows: Sequence[Sequence[str]], positions: str) -> tuple[LineupPlayer, ...]:
    """An XI from formation lines (goalkeeper first), with API-Football grids (right to left)."""
    out = []
    for r, (row, pos) in enumerate(zip(rows, positions, strict=True), start=1):
        for c, name in enumerate(row):
            out.append(LineupPlayer(name=name, position=pos, grid=f"{r}:{len(row) - c}"))
    return tuple(out)


ATALANTA_XI = (
    ("Carnesecchi",),
    ("Kossounou", "Djimsiti", "Ahanor"),
    ("Zappacosta", "Ederson", "De Roon", "Bernasconi"),
    ("Pasalic", "Zalewski"),
    ("Scamacca",),
)
DORTMUND_XI = (
    ("Kobel",),
    ("Anton", "Schlotterbeck", "Bensebaini"),
    ("Ryerson", "Nmecha", "Bellingham", "Svensson"),
    ("Brandt", "Beier"),
    ("Guirassy",),
)
LINEUPS = Lineups(
    home=Lineup(formation="3-4-2-1", start=_players(ATALANTA_XI, "GDMMF")),
    away=Lineup(formation="3-4-2-1", start=_players(DORTMUND_XI, "GDMMF")),
)
KICKERS: tuple[tuple[Side, str, bool], ...] = (
    ("home", "Krstovic", True),
    ("away", "Guirassy", True),
    ("home", "Pasalic", True),
    ("away", "Sabitzer", True),
    ("home", "Samardzic", True),
    ("away", "Adeyemi", True),
    ("home", "Djimsiti", True),
    ("away", "Gross", True),
    ("home", "Musah", True),
    ("away", "Svensson", False),
)
SHOOTOUT = tuple(
    ShootoutKick(order=i, side=side, player=player, scored=scored)
    for i, (side, player, scored) in enumerate(KICKERS, start=1)
)


def scripted_second_leg() -> list[MatchSnapshot]:
    """The demo's second leg, poll by poll: every alert kind, VAR twice, a shoot-out."""
    scamacca, pasalic = goal(23, "home", "Scamacca"), goal(84, "home", "Pasalic")
    guirassy, beier = goal(38, "away", "Guirassy"), goal(104, "away", "Beier")
    var1 = incident(40, "away", "Guirassy", "Goal cancelled")
    var2 = incident(105, "away", "Beier", "Goal cancelled")
    red: dict[str, Any] = {"red_cards": (incident(67, "home", "Kossounou", "Red Card"),)}
    pen = red | {"missed_penalties": (incident(71, "away", "Guirassy", "Missed Penalty"),)}
    late = pen | {"cancelled_goals": (var1,)}
    out = [
        snap(S.SCHEDULED, lineups=LINEUPS),
        snap(S.FIRST_HALF, minute=1, lineups=LINEUPS),
        snap(S.FIRST_HALF, (1, 0), minute=24, goals=[scamacca], lineups=LINEUPS),
        snap(S.FIRST_HALF, (1, 1), minute=39, goals=[scamacca, guirassy], lineups=LINEUPS),
        snap(S.FIRST_HALF, (1, 0), minute=41, goals=[scamacca], cancelled_goals=(var1,)),
        snap(S.HALF_TIME, (1, 0), minute=45, goals=[scamacca], cancelled_goals=(var1,)),
        snap(S.SECOND_HALF, (1, 0), minute=46, goals=[scamacca], cancelled_goals=(var1,)),
        snap(S.SECOND_HALF, (1, 0), minute=68, goals=[scamacca], **red | late),
        snap(S.SECOND_HALF, (1, 0), minute=72, goals=[scamacca], **late),
        snap(S.SECOND_HALF, (2, 0), minute=85, goals=[scamacca, pasalic], **late),
        snap(S.EXTRA_TIME, (2, 0), minute=91, goals=[scamacca, pasalic], **late),
        snap(S.EXTRA_TIME, (2, 1), minute=104, goals=[scamacca, pasalic, beier], **late),
    ]
    after = late | {"cancelled_goals": (var1, var2)}
    out.append(snap(S.EXTRA_TIME, (2, 0), minute=106, goals=[scamacca, pasalic], **after))
    out.append(snap(S.PENALTIES, (2, 0), minute=120, goals=[scamacca, pasalic], **after))
    for n in range(1, len(SHOOTOUT) + 1):
        kicks = SHOOTOUT[:n]
        so = Score(
            home=sum(k.scored for k in kicks if k.side == "home"),
            away=sum(k.scored for k in kicks if k.side == "away"),
        )
        fields = after | {"shootout_kicks": kicks, "shootout": so}
        out.append(snap(S.PENALTIES, (2, 0), minute=120, goals=[scamacca, pasalic], **fields))
    final = after | {"shootout_kicks": SHOOTOUT, "shootout": Score(home=5, away=4)}
    done = snap(S.FINISHED, (2, 0), minute=120, goals=[scamacca, pasalic], winner="home", **final)
    return [*out, done]


# --- hypothesis strategies -------------------------------------------------------------------

sides = st.sampled_from(SIDES)
statuses = st.sampled_from(list(MatchStatus))
names = st.one_of(st.none(), st.sampled_from(["Scamacca", "Guirassy", "Pasalic", "Beier"]))
small = st.integers(min_value=0, max_value=6)
minutes = st.integers(min_value=0, max_value=130)
added = st.one_of(st.none(), st.integers(min_value=0, max_value=9))
scores = st.builds(Score, home=small, away=small)
goals = st.builds(
    Goal,
    minute=minutes,
    added=added,
    side=sides,
    player=names,
    kind=st.sampled_from(["normal", "penalty", "own_goal"]),
    ref=st.one_of(st.none(), st.sampled_from(["g1", "g2", "g3"])),
)
incidents = st.builds(Incident, minute=minutes, added=added, side=sides, player=names)
kicks = st.builds(
    ShootoutKick,
    order=st.integers(min_value=1, max_value=12),
    side=sides,
    player=names,
    scored=st.booleans(),
)
lineups = st.one_of(st.none(), st.just(LINEUPS))


@st.composite
def snapshots(draw: st.DrawFn) -> MatchSnapshot:
    """Any valid snapshot of the seed match, however odd."""
    return snap(
        draw(statuses),
        (draw(small), draw(small)),
        minute=draw(st.one_of(st.none(), minutes)),
        goals=draw(st.lists(goals, max_size=6)),
        added=draw(added),
        shootout=draw(st.one_of(st.none(), scores)),
        winner=draw(st.one_of(st.none(), sides)),
        red_cards=tuple(draw(st.lists(incidents, max_size=3))),
        missed_penalties=tuple(draw(st.lists(incidents, max_size=3))),
        cancelled_goals=tuple(draw(st.lists(incidents, max_size=3))),
        shootout_kicks=tuple(draw(st.lists(kicks, max_size=8))),
        lineups=draw(lineups),
    )


@st.composite
def histories(draw: st.DrawFn) -> list[MatchSnapshot]:
    """A plausible match, poll by poll: statuses only move forward, the score only goes down
    when a goal is ruled out (VAR), and every goal has a minute of its own.

    With ``detailed`` false the feed gives scores only (no goal list, no VAR incidents).
    """
    detailed = draw(st.booleans())
    step = 0
    clock = 0
    counting: list[Goal] = []
    var: list[Incident] = []
    out = [snap(S.SCHEDULED, lineups=draw(lineups))]
    for _ in range(draw(st.integers(min_value=1, max_value=14))):
        step = min(step + draw(st.integers(min_value=0, max_value=2)), len(PATH) - 1)
        step = max(step, 1)
        for op in draw(st.lists(st.tuples(st.sampled_from(["goal", "cancel"]), sides), max_size=3)):
            clock += 1
            kind, side = op
            if kind == "goal":
                counting.append(goal(clock, side, draw(names)))
                continue
            theirs = [g for g in counting if g.side == side]
            if theirs:
                gone = draw(st.sampled_from(theirs))
                counting.remove(gone)
                if draw(st.booleans()):
                    var.append(incident(clock, side, gone.player, "Goal cancelled"))
        clock += draw(st.integers(min_value=1, max_value=5))
        score = (
            sum(g.side == "home" for g in counting),
            sum(g.side == "away" for g in counting),
        )
        out.append(
            snap(
                PATH[step],
                score,
                minute=clock,
                goals=counting if detailed else (),
                cancelled_goals=tuple(var) if detailed else (),
            )
        )
    return out


@st.composite
def goal_ops(draw: st.DrawFn) -> list[tuple[str, Side]]:
    """A sequence of goals and cancellations that never takes a side below zero."""
    ops: list[tuple[str, Side]] = []
    count = {"home": 0, "away": 0}
    for kind, side in draw(
        st.lists(st.tuples(st.sampled_from(["goal", "cancel"]), sides), max_size=12)
    ):
        if kind == "cancel" and count[side] == 0:
            kind = "goal"
        count[side] += 1 if kind == "goal" else -1
        ops.append((kind, side))
    return ops


def ops_snapshots(ops: Sequence[tuple[str, Side]], finish: bool = True) -> list[MatchSnapshot]:
    """Score-only polls, one per goal or cancellation, from kick-off to (optionally) full time."""
    score = {"home": 0, "away": 0}
    out = [snap(S.FIRST_HALF, minute=1)]
    for i, (kind, side) in enumerate(ops, start=2):
        score[side] += 1 if kind == "goal" else -1
        out.append(snap(S.SECOND_HALF, (score["home"], score["away"]), minute=i))
    if finish:
        out.append(snap(S.FINISHED, (score["home"], score["away"]), minute=len(ops) + 2))
    return out


TIE_RULES = st.builds(TieRules, away_goals=st.booleans(), extra_time=st.booleans())


# --- mutated provider payloads (the real recordings, with a few fields dropped or retyped) ----

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats()
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def mutate(node: Any, draw: st.DrawFn) -> None:
    """Walk down a random path, then drop, replace or retype what is there."""
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        key = draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and draw(st.integers(0, 9)) < 8:
            node = child
            continue
        action = draw(st.sampled_from(["drop", "replace", "null"]))
        if action == "drop":
            del node[key]
        else:
            node[key] = None if action == "null" else draw(JSON_VALUES)
        return
