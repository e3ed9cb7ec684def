"""The alert texts in every language: golden files of the demo, a pseudo-locale proving every
sentence goes through the catalogue, and the catalogues themselves (complete, placeholders
matching). The demo is replayed purely (``pure_replay``): fast and deterministic."""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from notifier.domain import texts
from notifier.domain.texts import LANGS, LOCALES, alert_text
from tests.unit.domain.pure_replay import replay_alerts, scenario

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def demo() -> list:  # type: ignore[type-arg]
    return replay_alerts(scenario())


@pytest.mark.parametrize("lang", LANGS)
def test_demo_texts_match_the_golden_file(lang: str, demo: list) -> None:  # type: ignore[type-arg]
    got = "\n".join(alert_text(a, lang) for a in demo) + "\n"
    path = GOLDEN / f"demo.{lang}.txt"
    if UPDATE:
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8")


def _fields(s: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(s) if f}


def _pot() -> Catalog:
    with (LOCALES / "notifier.pot").open("rb") as f:
        return read_po(f)


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_every_message_translated_with_the_same_placeholders(lang: str) -> None:
    cat = texts.catalogue(lang)
    assert cat is not None
    for m in _pot():
        if not m.id:
            continue
        found = cat.get(m.id, context=m.context)
        assert found is not None and found.string, (lang, m.id)
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = found.string if isinstance(found.string, tuple) else (found.string,)
        wanted = set().union(*(_fields(i) for i in ids))
        for s in strings:
            assert s and _fields(s) <= wanted | {"count", "n"}, (lang, m.id, s)
            assert _fields(s) >= _fields(ids[0]) - {"count", "n"}, (lang, m.id, s)


def test_pseudo_locale_no_untranslated_text_reaches_an_alert(demo: list) -> None:  # type: ignore[type-arg]
    """Every msgid wrapped in ⟦…⟧: every sentence of every alert must come out wrapped."""
    pseudo = Catalog(locale="en", domain="notifier")
    for m in _pot():
        if not m.id:
            continue
        if isinstance(m.id, tuple):
            pseudo.add(m.id, tuple(f"⟦{i}⟧" for i in m.id), context=m.context)
        else:
            pseudo.add(m.id, f"⟦{m.id}⟧", context=m.context)
    texts.register("xx", pseudo)
    for a in demo:
        for part in texts.load(a.parts):
            s = texts.sentence(part, "xx", {"home": "H", "away": "A"})
            assert s.startswith("⟦") and s.endswith("⟧"), (a.kind, s)


def test_subscriptions_leave_yellow_cards_out_unless_asked_and_take_a_language() -> None:
    from pydantic import ValidationError

    from notifier.channels.subscriptions import SubscriptionSpec

    spec = SubscriptionSpec(channel="ntfy", options={"topic": "t"}, teams=["Dortmund"])
    assert "yellow_card" not in spec.kinds and "red_card" in spec.kinds and spec.lang is None
    asked = SubscriptionSpec(
        channel="ntfy", options={"topic": "t"}, teams=["X"], kinds=["yellow_card"], lang="pt"
    )
    assert (asked.kinds, asked.lang) == (["yellow_card"], "pt")
    with pytest.raises(ValidationError):
        SubscriptionSpec(channel="ntfy", options={"topic": "t"}, teams=["X"], lang="xx")


def test_replay_and_demo_take_lang_and_the_console_prints_in_it(demo: list) -> None:  # type: ignore[type-arg]
    import io

    from workers.cli.main import parser
    from workers.cli.sinks import ConsoleSink

    assert parser().parse_args(["replay", "f.json", "--lang", "de"]).lang == "de"
    assert parser().parse_args(["demo", "--lang", "it"]).lang == "it"
    with pytest.raises(SystemExit):
        parser().parse_args(["demo", "--lang", "xx"])
    out = io.StringIO()
    sink = ConsoleSink(out, lang="es", names={"es": {"Atalanta": "Atalanta BC"}})
    import asyncio

    asyncio.run(sink.deliver(demo[-1]))
    assert out.getvalue() == (
        "Atalanta BC gana 5-4 en los penaltis (2-2 en el global). Atalanta BC, a octavos de final\n"
    )


@pytest.mark.parametrize(
    ("header", "lang"),
    [("de-DE,de;q=0.9,en;q=0.8", "de"), ("nl, pt-BR;q=0.5", "pt"), ("nl", None), (None, None)],
)
def test_accept_language(header: str | None, lang: str | None) -> None:
    assert texts.from_accept_language(header) == lang


def test_channel_titles_speak_the_alert_language(demo: list) -> None:  # type: ignore[type-arg]
    from notifier.channels import format as fmt

    shot = texts.localised(demo[-2], "de")
    assert (shot.lang, fmt.headline(shot)) == (
        "de",
        "🥅 Elfmeterschießen: Atalanta 2:0 Dortmund (5:4 i.E.)",
    )
    assert fmt.headline(demo[-2]) == "🥅 Penalties: Atalanta 2-0 Dortmund (5-4 pens)"


def test_the_text_memo_keeps_only_the_alerts_being_sent(
    demo: list,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 15's soak: the memo grew by every alert until 4,096; now it keeps the least
    recently used out past ``CACHE_SIZE``, and an alert still being fanned out stays."""
    monkeypatch.setattr(texts, "CACHE_SIZE", 4)
    monkeypatch.setattr(texts, "_CACHE", type(texts._CACHE)())
    first = alert_text(demo[0], "de")
    for alert in demo[1:10]:
        assert alert_text(demo[0], "de") == first  # the alert being sent: used again and again
        alert_text(alert, "de")
    assert len(texts._CACHE) == 4
    assert (demo[0].id, "de") in {k[:2] for k in texts._CACHE}
    assert (demo[1].id, "de") not in {k[:2] for k in texts._CACHE}
