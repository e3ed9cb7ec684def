"""The fold: ``step(state, event, now) -> (state, alerts)``, on the fold's structs. Pure.

The state of a match carries its tie context (first-leg goals aligned to this match's sides),
so the aggregate is restated after every change, corrections included. Applying an event
twice changes nothing: the state remembers the ids it has folded.

Written against :mod:`notifier.domain.structs` (the aggregator decodes events straight into
them) and giving each alert as its fields' values, in the order of ``Alert``'s: the aggregator
writes them as JSON without building a model, :mod:`notifier.domain.engine` builds the
``Alert`` and ``State`` models from them for everyone else.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from notifier.domain import render
from notifier.domain.alerts import AlertKind, alert_id
from notifier.domain.models import MatchStatus, Side
from notifier.domain.render_lineup import lineup
from notifier.domain.structs import (
    Event,
    GoalCancelled,
    GoalScored,
    Incident,
    Lineup,
    LineupsAnnounced,
    PenaltyMissed,
    PhaseChanged,
    RedCard,
    Rules,
    Score,
    ShootoutKickTaken,
    State,
    YellowCard,
    fields_of,
    replace,
)
from notifier.domain.texts import Parts, catalogue
from notifier.domain.tie import NeedTo, Standing, TieSpec, align, needs, standing, winner
from notifier.domain.told import Said, Seen, said, seen_of

RECENT = 512  # event ids remembered for idempotency (the aggregator also keeps seen-keys)
LIVE_PLAY = (MatchStatus.FIRST_HALF, MatchStatus.SECOND_HALF, MatchStatus.EXTRA_TIME)
AlertValues = dict[str, Any]
"""An alert's fields by name, in ``Alert``'s order (structs for its scores and need)."""


def begin(event: Event, tie: TieSpec | None, aliases: dict[str, str]) -> State:
    """The state of a match before its first event, from the event's names and the tie."""
    prior = prior_away = None
    if tie is not None:
        first, away = align(tie.first_leg, event.home, event.away)
        prior, prior_away = (
            Score(home=first.home, away=first.away),
            Score(home=away.home, away=away.away),
        )
    rules = Rules()
    if tie is not None:
        r = tie.rules
        rules = Rules(away_goals=r.away_goals, extra_time=r.extra_time, penalties=r.penalties)
    return State(
        match=event.match,
        tie=tie.id if tie else event.tie,
        home=aliases.get(event.home, event.home),
        away=aliases.get(event.away, event.away),
        competition=event.competition,
        prior=prior,
        prior_away=prior_away,
        rules=rules,
        next_round=tie.next_round if tie else None,
    )


Needs = tuple[Side, int, NeedTo] | None
_STANDINGS: dict[tuple[object, ...], tuple[Standing, Needs]] = {}
STANDINGS_CACHE = 4096  # (score, first leg, rules, shoot-out, status) kept; cleared when full


def _standing(state: State) -> tuple[Standing, Needs]:
    """The standing and the needs of a state, memoised on what they are made of (structs are
    hashable values): within a match most events leave the score, the shoot-out and the phase as
    they were, and working out the needs tries up to ten scores."""
    key = (state.score, state.prior, state.prior_away, state.rules, state.shootout, state.status)
    hit = _STANDINGS.get(key)
    if hit is None:
        if len(_STANDINGS) >= STANDINGS_CACHE:
            _STANDINGS.clear()
        st = standing(state.score, state.prior, state.prior_away, state.rules, state.shootout)
        hit = _STANDINGS[key] = (
            st,
            needs(state.score, state.prior, state.prior_away, state.rules, state.status),
        )
    return hit


_VIEWS: dict[tuple[object, ...], Seen] = {}
VIEWS_CACHE = 4096  # views kept (by the state fields they are made of); cleared when full
_TOKENS = itertools.count()  # a new token for every view made: never one for two views


def seen(state: State) -> Seen:
    """The render view of a state and what its alerts say alike (``told.Seen``), memoised on the
    state fields the view is made of: within a match most events leave them as they were; its
    token keys the texts of that view (``told.said``). Not memoised while English has a
    catalogue (the texts then are the catalogue's, which may change)."""
    if catalogue("en") is not None:
        return seen_of(view(state), -1)
    key = (
        state.home,
        state.away,
        state.score,
        state.prior,
        state.prior_away,
        state.rules,
        state.shootout,
        state.status,
        state.next_round,
        state.kicks,
        state.extra_time_played,
    )
    hit = _VIEWS.get(key)
    if hit is None:
        if len(_VIEWS) >= VIEWS_CACHE:
            _VIEWS.clear()
        hit = _VIEWS[key] = seen_of(view(state), next(_TOKENS))
    return hit


def view(state: State) -> render.View:
    """The render view of a state: names, score, standing and needs."""
    st, need_of = _standing(state)
    return render.View(
        state.home,
        state.away,
        state.score,
        st,
        need_of,
        state.next_round,
        state.shootout,
        state.kicks,
        state.extra_time_played,
        state.prior is None,
    )


