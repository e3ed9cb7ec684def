"""Two-legged ties: the aggregate, who goes through, and what the trailing side needs. Pure.

A match's state carries its tie context as ``prior`` (goals each side of *this* match brings
from the first leg) and ``prior_away`` (away goals brought), so the same code serves single
matches (no prior) and second legs.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Literal, NamedTuple

from notifier.domain.models import Frozen, Goals, MatchStatus, Score, Side, goals
from notifier.domain.structs import Rules

NeedTo = Literal["win", "extra_time", "penalties", "replay"]
"""What the goals the side going out needs would do: win the tie, or force what a level tie
goes to."""

NEED_LIMIT = 10  # beyond this many goals, nobody needs a sentence


class TieRules(Frozen):
    """Competition rules for deciding a tie. Away goals off by default (UEFA dropped it in 2021)."""

    away_goals: bool = False
    extra_time: bool = True
    penalties: bool = True


class FirstLeg(Frozen):
    """A first-leg result as people write it: ``Borussia Dortmund 2-0 Atalanta``."""

    home: str
    away: str
    score: Score


class TieSpec(Frozen):
    """A two-legged tie as configured: its id, first leg, rules and what the winner reaches."""

    id: str
    first_leg: FirstLeg
    rules: TieRules = TieRules()
    next_round: str | None = None
    second_leg: str | None = None  # match key of the second leg, where known


NIL = Score()
AnyRules = TieRules | Rules  # the model's or the fold's struct


class Standing(NamedTuple):
    """Where a tie (or a single match) stands right now (a named tuple: the aggregator makes one
    or two for every event, and a frozen dataclass costs several times as much to build)."""

    aggregate: Score | None  # None for a single match
    leader: Side | None  # who goes through / leads if it ended now
    how: str | None  # "aggregate", "away_goals", "penalties", "provider"
    away_goals: Score | None


@functools.lru_cache(maxsize=4096)
def normalise(name: str) -> str:
    """Team name folded for comparison: no accents, no case, no punctuation (cached: the
    aggregator aligns every new match's sides with its first leg)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join("".join(c if c.isalnum() else " " for c in folded.casefold()).split())


def same_team(a: str, b: str) -> bool:
    """True when two spellings name the same team (``Atalanta`` ~ ``Atalanta BC``)."""
    na, nb = normalise(a), normalise(b)
    if not na or not nb:
        return False
    return na == nb or f" {na} " in f" {nb} " or f" {nb} " in f" {na} "


def align(first: FirstLeg, home: str, away: str) -> tuple[Score, Score]:
    """First-leg goals and away goals, seen from the sides of the second leg."""
    straight = same_team(first.home, home) or same_team(first.away, away)
    reversed_ = same_team(first.home, away) or same_team(first.away, home)
    if straight and not reversed_:
        return first.score, Score(home=0, away=first.score.away)
    # The usual case: the first leg's home side is the away side now.
    prior = Score(home=first.score.away, away=first.score.home)
    return prior, Score(home=first.score.away, away=0)


def parse_first_leg(text: str) -> FirstLeg:
    """Parse ``HOME H-A AWAY`` (e.g. ``Borussia Dortmund 2-0 Atalanta``); ValueError if not."""
    m = re.fullmatch(r"\s*(.+?)\s+(\d+)\s*[-–:]\s*(\d+)\s+(.+?)\s*", text)
    if m is None:
        raise ValueError(f"first leg {text!r} is not of the form 'HOME H-A AWAY'")
    home, h, a, away = m.groups()
    return FirstLeg(home=home, away=away, score=Score(home=int(h), away=int(a)))


def standing(
    score: Goals,
    prior: Goals | None,
    prior_away: Goals | None,
    rules: AnyRules,
    shootout: Goals | None = None,
) -> Standing:
    """Aggregate and who is ahead; for a single match, who leads the match."""
    if prior is None:
        # A shoot-out decides it; a score not level then means a first leg nobody told us.
        if shootout is not None and _ahead(shootout):
            return Standing(None, _ahead(shootout), "penalties", None)
        return Standing(None, _ahead(score), "score" if _ahead(score) else None, None)
    pa = prior_away or NIL
    leader, how = _tie_leader(score.home, score.away, prior, pa, rules, shootout)
    agg = goals(prior.home + score.home, prior.away + score.away)
    return Standing(agg, leader, how, goals(pa.home, pa.away + score.away))


def _tie_leader(
    home: int, away: int, prior: Goals, prior_away: Goals, rules: AnyRules, shootout: Goals | None
) -> tuple[Side | None, str | None]:
    """Who is ahead in a tie with this second-leg score, and how (plain ints: the hot path)."""
    lead = _lead(prior.home + home, prior.away + away)
    if lead is not None:
        return lead, "aggregate"
    if rules.away_goals:
        lead = _lead(prior_away.home, prior_away.away + away)
        if lead is not None:
            return lead, "away_goals"
    if shootout is not None:
        lead = _lead(shootout.home, shootout.away)
        if lead is not None:
            return lead, "penalties"
    return None, None


def _lead(home: int, away: int) -> Side | None:
    if home == away:
        return None
    return "home" if home > away else "away"


def _ahead(score: Goals) -> Side | None:
    return _lead(score.home, score.away)


def needs(
    score: Goals,
    prior: Goals | None,
    prior_away: Goals | None,
    rules: AnyRules,
    status: MatchStatus,
) -> tuple[Side, int, NeedTo] | None:
    """What the side going out needs: (side, goals, "win" | "extra_time" | "penalties")."""
    if prior is None or status not in (
        MatchStatus.FIRST_HALF,
        MatchStatus.HALF_TIME,
        MatchStatus.SECOND_HALF,
        MatchStatus.EXTRA_TIME,
    ):
        return None
    pa = prior_away or NIL
    leader, _ = _tie_leader(score.home, score.away, prior, pa, rules, None)
    if leader is None:
        return None
    trailing: Side = "away" if leader == "home" else "home"
    for n in range(1, NEED_LIMIT + 1):
        home, away = (n, 0) if trailing == "home" else (0, n)
        after, _ = _tie_leader(score.home + home, score.away + away, prior, pa, rules, None)
        if after == trailing:
            return trailing, n, "win"
        if after is None:
            return trailing, n, _level_means(rules, status)
    return None


def _level_means(rules: AnyRules, status: MatchStatus) -> NeedTo:
    if status != MatchStatus.EXTRA_TIME and rules.extra_time:
        return "extra_time"
    return "penalties" if rules.penalties else "replay"


def winner(
    score: Goals,
    prior: Goals | None,
    prior_away: Goals | None,
    rules: AnyRules,
    shootout: Goals | None,
    provider_winner: Side | None,
) -> Standing:
    """Who won, once the match is over; the provider's word settles what the rules cannot."""
    final = standing(score, prior, prior_away, rules, shootout)
    if final.leader is None and provider_winner is not None:
        return Standing(final.aggregate, provider_winner, "provider", final.away_goals)
    return final
