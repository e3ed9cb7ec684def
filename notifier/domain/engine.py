"""The fold: ``apply(state, event, now) -> (state, alerts)``. Pure.

The state of a match carries its tie context (first-leg goals aligned to this match's sides),
so the aggregate is restated after every change, corrections included. Applying an event
twice changes nothing: the state remembers the ids it has folded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from notifier.domain import render
from notifier.domain.alerts import Alert, AlertKind, alert_id
from notifier.domain.events import (
    Event,
    GoalCancelled,
    GoalScored,
    LineupsAnnounced,
    PenaltyMissed,
    PhaseChanged,
    RedCard,
    ShootoutKickTaken,
    YellowCard,
)
from notifier.domain.models import Frozen, Goal, Incident, MatchStatus, Score, ShootoutKick, Side
from notifier.domain.render_lineup import lineup
from notifier.domain.texts import Parts
from notifier.domain.tie import TieRules, TieSpec, align, needs, standing, winner
from notifier.domain.told import need, needs_text, told

RECENT = 512  # event ids remembered for idempotency (the aggregator also keeps seen-keys)
LIVE_PLAY = (MatchStatus.FIRST_HALF, MatchStatus.SECOND_HALF, MatchStatus.EXTRA_TIME)


class MatchState(Frozen):
    """A match as the aggregator knows it, with its tie context."""

    match: str
    tie: str | None = None
    home: str  # display names
    away: str
    competition: str | None = None
    status: MatchStatus = MatchStatus.SCHEDULED
    minute: int | None = None
    added: int | None = None
    score: Score = Score()
    shootout: Score | None = None
    kicks: Score | None = None
    prior: Score | None = None
    prior_away: Score | None = None
    rules: TieRules = TieRules()
    next_round: str | None = None
    extra_time_played: bool = False
    finished: bool = False
    booked: tuple[tuple[Side, str | None], ...] = ()  # players shown a yellow card
    sent_off: Score = Score()  # players sent off, per side
    scorers: tuple[tuple[str, int], ...] = ()  # goals per player (own goals not counted)
    recent: tuple[str, ...] = ()


def start(event: Event, tie: TieSpec | None, aliases: dict[str, str]) -> MatchState:
    """The state of a match before its first event, from the event's names and the tie."""
    prior = prior_away = None
    if tie is not None:
        prior, prior_away = align(tie.first_leg, event.home, event.away)
    return MatchState(
        match=event.match,
        tie=tie.id if tie else event.tie,
        home=aliases.get(event.home, event.home),
        away=aliases.get(event.away, event.away),
        competition=event.competition,
        prior=prior,
        prior_away=prior_away,
        rules=tie.rules if tie else TieRules(),
        next_round=tie.next_round if tie else None,
    )


def view(state: MatchState) -> render.View:
    """The render view of a state: names, score, standing and needs."""
    st = standing(state.score, state.prior, state.prior_away, state.rules, state.shootout)
    return render.View(
        state.home,
        state.away,
        state.score,
        st,
        needs(state.score, state.prior, state.prior_away, state.rules, state.status),
        state.next_round,
        state.shootout,
        state.kicks,
        state.extra_time_played,
        state.prior is None,
    )


def apply(state: MatchState, event: Event, now: datetime) -> tuple[MatchState, list[Alert]]:
    """Fold one event into the state; the alerts it gives rise to, in order."""
    if event.id in state.recent:
        return state, []
    new = _advance(state, event)
    v = view(new)  # once per event: every text and alert of it reads the same standing
    texts = _texts(state, new, event, v)
    alerts = [
        _alert(new, v, event, kind, parts, now, i, data)
        for i, (kind, parts, data) in enumerate(texts)
    ]
    if isinstance(event, PhaseChanged) and any(kind == "result" for kind, _, _ in texts):
        new = _evolve(new, {"finished": True})
    return new, alerts


def _advance(state: MatchState, event: Event) -> MatchState:
    update: dict[str, Any] = {
        "score": event.score,
        "minute": event.minute if event.minute is not None else state.minute,
        "added": event.added,
        "recent": (*state.recent, event.id)[-RECENT:],
    }
    if isinstance(event, PhaseChanged):
        update["status"] = event.status
        if event.shootout is not None:
            update["shootout"] = event.shootout
    if event.status == MatchStatus.EXTRA_TIME or (
        isinstance(event, PhaseChanged) and event.previous == MatchStatus.EXTRA_TIME
    ):
        update["extra_time_played"] = True
    update |= _people(state, event)
    if isinstance(event, ShootoutKickTaken):
        update["shootout"] = event.shootout
        if event.kick is not None and event.complete:  # kicks taken unknown: never counted
            update["kicks"] = (state.kicks or Score()).plus(event.kick.side)
    return _evolve(state, update)


