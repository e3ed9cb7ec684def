"""Penalty shoot-outs: kicks in the order taken, and the kick that decides it. Pure.

Feeds do not agree on the order of their kick lists: API-Football lists the last kick first,
others the first kick first, ESPN only the kicks that went in. The order taken is found from
the best evidence there is, in this order:

1. the feed's own kick number (``ShootoutKick.number``), when every kick has one;
2. the kicks already known in the order taken (the last poll): where the known ones sit in
   the new list (at its end: the feed lists newest first) says which way it runs;
3. the shape of a shoot-out: sides take turns, and no kick is taken once it is decided; a
   list that is no shoot-out as listed but is one reversed is read reversed.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from notifier.domain.models import Score, ShootoutKick

ROUNDS = 5  # kicks each before sudden death


def in_order(
    kicks: Sequence[ShootoutKick], known: Sequence[ShootoutKick] = (), *, complete: bool = True
) -> tuple[ShootoutKick, ...]:
    """``kicks`` (as the feed lists them) in the order taken, numbered 1..n in ``order``.
    ``complete``: the list has every kick, misses too (the shape of a shoot-out tells nothing
    about a list of the scored kicks only)."""
    if not kicks:
        return ()
    return _numbered(arrange(list(kicks), list(known), complete))


def arrange(
    kicks: list[ShootoutKick], known: list[ShootoutKick], complete: bool = True
) -> list[ShootoutKick]:
    """The same kick objects in the order taken (``order`` left as the feed's)."""
    numbers = [k.number for k in kicks]
    if None not in numbers and len(set(numbers)) == len(numbers):
        return sorted(kicks, key=lambda k: k.number or 0)
    if known and len(kicks) > len(known):
        found = _after_known(kicks, known)
        if found is not None:
            return found
    listed, flipped = kicks, kicks[::-1]
    if complete and not plausible(listed) and plausible(flipped):
        return flipped
    return listed


def _same(a: ShootoutKick, b: ShootoutKick) -> bool:
    return (a.side, a.player, a.scored) == (b.side, b.player, b.scored)


def _after_known(kicks: list[ShootoutKick], known: list[ShootoutKick]) -> list[ShootoutKick] | None:
    """The known kicks, then the new ones: the list runs forwards when the known kicks open it
    (in the order taken), backwards when they close it (reversed); None when neither."""
    n = len(known)
    if all(_same(a, b) for a, b in zip(kicks[:n], known, strict=True)):
        return [*known, *kicks[n:]]
    tail = kicks[-n:][::-1]
    if all(_same(a, b) for a, b in zip(tail, known, strict=True)):
        return [*known, *kicks[:-n][::-1]]
    return None


def _numbered(kicks: list[ShootoutKick]) -> tuple[ShootoutKick, ...]:
    return tuple(
        k if k.order == n else k.model_copy(update={"order": n}) for n, k in enumerate(kicks, 1)
    )


def plausible(kicks: Sequence[ShootoutKick]) -> bool:
    """Whether kicks in this order can be a shoot-out: sides take turns, none after it is won."""
    if any(a.side == b.side for a, b in pairwise(kicks)):
        return False
    end = decided_at(kicks)
    return end is None or end == len(kicks) - 1


def tally(kicks: Sequence[ShootoutKick]) -> tuple[Score, Score]:
    """(goals, kicks taken) of each side after these kicks."""
    goals = [k.side for k in kicks if k.scored]
    taken = [k.side for k in kicks]
    return (
        Score(home=goals.count("home"), away=goals.count("away")),
        Score(home=taken.count("home"), away=taken.count("away")),
    )


def decided_at(kicks: Sequence[ShootoutKick]) -> int | None:
    """Index of the kick that decides the shoot-out (no kick is taken after it), or None."""
    goals, taken = Score(), Score()
    for i, k in enumerate(kicks):
        taken = taken.plus(k.side)
        if k.scored:
            goals = goals.plus(k.side)
        if over(goals, taken):
            return i
    return None


def over(goals: Score, taken: Score) -> bool:
    """Whether a shoot-out at these goals after these kicks is decided: out of reach within the
    first five each, or one side ahead after the same number of kicks in sudden death."""
    if taken.home >= ROUNDS and taken.away >= ROUNDS:
        return taken.home == taken.away and goals.home != goals.away
    left_home, left_away = max(ROUNDS - taken.home, 0), max(ROUNDS - taken.away, 0)
    return goals.home + left_home < goals.away or goals.away + left_away < goals.home
