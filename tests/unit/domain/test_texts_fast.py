"""The fast text paths say exactly what the plain ones said.

English (no catalogue) is rendered by ``texts._plain`` (templates compiled for ``%``, one loop
over the arguments), a sentence is tidied only where tidying changes it (``texts._tidy``), and
the parts are dumped with a copy of their arguments. Each is compared here with the code it
replaced, kept below as it was (``ref_*``), over generated parts: literal text with brackets,
``%``, braces and every kind of whitespace, empty arguments, team arguments named or not,
phrases as arguments (``Msg`` and their JSON), plural counts, values neither str nor int, and
templates ``%`` cannot say (format specs, conversions, positional, attribute and index fields,
stray braces, missing arguments: the same error, or the same text).
"""

from __future__ import annotations

import string
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from notifier.domain import texts, told
from notifier.domain.texts import LANGS, TEAM_ARGS, Msg, _lookup, catalogue, load, number_word
from tests.unit.domain.test_texts import _pot

# --- the code the fast paths replaced, as it was (c8cd71f) -------------------------------------


def ref_sentence(m: Msg, lang: str, names: Mapping[str, str]) -> str:
    template = _lookup(catalogue(lang), m, lang)
    args = {k: ref_arg(k, v, lang, names) for k, v in m.args.items()}
    if m.n is not None:
        args["count"] = number_word(m.n, lang)
        args.setdefault("n", m.n)
    return " ".join(template.format(**args).split()).replace(" )", ")").replace("( ", "(")


def ref_arg(key: str, value: Any, lang: str, names: Mapping[str, str]) -> Any:
    if key in TEAM_ARGS:
        return names.get(value, value)
    if isinstance(value, Msg):
        return ref_sentence(value, lang, names)
    if isinstance(value, dict) and "id" in value:
        return ref_sentence(load([value])[0], lang, names)
    return value


def ref_to_text(parts: Iterable[Msg], lang: str, names: Mapping[str, str]) -> str:
    out = ""
    for m in parts:
        s = ref_sentence(m, lang, names)
        out = s if not out else f"{out} {s}" if out.endswith(":") else f"{out}. {s}"
    return out


def ref_dump(parts: Sequence[Msg]) -> list[dict[str, Any]]:
    out = []
    for m in parts:
        args = {k: ref_dump([v])[0] if isinstance(v, Msg) else v for k, v in m.args.items()}
        item: dict[str, Any] = {"id": m.id, "args": args}
        if m.n is not None:
            item |= {"n": m.n, "plural": m.plural}
        out.append(item)
    return out


# --- what is generated ---------------------------------------------------------------------


class Odd:
    """A value whose ``format(v, "")`` is not its ``str(v)``: ``%`` would say the wrong one."""

    def __str__(self) -> str:
        return "str"

    def __format__(self, spec: str) -> str:
        return "format"

    def __repr__(self) -> str:
        return "Odd()"


class OddInt(int):
    """An int (a count may be one) that formats otherwise than it prints."""

    def __format__(self, spec: str) -> str:
        return "format"


WHITESPACE = [" ", "  ", "\t", "\n", "\xa0", "\u2028", "\u3000", "\x1f"]
CHARS = ["a", "Z", "é", "1", "-", "'", ":", ".", "(", ")", "%", "%s", "{{", "}}", *WHITESPACE]
literal = st.lists(st.sampled_from(CHARS), max_size=6).map("".join)
FIELDS = ["home", "away", "team", "other", "player", "minute", "hs", "as", "count", "n", "x"]
BAD_FIELDS = ["{hs:>3}", "{home!r}", "{0}", "{}", "{player.x}", "{player[0]}", "{", "}", "{x:{n}}"]


@st.composite
def templates(draw: st.DrawFn) -> str:
    pieces = [draw(literal)]
    for _ in range(draw(st.integers(0, 5))):
        pieces.append("{" + draw(st.sampled_from(FIELDS)) + "}")
        pieces.append(draw(literal))
    if draw(st.integers(0, 9)) == 0:  # now and then one %-formatting cannot say
        pieces.insert(draw(st.integers(0, len(pieces))), draw(st.sampled_from(BAD_FIELDS)))
    return "".join(pieces)


TEAMS = st.one_of(st.sampled_from(["home", "away", "elsewhere", ""]), literal)
plain_values = st.one_of(
    literal,
    st.sampled_from(["", " ", "home", "away", "x (", ") y"]),
    st.integers(-3, 25),
    st.sampled_from([True, False, None, 1.5, 2.0, Odd(), OddInt(3), [1], ("t", 1)]),
)


def messages(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Msg]:
    return _messages(values)


