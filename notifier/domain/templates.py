"""A sentence template compiled once: ``{home} {hs}-{as} {away}`` as ``%s %s-%s %s`` and the
getter of its four arguments. Pure; no text is made here (:mod:`notifier.domain.texts` makes
them).

The aggregator renders one or two alert texts per event, and on a match day most of them are
new (every match has teams of its own). ``str.format`` parses its template again for every
sentence and turns each argument into text through ``format(value, "")``; ``%`` with a tuple
parses a simpler format and uses ``str(value)``, in under half the time. The two agree on a
template of plain named fields (no conversion, no format spec, no attribute or index: anything
else is not compiled, and is formatted as before) and on every value whose ``format(value,
"")`` is its ``str(value)``: strings and ints, which the caller checks for (the others it
formats with ``str.format``). A field missing from the arguments raises ``KeyError`` either way.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any, Literal

Getter = Callable[[Mapping[str, Any]], tuple[Any, ...]]
Compiled = tuple[str, Getter]
"""The ``%`` format and the getter of its arguments, in the template's order of fields."""

_COMPILED: dict[str, Compiled | None] = {}
COMPILED_CACHE = 2048  # templates kept (msgids and plurals: a few hundred); cleared when full
_PARSE = string.Formatter().parse


def compiled(template: str) -> Compiled | None:
    """The template compiled (memoised: the msgids are few), or None when ``%`` would not say
    what ``str.format`` says (or the template is not one ``str.format`` reads)."""
    hit: Compiled | Literal[False] | None = _COMPILED.get(template, False)
    if hit is False:
        if len(_COMPILED) >= COMPILED_CACHE:
            _COMPILED.clear()
        hit = _COMPILED[template] = _compile(template)
    return hit


def _compile(template: str) -> Compiled | None:
    out: list[str] = []
    fields: list[str] = []
    try:
        pieces = list(_PARSE(template))
    except ValueError:  # a stray brace: str.format says what is wrong
        return None
    for literal, field, spec, conversion in pieces:
        out.append(literal.replace("%", "%%"))
        if field is None:
            continue
        if spec or conversion is not None or not field.isidentifier():
            return None  # a format spec, ``!r``, ``{0}``, ``{a.b}``, ``{a[0]}``: str.format's own
        out.append("%s")
        fields.append(field)
    return "".join(out), _getter(fields)


def _getter(fields: list[str]) -> Getter:
    """The arguments of ``fields`` as a tuple (``itemgetter`` gives one value, not a tuple, for a
    single field, and ``%`` would take a tuple value for its arguments)."""
    if not fields:
        return _none
    if len(fields) == 1:
        field = fields[0]
        return lambda args: (args[field],)
    return itemgetter(*fields)


def _none(args: Mapping[str, Any]) -> tuple[Any, ...]:
    return ()