def step(state: State, event: Event, now: datetime) -> tuple[State, list[AlertValues]]:
    """Fold one event into the state; the alerts it gives rise to, in order."""
    if event.id in state.recent:
        return state, []
    new = _advance(state, event)
    s = seen(new)  # once per event: every text and alert of it reads the same standing
    texts = _texts(state, new, event, s)
    alerts = [
        _alert(new, s, event, kind, told, now, i, data)
        for i, (kind, told, data) in enumerate(texts)
    ]
    if isinstance(event, PhaseChanged) and any(kind == "result" for kind, _, _ in texts):
        new = replace(new, finished=True)
    return new, alerts


def _advance(state: State, event: Event) -> State:
    recent = state.recent  # the last RECENT ids, this one last
    update: dict[str, Any] = {
        "score": event.score,
        "minute": event.minute if event.minute is not None else state.minute,
        "added": event.added,
        "recent": (*recent, event.id)
        if len(recent) < RECENT
        else (*recent[1 - RECENT :], event.id),
    }
    if event.status == MatchStatus.EXTRA_TIME:
        update["extra_time_played"] = True
    kind = type(event)  # the structs are final: one type each
    if kind is PhaseChanged:
        assert isinstance(event, PhaseChanged)
        update["status"] = event.status
        if event.shootout is not None:
            update["shootout"] = event.shootout
        if event.previous == MatchStatus.EXTRA_TIME:
            update["extra_time_played"] = True
    elif kind is ShootoutKickTaken:
        assert isinstance(event, ShootoutKickTaken)
        update["shootout"] = event.shootout
        if event.kick is not None and event.complete:  # kicks taken unknown: never counted
            update["kicks"] = (state.kicks or Score()).plus(event.kick.side)
    elif kind is not LineupsAnnounced:
        _people(state, event, update)
    return replace(state, **update)


def _people(state: State, event: Event, update: dict[str, Any]) -> None:
    """Bookings, players sent off and goals per scorer, as the event changes them."""
    if isinstance(event, YellowCard):
        update["booked"] = (*state.booked, (event.incident.side, event.incident.player))
        return
    if isinstance(event, RedCard):
        update["sent_off"] = state.sent_off.plus(event.incident.side)
        return
    g = event.goal if isinstance(event, GoalScored | GoalCancelled) else None
    if g is None or not g.player or g.kind == "own_goal":
        return
    tally = dict(state.scorers)
    tally[g.player] = max(tally.get(g.player, 0) + (1 if isinstance(event, GoalScored) else -1), 0)
    update["scorers"] = tuple(tally.items())


Text = tuple[AlertKind, Said, dict[str, Any]]
_SECOND_YELLOW = ("second yellow", "yellow red", "yellow-red", "yellowred")


def _texts(old: State, new: State, event: Event, s: Seen) -> list[Text]:
    match event:  # the commonest first: each case before a match is a type check
        case PhaseChanged():
            return _phase_texts(old, new, event, s)
        case LineupsAnnounced(lineups=lu):
            return [
                ("lineups", said(s, _lineup, "home", lu.home), {"side": "home"}),
                ("lineups", said(s, _lineup, "away", lu.away), {"side": "away"}),
            ]
        case GoalScored(side=side, goal=g, minute=m, added=a):
            data = {"side": side, "goal": fields_of(g) if g else None}
            tally = _tally(new, g.player) if g and g.player and g.kind != "own_goal" else 0
            return [("goal", said(s, render.goal, g, m, a, tally), data)]
        case GoalCancelled(side=side, goal=g, minute=m, added=a, reason=reason):
            info: dict[str, Any] = {"side": side, "reason": reason}
            info["goal"] = fields_of(g) if g else None
            text = said(s, render.goal_cancelled, side, g, m, a)
            return [("goal_cancelled", text, info), *_restated_result(old, new, s)]
        case RedCard(incident=i) | YellowCard(incident=i):
            return [_card(old, new, event, s, i)]
        case PenaltyMissed(incident=i):
            return [("penalty_missed", said(s, render.penalty_missed, i), fields_of(i))]
        case ShootoutKickTaken(kick=k, decisive=decisive):
            kick: dict[str, Any] = fields_of(k) if k else {}
            kick["decisive"] = decisive
            text = said(
                s,
                render.shootout,
                k.player if k else None,
                k.scored if k else None,
                k.side if k else None,
                decisive,
            )
            return [("shootout", text, kick)]
    return []


def _lineup(v: render.View, side: Side, lu: Lineup) -> Parts:
    return lineup(side, lu)  # the view only names the sides


def _tally(state: State, player: str) -> int:
    return dict(state.scorers).get(player, 0)


def card_kind(old: State, event: RedCard | YellowCard) -> str:
    """``yellow``, ``second_yellow`` (the feed says so, or the player was booked before) or
    ``red``."""
    i = event.incident
    if isinstance(event, YellowCard):
        return "yellow"
    detail = (i.detail or "").lower()
    if any(w in detail for w in _SECOND_YELLOW) or (i.side, i.player) in old.booked:
        return "second_yellow"
    return "red"