@st.composite
def _messages(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> Msg:
    """A part whose arguments are its templates' fields (now and then one more, or one less)."""
    template = draw(templates())
    plural = draw(st.one_of(st.none(), templates()))
    n = draw(st.one_of(st.none(), st.integers(-2, 14), st.sampled_from([True, 12.5, OddInt(2)])))
    counted = {"count", "n"} if n is not None else set()  # given by n, as nmsg's parts have them
    fields = [f for f in FIELDS if "{" + f + "}" in template + (plural or "") and f not in counted]
    args = {f: draw(TEAMS if f in TEAM_ARGS else values) for f in fields}
    args |= draw(st.dictionaries(st.sampled_from(FIELDS), values, max_size=2))
    if args and draw(st.integers(0, 19)) == 0:
        del args[draw(st.sampled_from(sorted(args)))]
    return Msg(template, args, n, plural)


values = st.recursive(
    plain_values,
    lambda inner: st.one_of(
        messages(inner),  # a phrase in a phrase
        messages(inner).map(lambda m: texts.dump([m])[0]),  # the same, as JSON (load's input)
    ),
    max_leaves=4,
)
msgs = messages(values)
names = st.fixed_dictionaries({"home": literal, "away": literal})


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    """What a call gives: its value, or the type of the error it raises."""
    try:
        return "ok", fn(*args)
    except Exception as e:  # the error's type is the outcome compared
        return "error", type(e)


# --- the properties --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(m=msgs, n=names)
@example(m=Msg("{n}: {count}", {}, OddInt(2)), n={"home": "H", "away": "A"})
@example(m=Msg("{team} ({minute})", {"team": Odd(), "minute": ""}), n={})
@example(m=Msg("{player} {minute}", {"player": Odd(), "minute": 3}), n={})
@example(m=Msg("{player} (%s {x})", {"player": Msg("{{a}} %", {}), "x": {"id": "b "}}), n={})
def test_an_english_sentence_is_what_it_was(m: Msg, n: dict[str, str]) -> None:
    assert outcome(texts.sentence, m, "en", n) == outcome(ref_sentence, m, "en", n)


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(msgs, max_size=4).map(tuple), n=names)
def test_english_text_and_json_are_what_they_were(
    parts: tuple[Msg, ...], n: dict[str, str]
) -> None:
    text = outcome(ref_to_text, parts, "en", n)
    dumped = outcome(ref_dump, parts)
    assert outcome(texts.to_text, parts, "en", n) == text
    assert outcome(texts.dump, parts) == dumped
    both = (text[1], dumped[1]) if text[0] == dumped[0] == "ok" else None
    if both is not None:
        assert texts.english(parts, n) == both
    else:
        assert outcome(texts.english, parts, n)[0] == "error"


@settings(max_examples=1500, deadline=None)
@given(
    s=st.one_of(
        st.text(),
        st.lists(st.sampled_from([*CHARS, "", "( ", " )", "x"]), max_size=12).map("".join),
    )
)
def test_a_sentence_is_tidied_as_before(s: str) -> None:
    assert texts._tidy(s) == " ".join(s.split()).replace(" )", ")").replace("( ", "(")


def test_the_only_printable_whitespace_is_the_space() -> None:
    """What ``_tidy``'s shortcut stands on: every character ``str.split`` splits on but the
    space is one ``str.isprintable`` rejects."""
    split_on = [c for c in map(chr, range(sys.maxunicode + 1)) if len(f"a{c}b".split()) == 2]
    assert " " in split_on and "\u3000" in split_on  # the split sees more than ASCII
    assert [c for c in split_on if c.isprintable()] == [" "]


def _args_for(msgid: str, draw: st.DrawFn, values: st.SearchStrategy[Any]) -> dict[str, Any]:
    fields = {f for _, f, _, _ in string.Formatter().parse(msgid) if f}
    return {
        f: draw(st.sampled_from(["home", "away"]) if f in TEAM_ARGS else values)
        for f in fields - {"count", "n"}
    }


@st.composite
def shipped_parts(draw: st.DrawFn, values: st.SearchStrategy[Any] = plain_values) -> Msg:
    """A part of the shipped catalogue's shapes (singular or plural) with drawn arguments."""
    m = draw(st.sampled_from(SHAPES))
    if isinstance(m.id, tuple):
        one, many = m.id
        return Msg(one, _args_for(many, draw, values), draw(st.integers(0, 12)), many)
    return Msg(m.id, _args_for(m.id, draw, values))


SHAPES = [m for m in _pot() if m.id and not m.context]


@pytest.mark.parametrize("lang", LANGS)
@settings(max_examples=300, deadline=None)
@given(m=shipped_parts(), n=names)
def test_every_language_says_what_it_said(lang: str, m: Msg, n: dict[str, str]) -> None:
    assert lang == "en" or catalogue(lang) is not None  # its catalogue's words, not English's
    assert outcome(texts.sentence, m, lang, n) == outcome(ref_sentence, m, lang, n)
    assert outcome(texts.to_text, (m, m), lang, n) == outcome(ref_to_text, (m, m), lang, n)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(shipped_parts(st.one_of(literal, st.integers(0, 12))), min_size=1, max_size=4),
    n=names,
)
def test_the_memo_gives_what_rendering_gave(parts: list[Msg], n: dict[str, str]) -> None:
    """``told`` (the memo of the aggregator's texts; its arguments are strings and ints, never
    a bool a key would take for an int) and its miss path, against the old code."""
    from notifier.domain import render
    from notifier.domain.models import Score
    from notifier.domain.tie import Standing

    v = render.View(n["home"], n["away"], Score(), Standing(None, None, None, None))
    expected = (ref_to_text(parts, "en", {"home": v.home, "away": v.away}), ref_dump(parts))
    assert told.told(tuple(parts), v) == expected
    assert told.told(tuple(parts), v) == expected  # from the memo
