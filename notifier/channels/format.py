"""Presentation shared by the chat channels: per-kind label, emoji, colour, and short facts.

The sentences themselves come from ``notifier.domain.render`` (``alert.text``); this only frames
them.
"""

from __future__ import annotations

from typing import NamedTuple

from notifier.domain import texts
from notifier.domain.alerts import Alert
from notifier.domain.texts import label

# The shapes of the short facts, in the catalogue like every sentence: German writes 1:0.
SCORE = "{home} {hs}-{as} {away}"
SCORE_PENS = "{home} {hs}-{as} {away} ({ps}-{pa} pens)"
# The names of the facts beside the text (Slack's context, Discord's fields, Telegram's line).
FACTS = ("Aggregate", "Minute")


class KindStyle(NamedTuple):
    """How a chat platform shows one alert kind."""

    label: str
    emoji: str
    color: int  # 0xRRGGBB, for Discord embeds
    ntfy_tag: str  # an ntfy tag that ntfy renders as the emoji
    priority: int  # ntfy priority, 1 (min) .. 5 (max)


_DEFAULT = KindStyle("Update", "ℹ️", 0x95A5A6, "information_source", 3)

STYLES: dict[str, KindStyle] = {
    "lineups": KindStyle("Lineups", "📋", 0x9B59B6, "clipboard", 3),
    "kickoff": KindStyle("Kick-off", "🏟️", 0x3498DB, "stadium", 3),
    "goal": KindStyle("Goal", "⚽", 0x2ECC71, "soccer", 4),
    "goal_cancelled": KindStyle("Goal ruled out", "🚫", 0xE67E22, "no_entry_sign", 3),
    "red_card": KindStyle("Red card", "🟥", 0xE74C3C, "red_square", 4),
    "yellow_card": KindStyle("Yellow card", "🟨", 0xF1C40F, "yellow_square", 2),
    "penalty_missed": KindStyle("Penalty missed", "❌", 0x95A5A6, "x", 3),
    "half_time": KindStyle("Half-time", "⏸️", 0x3498DB, "pause_button", 3),
    "second_half": KindStyle("Second half", "▶️", 0x3498DB, "arrow_forward", 3),
    "full_time": KindStyle("Full-time", "⏱️", 0x3498DB, "stopwatch", 3),
    "extra_time": KindStyle("Extra time", "⏳", 0x1ABC9C, "hourglass_flowing_sand", 3),
    "shootout": KindStyle("Penalties", "🥅", 0x1ABC9C, "goal_net", 3),
    "result": KindStyle("Result", "🏆", 0xF1C40F, "trophy", 4),
    "status": _DEFAULT,
}


def style(alert: Alert) -> KindStyle:
    """The style of an alert's kind, its label in the alert's language."""
    s = STYLES.get(alert.kind, _DEFAULT)
    return s if alert.lang == "en" else s._replace(label=label(s.label, alert.lang))


def headline(alert: Alert) -> str:
    """``⚽ Goal: Atalanta 1-0 Dortmund`` (the label, then the score)."""
    s = style(alert)
    return f"{s.emoji} {s.label}: {score_line(alert)}"


def score_line(alert: Alert) -> str:
    """``Atalanta 1-0 Dortmund`` (``Atalanta 1:0 Dortmund`` in German), with the shoot-out
    score when there is one."""
    score = {"hs": alert.score.home, "as": alert.score.away}
    if alert.shootout is None:
        return _line(SCORE, alert, score)
    pens = {"ps": alert.shootout.home, "pa": alert.shootout.away}
    return _line(SCORE_PENS, alert, score | pens)


def aggregate_line(alert: Alert) -> str | None:
    """``Atalanta 1-2 Dortmund`` over both legs, or None outside a tie."""
    agg = alert.aggregate
    if not agg:
        return None
    if alert.home in agg and alert.away in agg:
        return _line(SCORE, alert, {"hs": agg[alert.home], "as": agg[alert.away]})
    return ", ".join(f"{team} {goals}" for team, goals in agg.items())


def _line(shape: str, alert: Alert, goals: dict[str, int]) -> str:
    """A score shape in the alert's language, the teams by their names in the alert."""
    m = texts.msg(shape, home="home", away="away", **goals)
    return texts.sentence(m, alert.lang, {"home": alert.home, "away": alert.away})


def fact(name: str, alert: Alert) -> str:
    """The name of a fact (one of :data:`FACTS`) in the alert's language."""
    return label(name, alert.lang)


def minute_label(alert: Alert) -> str | None:
    """``23'`` or ``90+3'``, or None when the feed gave no minute."""
    if alert.minute is None:
        return None
    return f"{alert.minute}+{alert.added}'" if alert.added else f"{alert.minute}'"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis if cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