def _card(old: State, new: State, event: Event, s: Seen, i: Incident) -> Text:
    assert isinstance(event, RedCard | YellowCard)
    kind = card_kind(old, event)
    left = None if kind == "yellow" else 11 - new.sent_off.of(i.side)
    data = fields_of(i) | {"card": kind, "players_left": left}
    alert_kind: AlertKind = "yellow_card" if kind == "yellow" else "red_card"
    return alert_kind, said(s, render.card, i, kind, left), data


def _restated_result(old: State, new: State, s: Seen) -> list[Text]:
    """A result already sent that a correction after the whistle changes, told again."""
    if not old.finished:
        return []
    final = winner(new.score, new.prior, new.prior_away, new.rules, new.shootout, None)
    data = {"winner": final.leader, "how": final.how, "corrected": True}
    return [("result", said(s, render.result, final, True), data)]


def _phase_texts(old: State, new: State, event: PhaseChanged, s: Seen) -> list[Text]:
    prev, cur = old.status, event.status
    out: list[Text] = []
    if event.stage is not None:
        if cur != MatchStatus.EXTRA_TIME or old.finished:
            return []
        return [("extra_time", said(s, render.phase, event.stage), {"phase": event.stage})]
    if prev == MatchStatus.SCHEDULED and cur in (*LIVE_PLAY, MatchStatus.HALF_TIME):
        out.append(("kickoff", said(seen(old), render.kickoff), {"phase": "kickoff"}))
    if cur == MatchStatus.HALF_TIME:
        out.append(("half_time", said(s, render.phase, "half_time"), {"phase": "half_time"}))
    elif prev == MatchStatus.SUSPENDED and cur in LIVE_PLAY:
        data = {"status": "resumed", "phase": "resumed"}
        out.append(("status", said(s, render.phase, "resumed"), data))
    elif cur == MatchStatus.SECOND_HALF and prev in (MatchStatus.HALF_TIME, MatchStatus.FIRST_HALF):
        out.append(("second_half", said(s, render.phase, "second_half"), {"phase": "second_half"}))
    elif cur in (MatchStatus.EXTRA_TIME, MatchStatus.PENALTIES, MatchStatus.FINISHED):
        out += _ends(old, new, event, s)
    elif cur in render.STATUS_WORDS:
        data = {"status": str(cur), "phase": str(cur)}
        out.append(("status", said(s, render.status, cur, new.minute), data))
    return out


def _ends(old: State, new: State, event: PhaseChanged, s: Seen) -> list[Text]:
    """The end of normal time or of extra time, and the result: one alert for a single match
    that ends (its result is the score), the result of a tie after its last phase's."""
    prev, cur = old.status, event.status
    regular = prev in (MatchStatus.FIRST_HALF, MatchStatus.HALF_TIME, MatchStatus.SECOND_HALF)
    over = cur == MatchStatus.FINISHED and not old.finished
    final = winner(new.score, new.prior, new.prior_away, new.rules, new.shootout, event.winner)
    data = {"winner": final.leader, "how": final.how}
    result: Text = ("result", said(s, render.result, final, False), data)
    out: list[Text] = []
    single = s.v.single
    if regular and cur != MatchStatus.FINISHED:
        told = said(s, render.end_of_play, "end_of_normal_time", cur)
        out.append(("full_time", told, {"phase": "end_of_normal_time", "next": str(cur)}))
    elif regular and over and single and final.how != "provider":
        data = {"phase": "full_time", "winner": final.leader, "how": final.how}
        return [("full_time", said(s, render.end_of_play, "full_time", None), data)]
    elif regular:
        told = said(s, render.end_of_play, "full_time", None)
        out.append(("full_time", told, {"phase": "full_time"}))
    elif prev == MatchStatus.EXTRA_TIME and not (over and single):
        nxt = cur if cur == MatchStatus.PENALTIES else None
        told = said(s, render.end_of_play, "end_of_extra_time", nxt)
        out.append(("extra_time", told, {"phase": "end_of_extra_time", "next": str(cur)}))
    if cur == MatchStatus.PENALTIES and not old.finished:
        out.append(("shootout", said(s, render.phase, "penalties"), {"phase": "penalties"}))
    if over:
        out.append(result)
    return out


def _alert(
    state: State,
    s: Seen,
    event: Event,
    kind: AlertKind,
    told: Said,
    now: datetime,
    i: int,
    data: dict[str, Any],
) -> AlertValues:
    agg = s.aggregate
    text, dumped = told
    return {
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
        "leader": s.leader,
        "needs": s.needs,
        "need": s.need,
        "data": data,
        "parts": dumped,
        "lang": "en",
        "occurred_at": event.at,
        "detected_at": event.seen,
        "emitted_at": now,
    }
