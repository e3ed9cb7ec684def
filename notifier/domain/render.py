"""Every alert text, in one module. Pure: a ``View`` of the match in, its sentences out.

Each function gives :class:`notifier.domain.texts.Msg` parts: one English sentence shape (the
gettext msgid, translated in ``notifier/domain/locales``) with its arguments, teams by side.
One shape per sentence: no sentence is glued from pieces whose word order only English shares.
"""

from __future__ import annotations

from typing import NamedTuple

from notifier.domain import structs
from notifier.domain.models import Goal, Goals, Incident, MatchStatus, Score, Side
from notifier.domain.texts import Msg, Parts, msg, nmsg, to_text
from notifier.domain.tie import NeedTo, Standing

STATUS_WORDS = {
    MatchStatus.POSTPONED: "postponed",
    MatchStatus.CANCELLED: "cancelled",
    MatchStatus.ABANDONED: "abandoned",
    MatchStatus.SUSPENDED: "suspended",
}
NAMES = {"home": "home", "away": "away"}
AnyGoal = Goal | structs.Goal  # the model's or the fold's struct
AnyIncident = Incident | structs.Incident


class View(NamedTuple):
    """What a sentence may speak of: names, score, the tie's standing and needs (a named tuple:
    one is built for every event, and a frozen dataclass costs several times as much)."""

    home: str
    away: str
    score: Goals
    standing: Standing
    needs: tuple[Side, int, NeedTo] | None = None
    next_round: str | None = None
    shootout: Goals | None = None
    kicks: Goals | None = None  # shoot-out kicks taken by each side, where known
    extra_time_played: bool = False
    single: bool = False  # no tie: a match on its own

    def name(self, side: Side) -> str:
        """Display name of one side."""
        return self.home if side == "home" else self.away


def minute(m: int | None, added: int | None = None) -> str:
    """``23'``, ``45+2'``; empty when unknown."""
    if m is None:
        return ""
    return f"{m}+{added}'" if added else f"{m}'"


def english(parts: Parts, v: View) -> str:
    """The parts in English with the view's names (the alert's stored ``text``)."""
    return to_text(parts, "en", {"home": v.home, "away": v.away})


def _score(v: View) -> dict[str, object]:
    return {"home": "home", "away": "away", "hs": v.score.home, "as": v.score.away}


def score_line(v: View) -> Msg:
    """``Atalanta 1-0 Dortmund``."""
    return msg("{home} {hs}-{as} {away}", **_score(v))


def aggregate_parts(v: View) -> Parts:
    """``Dortmund lead 2-1 on aggregate``, ``2-2 on aggregate``; nothing for a single match."""
    agg = v.standing.aggregate
    if agg is None:
        return ()
    hi, lo = max(agg.home, agg.away), min(agg.home, agg.away)
    if v.standing.leader is None or v.standing.how == "penalties":
        return (msg("{h}-{a} on aggregate", h=agg.home, a=agg.away),)
    team = v.standing.leader
    if v.standing.how == "away_goals":
        return (msg("{team} lead on away goals ({hi}-{lo} on aggregate)", team=team, hi=hi, lo=lo),)
    return (msg("{team} lead {hi}-{lo} on aggregate", team=team, hi=hi, lo=lo),)


_NEEDS = {
    "win": ("{team} need one goal to go through", "{team} need {count} goals to go through"),
    "extra_time": (
        "{team} need one goal to force extra time",
        "{team} need {count} goals to force extra time",
    ),
    "penalties": (
        "{team} need one goal to force penalties",
        "{team} need {count} goals to force penalties",
    ),
    "replay": (
        "{team} need one goal to force a replay",
        "{team} need {count} goals to force a replay",
    ),
}


def needs_parts(v: View) -> Parts:
    """``Atalanta need two goals to force extra time``."""
    if v.needs is None:
        return ()
    side, n, purpose = v.needs
    one, many = _NEEDS[purpose]
    return (nmsg(one, many, n, team=side),)


def aggregate(v: View) -> str | None:
    """The aggregate sentence in English (the live page's headline); None for a single match."""
    parts = aggregate_parts(v)
    return english(parts, v) if parts else None


def needs(v: View) -> str | None:
    """What the trailing side needs, in English (the alert's ``needs``); None when nothing."""
    parts = needs_parts(v)
    return english(parts, v) if parts else None