def _people(state: MatchState, event: Event) -> dict[str, Any]:
    """Bookings, players sent off and goals per scorer, as the event changes them."""
    if isinstance(event, YellowCard):
        return {"booked": (*state.booked, (event.incident.side, event.incident.player))}
    if isinstance(event, RedCard):
        return {"sent_off": state.sent_off.plus(event.incident.side)}
    g = event.goal if isinstance(event, GoalScored | GoalCancelled) else None
    if g is None or not g.player or g.kind == "own_goal":
        return {}
    tally = dict(state.scorers)
    tally[g.player] = max(tally.get(g.player, 0) + (1 if isinstance(event, GoalScored) else -1), 0)
    return {"scorers": tuple(tally.items())}


M = TypeVar("M", bound=Frozen)
_new = object.__new__
_set = object.__setattr__
_ALERT_SET = frozenset(Alert.model_fields) - {"v"}  # what validating _alert's call would set


def _trusted(cls: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """A model of values already of their fields' types (from validated events and states),
    without validating them again: the hot path builds a state and an alert or two per event.
    The same instance validation (or ``model_copy``) gives: values, fields set, no extras."""
    model = _new(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_fields_set__", fields_set)
    _set(model, "__pydantic_private__", None)
    return model


def _evolve(state: MatchState, changes: dict[str, Any]) -> MatchState:
    """``state.model_copy(update=changes)``, without pydantic's generic copy."""
    values = state.__dict__.copy()
    values.update(changes)
    return _trusted(MatchState, values, state.__pydantic_fields_set__.union(changes))


def _data(model: Goal | Incident | ShootoutKick) -> dict[str, Any]:
    """``model.model_dump(mode="json")`` for an alert's ``data``: the fields of these models are
    JSON values already (ints, strings, booleans, None; a test holds it), so their own dict,
    copied, is the same without pydantic's serializer."""
    return dict(model.__dict__)


Text = tuple[AlertKind, Parts, dict[str, Any]]
_SECOND_YELLOW = ("second yellow", "yellow red", "yellow-red", "yellowred")


def _texts(old: MatchState, new: MatchState, event: Event, v: render.View) -> list[Text]:
    match event:
        case LineupsAnnounced(lineups=lu):
            return [
                ("lineups", lineup("home", lu.home), {"side": "home"}),
                ("lineups", lineup("away", lu.away), {"side": "away"}),
            ]
        case GoalScored(side=side, goal=g, minute=m, added=a):
            data = {"side": side, "goal": _data(g) if g else None}
            tally = _tally(new, g.player) if g and g.player and g.kind != "own_goal" else 0
            return [("goal", render.goal(v, g, m, a, tally), data)]
        case GoalCancelled(side=side, goal=g, minute=m, added=a, reason=reason):
            info: dict[str, Any] = {"side": side, "reason": reason}
            info["goal"] = _data(g) if g else None
            text = render.goal_cancelled(v, side, g, m, a)
            return [("goal_cancelled", text, info), *_restated_result(old, new, v)]
        case RedCard(incident=i) | YellowCard(incident=i):
            return [_card(old, new, event, v, i)]
        case PenaltyMissed(incident=i):
            return [("penalty_missed", render.penalty_missed(v, i), _data(i))]
        case ShootoutKickTaken(kick=k, decisive=decisive):
            kick: dict[str, Any] = _data(k) if k else {}
            kick["decisive"] = decisive
            text = render.shootout(
                v,
                k.player if k else None,
                k.scored if k else None,
                k.side if k else None,
                decisive,
            )
            return [("shootout", text, kick)]
        case PhaseChanged():
            return _phase_texts(old, new, event, v)
    return []


def _tally(state: MatchState, player: str) -> int:
    return dict(state.scorers).get(player, 0)


def card_kind(old: MatchState, event: RedCard | YellowCard) -> str:
    """``yellow``, ``second_yellow`` (the feed says so, or the player was booked before) or
    ``red``."""
    i = event.incident
    if isinstance(event, YellowCard):
        return "yellow"
    detail = (i.detail or "").lower()
    if any(w in detail for w in _SECOND_YELLOW) or (i.side, i.player) in old.booked:
        return "second_yellow"
    return "red"


def _card(old: MatchState, new: MatchState, event: Event, v: render.View, i: Incident) -> Text:
    assert isinstance(event, RedCard | YellowCard)
    kind = card_kind(old, event)
    left = None if kind == "yellow" else 11 - new.sent_off.of(i.side)
    data = _data(i) | {"card": kind, "players_left": left}
    alert_kind: AlertKind = "yellow_card" if kind == "yellow" else "red_card"
    return alert_kind, render.card(v, i, kind, left), data


def _restated_result(old: MatchState, new: MatchState, v: render.View) -> list[Text]:
    """A result already sent that a correction after the whistle changes, told again."""
    if not old.finished:
        return []
    final = winner(new.score, new.prior, new.prior_away, new.rules, new.shootout, None)
    data = {"winner": final.leader, "how": final.how, "corrected": True}
    return [("result", render.result(v, final, corrected=True), data)]


def _phase_texts(
    old: MatchState, new: MatchState, event: PhaseChanged, v: render.View
) -> list[Text]:
    prev, cur = old.status, event.status
    out: list[Text] = []
    if event.stage is not None:
        if cur != MatchStatus.EXTRA_TIME or old.finished:
            return []
        return [("extra_time", render.phase(v, event.stage), {"phase": event.stage})]
    if prev == MatchStatus.SCHEDULED and cur in (*LIVE_PLAY, MatchStatus.HALF_TIME):
        out.append(("kickoff", render.kickoff(view(old)), {"phase": "kickoff"}))
    if cur == MatchStatus.HALF_TIME:
        out.append(("half_time", render.phase(v, "half_time"), {"phase": "half_time"}))
    elif prev == MatchStatus.SUSPENDED and cur in LIVE_PLAY:
        data = {"status": "resumed", "phase": "resumed"}
        out.append(("status", render.phase(v, "resumed"), data))
    elif cur == MatchStatus.SECOND_HALF and prev in (MatchStatus.HALF_TIME, MatchStatus.FIRST_HALF):
        out.append(("second_half", render.phase(v, "second_half"), {"phase": "second_half"}))
    elif cur in (MatchStatus.EXTRA_TIME, MatchStatus.PENALTIES, MatchStatus.FINISHED):
        out += _ends(old, new, event, v)
    elif cur in render.STATUS_WORDS:
        data = {"status": str(cur), "phase": str(cur)}
        out.append(("status", render.status(v, cur, new.minute), data))
    return out


def _ends(old: MatchState, new: MatchState, event: PhaseChanged, v: render.View) -> list[Text]:
    """The end of normal time or of extra time, and the result: one alert for a single match
    that ends (its result is the score), the result of a tie after its last phase's."""
    prev, cur = old.status, event.status
    regular = prev in (MatchStatus.FIRST_HALF, MatchStatus.HALF_TIME, MatchStatus.SECOND_HALF)
    over = cur == MatchStatus.FINISHED and not old.finished
    final = winner(new.score, new.prior, new.prior_away, new.rules, new.shootout, event.winner)
    result: Text = ("result", render.result(v, final), {"winner": final.leader, "how": final.how})
    out: list[Text] = []
    if regular and cur != MatchStatus.FINISHED:
        parts = render.end_of_play(v, "end_of_normal_time", cur)
        out.append(("full_time", parts, {"phase": "end_of_normal_time", "next": str(cur)}))
    elif regular and over and v.single and final.how != "provider":
        data = {"phase": "full_time", "winner": final.leader, "how": final.how}
        return [("full_time", render.end_of_play(v, "full_time", None), data)]
    elif regular:
        out.append(("full_time", render.end_of_play(v, "full_time", None), {"phase": "full_time"}))
    elif prev == MatchStatus.EXTRA_TIME and not (over and v.single):
        nxt = cur if cur == MatchStatus.PENALTIES else None
        parts = render.end_of_play(v, "end_of_extra_time", nxt)
        out.append(("extra_time", parts, {"phase": "end_of_extra_time", "next": str(cur)}))
    if cur == MatchStatus.PENALTIES and not old.finished:
        out.append(("shootout", render.phase(v, "penalties"), {"phase": "penalties"}))
    if over:
        out.append(result)
    return out


def _alert(
    state: MatchState,
    v: render.View,
    event: Event,
    kind: AlertKind,
    parts: Parts,
    now: datetime,
    i: int,
    data: dict[str, Any],
) -> Alert:
    agg = v.standing.aggregate
    leader = v.name(v.standing.leader) if v.standing.leader else None
    text, dumped = told(parts, v)
    return _trusted(
        Alert,
        {
            "v": 1,
            "id": alert_id(event.id, i),
            "kind": kind,
            "text": text,
            "match": state.match,
            "tie": state.tie,
            "event": event.id,
            "competition": state.competition,
            "home": state.home,
            "away": state.away,
            "status": state.status,
            "minute": event.minute,
            "added": event.added,
            "score": state.score,
            "shootout": state.shootout,
            "aggregate": {state.home: agg.home, state.away: agg.away} if agg is not None else None,
            "leader": leader,
            "needs": needs_text(v),
            "need": need(v),
            "data": data,
            "parts": dumped,
            "lang": "en",
            "occurred_at": event.at,
            "detected_at": event.seen,
            "emitted_at": now,
        },
        set(_ALERT_SET),
    )
