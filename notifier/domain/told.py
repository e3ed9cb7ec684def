"""The English text of an alert, memoised: the aggregator renders one or two texts per event,
and a match repeats most of them (the score line, the aggregate, what the trailing side needs).
Pure, like the engine that calls it (:mod:`notifier.domain.engine`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

from notifier.domain import render
from notifier.domain.models import Goals, Side
from notifier.domain.structs import Need
from notifier.domain.texts import Parts, catalogue, dump, english, to_text
from notifier.domain.tie import NeedTo

Said = tuple[str, list[dict[str, Any]]]
"""An alert's ``text`` and ``parts`` (the parts as JSON)."""

_TOLD: dict[tuple[object, ...], tuple[str, list[dict[str, Any]]]] = {}
TOLD_CACHE = 8192  # texts kept (a few hundred bytes each); cleared whole when full


def told(parts: Parts, v: render.View) -> tuple[str, list[dict[str, Any]]]:
    """An alert's ``text`` and ``parts``: the parts in English with the view's names, and as
    JSON (:func:`notifier.domain.texts.dump`).

    Memoised (the aggregator renders one or two texts per event, and a match repeats most of
    them: the score line, the aggregate, what the trailing side needs) on the parts' shapes and
    arguments (ints and strings here: never a bool or a float, which a key would take for an
    int) and the two names, while English has no catalogue of its own (its texts are the
    msgids; a registered one bypasses the memo). A part whose arguments cannot be hashed (a
    phrase within a phrase) is rendered each time. The JSON is shared by the alerts of equal
    parts: read, never changed (alerts are frozen)."""
    names = {"home": v.home, "away": v.away}
    if catalogue("en") is not None:
        return to_text(parts, "en", names), dump(parts)
    try:
        key = (v.home, v.away, *[(m.id, m.n, m.plural, *m.args.items()) for m in parts])
        hit = _TOLD.get(key)
    except TypeError:  # an argument that is itself a part (``a player``)
        return to_text(parts, "en", names), dump(parts)
    if hit is None:
        if len(_TOLD) >= TOLD_CACHE:
            _TOLD.clear()
        hit = _TOLD[key] = english(parts, names)
    return hit


_NEEDS_TOLD: dict[tuple[object, ...], str] = {}


def needs_text(v: render.View) -> str | None:
    """``render.needs(v)``: what the trailing side needs, in English; memoised as :func:`told`
    is, on the need and the two names (no parts to build and key for each alert)."""
    if v.needs is None:
        return None
    if catalogue("en") is not None:
        return told(render.needs_parts(v), v)[0]
    key = (v.needs, v.home, v.away)
    hit = _NEEDS_TOLD.get(key)
    if hit is None:
        if len(_NEEDS_TOLD) >= TOLD_CACHE:
            _NEEDS_TOLD.clear()
        hit = _NEEDS_TOLD[key] = told(render.needs_parts(v), v)[0]
    return hit


def need(v: render.View) -> Need | None:
    """``needs`` as data (``Alert.need``): the same tuple the sentence is made from."""
    if v.needs is None:
        return None
    side, goals, to = v.needs
    return need_of(side, v.name(side), goals, to)


@functools.lru_cache(maxsize=4096)
def need_of(side: Side, team: str, goals: int, to: NeedTo) -> Need:
    """The fold's ``Need`` (``alerts.Need``'s struct), built once per value (frozen: the alerts
    share it)."""
    return Need(side=side, team=team, goals=goals, to=to)


class Seen(NamedTuple):
    """A state's render view and what every alert of that view says alike, worked out once per
    view (``fold.seen``): ``token`` names the view in the text memo (:func:`said`) instead of
    the view itself, whose standing holds models that hash slowly."""

    v: render.View
    token: int
    aggregate: Goals | None  # the standing's aggregate (``Alert.aggregate``, by name)
    leader: str | None  # the display name of the side ahead
    needs: str | None  # :func:`needs_text`
    need: Need | None  # :func:`need`


def seen_of(v: render.View, token: int) -> Seen:
    """The :class:`Seen` of a view."""
    leader = v.name(v.standing.leader) if v.standing.leader else None
    return Seen(v, token, v.standing.aggregate, leader, needs_text(v), need(v))


_SAID: dict[tuple[object, ...], Said] = {}


def said(seen: Seen, fn: Callable[..., Parts], *args: object) -> Said:
    """``told(fn(seen.v, *args), seen.v)``, memoised on what the text is made of: the render
    function, the view (by its token: the state fields the view is made of, ``fold.seen``) and
    the function's other arguments, as they are (ints, strings, bools and None, or frozen
    structs, each place of a function always of one type: a bool never where an int goes,
    which a key would take for it). No parts are built and no key is made of them for a text
    told before (:func:`told` keys on the parts' arguments, which rebuilding each time cost more
    than rendering a goal's parts). While English has a catalogue, nothing is memoised."""
    if catalogue("en") is not None:
        return told(fn(seen.v, *args), seen.v)
    key = (fn, seen.token, *args)
    hit = _SAID.get(key)
    if hit is None:
        if len(_SAID) >= TOLD_CACHE:
            _SAID.clear()
        v = seen.v
        hit = _SAID[key] = english(fn(v, *args), {"home": v.home, "away": v.away})
    return hit