def standing_parts(v: View) -> Parts:
    """The aggregate and what the trailing side needs: the tie sentence."""
    return aggregate_parts(v) + needs_parts(v)


def kickoff(v: View) -> Parts:
    """``Kick-off: Atalanta v Dortmund. Dortmund lead 2-0 from the first leg``."""
    head = msg("Kick-off: {home} v {away}", home="home", away="away")
    agg = v.standing.aggregate
    if agg is None:
        return (head,)
    if v.standing.leader is None:
        return head, msg("The first leg ended {h}-{a}", h=agg.home, a=agg.away)
    hi, lo = max(agg.home, agg.away), min(agg.home, agg.away)
    team = v.standing.leader
    if v.standing.how == "away_goals":
        return head, msg("{team} lead on away goals from the first leg", team=team)
    return head, msg("{team} lead {hi}-{lo} from the first leg", team=team, hi=hi, lo=lo)


def goal(v: View, g: AnyGoal | None, m: int | None, added: int | None, tally: int = 0) -> Parts:
    """``GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate``; a
    scorer's second or third goal of the match is said."""
    args = _score(v)
    if g is None or g.player is None:
        when = minute(g.minute if g else m, g.added if g else added)
        if when:
            head = msg(
                "GOAL {home} {hs}-{as} {away} ({minute}, scorer not given by the feed)",
                minute=when,
                **args,
            )
        else:
            head = msg("GOAL {home} {hs}-{as} {away} (scorer not given by the feed)", **args)
        return (head, *standing_parts(v))
    shape = {
        "normal": "GOAL {home} {hs}-{as} {away} ({player} {minute})",
        "penalty": "GOAL {home} {hs}-{as} {away} ({player} {minute} pen)",
        "own_goal": "GOAL {home} {hs}-{as} {away} ({player} {minute} og)",
    }[g.kind]
    head = msg(shape, player=g.player, minute=minute(g.minute, g.added), **args)
    return (head, *_milestone(g.player, tally), *standing_parts(v))


def _milestone(player: str, tally: int) -> Parts:
    if tally == 3:
        return (msg("Hat-trick for {player}", player=player),)
    if tally == 2:
        return (msg("{player}'s second goal of the match", player=player),)
    return ()


def goal_cancelled(
    v: View, side: Side, g: AnyGoal | None, m: int | None, added: int | None
) -> Parts:
    """``Goal ruled out: Scamacca (Atalanta) 23'. Atalanta 0-0 Dortmund. Dortmund lead 2-0 ...``;
    ``Goal ruled out: Dortmund goal 40'`` when the feed names no scorer."""
    when = minute(g.minute, g.added) if g is not None else minute(m, added)
    own = g is not None and g.kind == "own_goal"  # the player is of the other side
    if g is not None and g.player:
        shape = (
            "Goal ruled out: {player} (own goal for {team}) {minute}"
            if own
            else ("Goal ruled out: {player} ({team}) {minute}")
        )
        head = msg(shape, player=g.player, team=side, minute=when)
    elif own:
        head = msg("Goal ruled out: own goal for {team} {minute}", team=side, minute=when)
    else:
        head = msg("Goal ruled out: {team} goal {minute}", team=side, minute=when)
    return (head, score_line(v), *standing_parts(v))


CARD_HEADS = {
    "yellow": "Yellow card: {player} ({team}) {minute}",
    "second_yellow": "Second yellow card: {player} ({team}) {minute}",
    "red": "Red card: {player} ({team}) {minute}",
}
_MEN = {
    10: "{team} down to ten men",
    9: "{team} down to nine men",
    8: "{team} down to eight men",
    7: "{team} down to seven men",
}


def card(v: View, i: AnyIncident, kind: str, players_left: int | None) -> Parts:
    """``Second yellow card: Ryerson (Dortmund) 75'. Dortmund down to ten men. Atalanta 1-0
    Dortmund. Dortmund lead 2-1 on aggregate``."""
    player = i.player or _A_PLAYER
    head = msg(CARD_HEADS[kind], player=player, team=i.side, minute=minute(i.minute, i.added))
    if kind == "yellow":
        return (head, score_line(v), *aggregate_parts(v))
    men = (msg(_MEN[players_left], team=i.side),) if players_left in _MEN else ()
    return (head, *men, score_line(v), *aggregate_parts(v))


