"""Messages and their catalogues: a sentence shape in, a sentence in one language out.

An alert keeps its text as language-neutral ``Msg`` parts: the English sentence shape (the
gettext msgid) and its arguments. Teams are arguments by side (``"home"``/``"away"``), so a
part is turned into a sentence only when the language and the team names in it are known: at
delivery, in :func:`to_text`. The catalogues are gettext ``.po`` files shipped in the package
(``notifier/domain/locales/<lang>/LC_MESSAGES/notifier.po``), read once with Babel's reader by
the edge (:func:`set_loader`, called by ``notifier.settings``): the domain does no I/O.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from babel import Locale
from babel.messages.catalog import Catalog

from notifier.domain.templates import compiled

if TYPE_CHECKING:
    from notifier.domain.alerts import Alert

LANGS = ("en", "de", "it", "es", "fr", "pt")
DEFAULT_LANG = "en"
LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "notifier"
TEAM_ARGS = frozenset({"home", "away", "team", "other"})  # arguments that name a side
NUMBER_CONTEXT = "number"
ENGLISH_NUMBERS = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


class Msg(NamedTuple):
    """One sentence shape and its arguments; ``n`` picks the plural form (and is ``{count}``,
    as a word where the language writes small numbers out)."""

    id: str
    args: Mapping[str, Any] = {}
    n: int | None = None
    plural: str | None = None


Parts = tuple[Msg, ...]
_new = tuple.__new__  # Msg(...) less the frame of its generated __new__: renders make many


def msg(id_: str, **args: Any) -> Msg:
    """A sentence without plural forms."""
    return _new(Msg, (id_, args, None, None))


def nmsg(singular: str, plural: str, n: int, **args: Any) -> Msg:
    """A sentence with a singular and a plural shape, chosen by ``n`` per the language."""
    return _new(Msg, (singular, args, n, plural))


def language(lang: str | None) -> str:
    """One of :data:`LANGS` for a language tag (``de-CH`` -> ``de``); the default otherwise."""
    if not lang:
        return DEFAULT_LANG
    base = lang.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGS or base in _EXTRA else DEFAULT_LANG


def from_accept_language(header: str | None) -> str | None:
    """The first supported language of an ``Accept-Language`` header, by weight; None if none."""
    if not header:
        return None
    ranked = []
    for i, item in enumerate(header.split(",")[:20]):
        tag, _, q = item.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        base = tag.strip().split("-")[0].lower()
        if base in LANGS and weight > 0:
            ranked.append((-weight, i, base))
    return min(ranked)[2] if ranked else None


_EXTRA: dict[str, Catalog] = {}  # catalogues registered at run time (the tests' pseudo-locale)


def register(lang: str, cat: Catalog) -> None:
    """Use ``cat`` for ``lang`` (a pseudo-locale in tests; a deployment's own language)."""
    _EXTRA[lang] = cat


def catalogue(lang: str) -> Catalog | None:
    """The catalogue of one language (None for English: the msgids are the English texts)."""
    if lang in _EXTRA:
        return _EXTRA[lang]
    return _shipped(lang)


Loader = Callable[[str], Catalog | None]
_LOADER: list[Loader] = []  # set by an edge module: the domain reads no files


def set_loader(loader: Loader) -> None:
    """How the shipped catalogues are read (``notifier.settings`` reads the package's ``.po``
    files, :data:`LOCALES`, with Babel's reader)."""
    _LOADER[:] = [loader]
    _shipped.cache_clear()


@functools.cache
def _shipped(lang: str) -> Catalog | None:
    if lang == DEFAULT_LANG or lang not in LANGS or not _LOADER:
        return None
    return _LOADER[0](lang)


def _lookup(cat: Catalog | None, m: Msg, lang: str) -> str:
    fallback = m.plural if m.plural is not None and m.n != 1 else m.id
    found = cat.get(m.id) if cat is not None else None
    if found is None or not found.string:
        return fallback
    if isinstance(found.string, tuple | list):
        forms = found.string
        return forms[min(_plural_index(lang, m.n or 0), len(forms) - 1)] or fallback
    return str(found.string)


def _plural_index(lang: str, n: int) -> int:
    """The plural form of ``n`` in a language (all six: one form for 1, another for the rest;
    French and Portuguese count 0 as singular)."""
    rule = Locale.parse(lang if lang in LANGS else DEFAULT_LANG).plural_form(n)
    return 0 if rule == "one" else 1


def number_word(n: int, lang: str) -> str:
    """``two``, ``zwei``, ``due``: small counts written out as a writer would; digits above."""
    if not 0 < n < len(ENGLISH_NUMBERS):
        return str(n)
    word = ENGLISH_NUMBERS[n]
    cat = catalogue(lang)
    if cat is None:
        return word
    found = cat.get(word, context=NUMBER_CONTEXT)
    return str(found.string) if found is not None and found.string else word


def sentence(m: Msg, lang: str, names: Mapping[str, str]) -> str:
    """One part as a sentence in ``lang``; ``names`` maps ``home``/``away`` to display names."""
    cat = catalogue(lang)
    if cat is None:  # English (its msgids are its texts), or a language we have no words for
        return _plain(m, names)
    template = _lookup(cat, m, lang)
    args = {k: _arg(k, v, lang, names) for k, v in m.args.items()}
    if m.n is not None:
        args["count"] = number_word(m.n, lang)
        args.setdefault("n", m.n)
    return _tidy(template.format(**args))


def _tidy(s: str) -> str:
    """An empty argument (a minute the feed did not give) leaves no stray space behind.

    Most sentences have nothing to tidy, and splitting and joining them costs more than
    finding so: a printable string has no whitespace but the space (``str.isprintable`` is
    false for every other character ``str.split`` splits on), so it comes out of the split and
    the join as it went in when it has no space at either end and no two together, and the
    replacements change it only where it holds what they replace."""
    if s.isprintable() and "  " not in s and " )" not in s and "( " not in s and s.strip(" ") == s:
        return s
    return " ".join(s.split()).replace(" )", ")").replace("( ", "(")


def _arg(key: str, value: Any, lang: str, names: Mapping[str, str]) -> Any:
    if key in TEAM_ARGS:
        return names.get(value, value)
    if isinstance(value, Msg):
        return sentence(value, lang, names)  # a phrase of its own (``a player``)
    if isinstance(value, dict) and "id" in value:
        return sentence(load([value])[0], lang, names)
    return value


def _plain(m: Msg, names: Mapping[str, str]) -> str:
    """:func:`sentence` in a language without a catalogue (English): the msgid (or its plural)
    is the template, small counts are English words. The aggregator renders one or two texts
    per event in English, most of them new on a match day (every match has teams of its own):
    no catalogue looked up for each part and phrase, one loop over the arguments, and the
    template compiled once for ``%`` (:mod:`notifier.domain.templates`) when every argument is
    a string or an int (``%`` and ``str.format`` then say the same)."""
    n = m.n
    template = m.plural if m.plural is not None and n != 1 else m.id
    args: dict[str, Any] = {}
    odd = False  # an argument neither str nor int: str.format, as sentence() does
    for k, v in m.args.items():
        if k in TEAM_ARGS:
            v = names.get(v, v)
            odd = odd or type(v) is not str
        elif type(v) is str or type(v) is int:
            pass
        elif isinstance(v, Msg):
            v = _plain(v, names)  # a phrase of its own (``a player``)
        elif isinstance(v, dict) and "id" in v:
            v = _plain(load([v])[0], names)
        else:
            odd = True
        args[k] = v
    if n is not None:
        args["count"] = ENGLISH_NUMBERS[n] if 0 < n < len(ENGLISH_NUMBERS) else str(n)
        if "n" not in args:
            args["n"] = n
            odd = odd or type(n) is not int
    c = None if odd else compiled(template)
    return _tidy(template.format(**args) if c is None else c[0] % c[1](args))


def to_text(parts: Iterable[Msg], lang: str, names: Mapping[str, str]) -> str:
    """The parts as one text: sentences joined by full stops (after a colon, by a space)."""
    out = ""
    plain = catalogue(lang) is None  # asked once for the parts, not for each
    for m in parts:
        s = _plain(m, names) if plain else sentence(m, lang, names)
        out = s if not out else f"{out} {s}" if out.endswith(":") else f"{out}. {s}"
    return out


def dump(parts: Sequence[Msg]) -> list[dict[str, Any]]:
    """The parts as JSON: language-neutral, for bots that render their own."""
    return [_item(m) for m in parts]


def _item(m: Msg) -> dict[str, Any]:
    """One part as JSON: its arguments copied as they are, a phrase among them as JSON too (a
    copy in C and one look at the values cost less than a comprehension testing each)."""
    args: dict[str, Any] = dict(m.args)
    for v in args.values():
        if isinstance(v, Msg):
            args = {k: _item(v) if isinstance(v, Msg) else v for k, v in args.items()}
            break
    item: dict[str, Any] = {"id": m.id, "args": args}
    if m.n is not None:
        item["n"] = m.n
        item["plural"] = m.plural
    return item


def english(parts: Sequence[Msg], names: Mapping[str, str]) -> tuple[str, list[dict[str, Any]]]:
    """``(to_text(parts, "en", names), dump(parts))`` while English has no catalogue (the
    caller asks :func:`catalogue` once, not each sentence): the aggregator's alert text and
    parts, in one pass over the parts."""
    out = ""
    items = []
    for m in parts:
        s = _plain(m, names)
        out = s if not out else f"{out} {s}" if out.endswith(":") else f"{out}. {s}"
        items.append(_item(m))
    return out, items


def load(items: Iterable[Mapping[str, Any]]) -> Parts:
    """:func:`dump`'s JSON back as parts."""
    return tuple(
        Msg(str(i["id"]), dict(i.get("args") or {}), i.get("n"), i.get("plural")) for i in items
    )


LangName = Literal["en", "de", "it", "es", "fr", "pt"]
_CACHE: OrderedDict[tuple[str, str, str, str], str] = OrderedDict()
# Texts kept, by alert and language: the memo serves one alert's fan-out (every subscriber of a
# language gets the same text), so it needs only the alerts being sent now, the least recently
# used going first; a finished match's alerts leave it on their own (it held 4,096 whatever
# their age before being cleared whole, a few hundred bytes each: growth per alert until then).
CACHE_SIZE = 256


def alert_text(
    alert: Alert, lang: str, names: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """An alert's text in ``lang`` (cached per alert and language): its parts rendered with the
    team names of that language (``names[lang]``: display name -> name in that language, e.g.
    ``Bayern Munich`` -> ``Bayern München``). An alert without parts keeps its text."""
    lang = language(lang)
    if not alert.parts:
        return alert.text
    local = (names or {}).get(lang, {})
    home, away = local.get(alert.home, alert.home), local.get(alert.away, alert.away)
    key = (alert.id, lang, home, away)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    text = to_text(load(alert.parts), lang, {"home": home, "away": away})
    _CACHE[key] = text
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return text


def localised(
    alert: Alert, lang: str, names: Mapping[str, Mapping[str, str]] | None = None
) -> Alert:
    """The alert with its text in ``lang`` (itself when that is the text it has)."""
    lang = language(lang)
    text = alert_text(alert, lang, names)
    if text == alert.text and lang == alert.lang:
        return alert
    return alert.model_copy(update={"text": text, "lang": lang})


LABEL_CONTEXT = "label"


def label(text: str, lang: str) -> str:
    """A short label (a channel's title for an alert kind: ``Goal``, ``Tor``, ``Gol``)."""
    cat = catalogue(language(lang))
    found = cat.get(text, context=LABEL_CONTEXT) if cat is not None else None
    return str(found.string) if found is not None and found.string else text
