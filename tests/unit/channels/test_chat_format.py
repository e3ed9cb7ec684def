"""The chat channels' framing around an alert's text speaks the alert's language: the kind's
label, the score in the language's own shape (``1:0`` in German), the facts' names, and no fact
the message already shows twice. Pure: the payload builders, no I/O."""

from __future__ import annotations

import pytest

from notifier.channels import format as fmt
from notifier.channels.discord import discord_payload
from notifier.channels.slack import slack_payload
from notifier.channels.telegram import telegram_text
from notifier.domain import texts
from notifier.domain.alerts import Alert
from notifier.domain.texts import LANGS
from tests.unit.domain.pure_replay import replay_alerts, scenario

# A fact's name in each language, as a football writer there would head it.
AGGREGATE = {"en": "Aggregate", "de": "Gesamtstand", "it": "Doppio confronto",
             "es": "Global", "fr": "Cumul", "pt": "Agregado"}  # fmt: skip
SCORE = {"en": ("Atalanta 1-0 Dortmund", "Atalanta 1-2 Dortmund"),
         "de": ("Atalanta 1:0 Dortmund", "Atalanta 1:2 Dortmund"),
         "it": ("Atalanta 1-0 Dortmund", "Atalanta 1-2 Dortmund")}  # fmt: skip


@pytest.fixture(scope="module")
def demo() -> list[Alert]:
    return replay_alerts(scenario())


def _goal(demo: list[Alert], lang: str) -> Alert:
    first = next(a for a in demo if a.kind == "goal")
    return texts.localised(first, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_the_facts_are_named_in_the_alert_language(demo: list[Alert], lang: str) -> None:
    goal = _goal(demo, lang)
    discord = discord_payload(goal)["embeds"][0]
    names = [f["name"] for f in discord["fields"]]
    assert names == [AGGREGATE[lang], texts.label("Minute", lang)]
    slack = slack_payload(goal)["blocks"][-1]["elements"]
    assert slack[0]["text"].startswith(f"*{AGGREGATE[lang]}*")
    assert f"_{AGGREGATE[lang]}" in telegram_text(goal).replace("\\", "")
    assert goal.lang == lang and discord["description"] == goal.text


@pytest.mark.parametrize("lang", sorted(SCORE))
def test_the_score_takes_the_language_shape(demo: list[Alert], lang: str) -> None:
    goal = _goal(demo, lang)  # Scamacca's, 1-0 on the night, 1-2 over both legs
    score, aggregate = SCORE[lang]
    assert fmt.score_line(goal) == score and fmt.headline(goal).endswith(score)
    assert fmt.aggregate_line(goal) == aggregate


def test_no_fact_is_shown_twice(demo: list[Alert]) -> None:
    """The score heads the message (Slack's header, Discord's content): it is not a fact too."""
    goal = _goal(demo, "en")
    slack = slack_payload(goal)
    facts = " ".join(e["text"] for e in slack["blocks"][-1]["elements"])
    assert fmt.score_line(goal) in slack["blocks"][0]["text"]["text"]
    assert fmt.score_line(goal) not in facts
    discord = discord_payload(goal)
    assert fmt.score_line(goal) in discord["content"]
    assert all(f["value"] != fmt.score_line(goal) for f in discord["embeds"][0]["fields"])


def test_slack_leaves_the_context_out_when_there_is_no_fact(demo: list[Alert]) -> None:
    lineups = next(a for a in demo if a.kind == "lineups")
    assert lineups.aggregate is None or lineups.minute is None
    bare = lineups.model_copy(update={"aggregate": None, "minute": None})
    assert [b["type"] for b in slack_payload(bare)["blocks"]] == ["header", "section"]


@pytest.mark.parametrize("lang", LANGS)
def test_every_fact_name_is_in_every_catalogue(lang: str) -> None:
    cat = texts.catalogue(lang)
    for name in fmt.FACTS:
        if cat is None:  # English: the msgids are the labels
            assert lang == "en" and texts.label(name, lang) == name
            continue
        found = cat.get(name, context=texts.LABEL_CONTEXT)
        assert found is not None and found.string, (lang, name)