_A_PLAYER = msg("a player")


def card_text(v: View, i: AnyIncident) -> Parts:
    """A red card with no more known of it: a straight red, ten men left."""
    return card(v, i, "red", 10)


def penalty_missed(v: View, i: AnyIncident) -> Parts:
    """``Penalty missed: Guirassy (Dortmund) 71'. Atalanta 1-0 Dortmund. Dortmund lead 2-1 on
    aggregate``: in a tie the miss matters by what it left standing, as a card does."""
    player = i.player or _A_PLAYER
    head = msg(
        "Penalty missed: {player} ({team}) {minute}",
        player=player,
        team=i.side,
        minute=minute(i.minute, i.added),
    )
    return (head, score_line(v), *aggregate_parts(v))


_PHASE_HEADS = {
    "half_time": "Half-time: {home} {hs}-{as} {away}",
    "second_half": "Second half under way: {home} {hs}-{as} {away}",
    "resumed": "Play resumes: {home} {hs}-{as} {away}",
    "full_time": "Full-time: {home} {hs}-{as} {away}",
    "end_of_normal_time": "End of normal time: {home} {hs}-{as} {away}",
    "extra_time": "Extra time under way: {home} {hs}-{as} {away}",
    "extra_time_half_time": "Half-time in extra time: {home} {hs}-{as} {away}",
    "extra_time_second_half": "Second half of extra time under way: {home} {hs}-{as} {away}",
    "end_of_extra_time": "End of extra time: {home} {hs}-{as} {away}",
    "penalties": "Penalties under way: {home} {hs}-{as} {away}",
}


def phase(v: View, name: str) -> Parts:
    """``Half-time: Atalanta 1-0 Dortmund. Dortmund lead 2-1 on aggregate. Atalanta need ...``."""
    return (msg(_PHASE_HEADS[name], **_score(v)), *standing_parts(v))


def end_of_play(v: View, name: str, next_phase: MatchStatus | None) -> Parts:
    """``End of normal time: Atalanta 2-0 Dortmund. 2-2 on aggregate: extra time``; with no
    first leg known, ``Level after 90 minutes: extra time``."""
    head = msg(_PHASE_HEADS[name], **_score(v))
    if next_phase not in (MatchStatus.EXTRA_TIME, MatchStatus.PENALTIES):
        agg = v.standing.aggregate  # over: the result says who goes through
        return (head, msg("{h}-{a} on aggregate", h=agg.home, a=agg.away)) if agg else (head,)
    what = "extra time" if next_phase == MatchStatus.EXTRA_TIME else "penalties"
    agg = v.standing.aggregate
    if agg is not None:
        return head, msg("{h}-{a} on aggregate: " + what, h=agg.home, a=agg.away)
    if v.score.home != v.score.away:  # a tie whose first leg nobody told us
        return head, msg("Extra time to follow" if what == "extra time" else "Penalties to follow")
    after = (
        "Level after extra time: " if name == "end_of_extra_time" else "Level after 90 minutes: "
    )
    return head, msg(after + what)


def shootout(
    v: View, kicker: str | None, scored: bool | None, side: Side | None, decisive: bool = False
) -> Parts:
    """``Penalties: Atalanta 3-2 Dortmund (Djimsiti scores, after 3 kicks each)``; the kick
    that decides it says who wins."""
    s = v.shootout or Score()
    args = {"home": "home", "away": "away", "sh": s.home, "sa": s.away}
    head = msg("Penalties: {home} {sh}-{sa} {away}", **args)
    if scored is not None and side is not None:
        verb = "scores" if scored else "misses"
        k = v.kicks
        each = k is not None and k.home == k.away and k.home > 0
        who = {"player": kicker} if kicker else {"team": side}
        name = "{player}" if kicker else "{team}"
        base = "Penalties: {home} {sh}-{sa} {away}"
        if each and k is not None:
            one = f"{base} ({name} {verb}, after one kick each)"
            many = f"{base} ({name} {verb}, after {{count}} kicks each)"
            head = nmsg(one, many, k.home, **args, **who)
        else:
            head = msg(f"Penalties: {{home}} {{sh}}-{{sa}} {{away}} ({name} {verb})", **args, **who)
    elif v.kicks is not None and v.kicks.home == v.kicks.away and v.kicks.home > 0:
        one = "Penalties: {home} {sh}-{sa} {away} (after one kick each)"
        many = "Penalties: {home} {sh}-{sa} {away} (after {count} kicks each)"
        head = nmsg(one, many, v.kicks.home, **args)
    if decisive and s.home != s.away:
        return head, msg("{team} win the shoot-out", team="home" if s.home > s.away else "away")
    return (head,)


_ROUNDS = {
    "the round of 32": "{team} reach the round of 32",
    "the round of 16": "{team} reach the round of 16",
    "the quarter-finals": "{team} reach the quarter-finals",
    "the semi-finals": "{team} reach the semi-finals",
    "the final": "{team} reach the final",
}


def result(v: View, final: Standing, corrected: bool = False) -> Parts:
    """``Dortmund win 3-1 on aggregate. Dortmund reach the round of 16`` and its siblings."""
    head = (msg("Correction:"),) if corrected else ()
    if final.leader is None:
        level = final.aggregate or v.score
        return (
            *head,
            msg(
                "{home} and {away} draw {h}-{a}",
                home="home",
                away="away",
                h=level.home,
                a=level.away,
            ),
        )
    out = (*head, _result(v, final))
    if v.next_round:
        shape = _ROUNDS.get(v.next_round.strip().lower(), "{team} reach {round}")
        out += (msg(shape, team=final.leader, round=v.next_round),)
    return out


def _result(v: View, final: Standing) -> Msg:
    team, agg = final.leader, final.aggregate
    if final.how == "penalties":
        s = v.shootout or Score()
        hi, lo = max(s.home, s.away), min(s.home, s.away)
        level = agg or v.score
        where = "on aggregate" if agg is not None else "after extra time"
        if agg is None and not v.extra_time_played:
            where = "at full-time"
        if agg is None and v.score.home != v.score.away:  # a first leg nobody told us
            return msg("{team} win {hi}-{lo} on penalties", team=team, hi=hi, lo=lo)
        return msg(
            "{team} win {hi}-{lo} on penalties ({h}-{a} " + where + ")",
            team=team,
            hi=hi,
            lo=lo,
            h=level.home,
            a=level.away,
        )
    if final.how == "provider":  # level, and the feed names the winner (shoot-out not given)
        level = agg or v.score
        shape = (
            "{team} go through ({h}-{a} on aggregate)"
            if agg is not None
            else "{team} go through ({h}-{a})"
        )
        return msg(shape, team=team, h=level.home, a=level.away)
    if agg is None:
        other = "away" if team == "home" else "home"
        hi, lo = max(v.score.home, v.score.away), min(v.score.home, v.score.away)
        shape = "{team} beat {other} {hi}-{lo}" + (
            " after extra time" if v.extra_time_played else ""
        )
        return msg(shape, team=team, other=other, hi=hi, lo=lo)
    if final.how == "away_goals":
        return msg(
            "{team} win on away goals ({h}-{a} on aggregate)", team=team, h=agg.home, a=agg.away
        )
    hi, lo = max(agg.home, agg.away), min(agg.home, agg.away)
    shape = "{team} win {hi}-{lo} on aggregate" + (
        " after extra time" if v.extra_time_played else ""
    )
    return msg(shape, team=team, hi=hi, lo=lo)


def status(v: View, st: MatchStatus, m: int | None) -> Parts:
    """``Atalanta v Dortmund postponed`` / ``suspended at 67' (1-0)``."""
    word = STATUS_WORDS.get(st, str(st))
    teams = {"home": "home", "away": "away"}
    if st in (MatchStatus.POSTPONED, MatchStatus.CANCELLED):  # not played: no score to give
        return (msg("{home} v {away} " + word, **teams),)
    if st in (MatchStatus.SUSPENDED, MatchStatus.ABANDONED) and m:
        shape = "{home} v {away} " + word + " at {minute} ({hs}-{as})"
        return (msg(shape, minute=minute(m), hs=v.score.home, **{"as": v.score.away}, **teams),)
    return (
        msg(
            "{home} v {away} " + word + " ({hs}-{as})",
            hs=v.score.home,
            **{"as": v.score.away},
            **teams,
        ),
    )
