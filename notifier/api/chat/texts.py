"""Every sentence the bots say, and the shape of an answer. Pure.

An :class:`Answer` is platform-neutral: a title, lines, and choices (buttons that send a command
back). ``telegram``, ``discord`` and ``slack`` render it as a message, an embed, Block Kit.

The bot's own sentences (help, confirmations, refusals) are English on purpose: they are the
interface of a tool the chat's admin sets up, not football news. What is about the match (the
score and aggregate sentences of ``/score`` and ``/tie``) is rendered through the alert
catalogues (:mod:`notifier.domain.render`, :func:`notifier.domain.texts.to_text`) in the chat's
``/lang``, as its alerts are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from notifier.domain import render
from notifier.domain.engine import MatchState, view
from notifier.domain.models import MatchStatus
from notifier.domain.texts import DEFAULT_LANG, Parts, to_text

LABELS = {"team": "team", "competition": "competition", "tie": "tie", "match": "match"}


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: what it says and the command it sends."""

    label: str
    command: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What the bot says back."""

    title: str
    lines: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()
    ok: bool = True

    @property
    def text(self) -> str:
        """Title and lines as plain text."""
        return "\n".join((self.title, *self.lines))


def problem(message: str) -> Answer:
    """A refusal or an error the chat can act on."""
    return Answer(message, ok=False)


HELP = Answer(
    "I send live football alerts to this chat. Commands:",
    (
        "/follow TEAM|COMPETITION|TIE: alerts for it",
        "/unfollow NAME: stop them (/unfollow all: everything)",
        "/list: what this chat follows",
        "/score: live score, minute and aggregate of what it follows",
        "/tie: the aggregate of the ties it follows",
        "/kinds [KIND ...|all]: which alerts (goal, red_card, result, ...)",
        "/delay N: hold alerts N seconds (streams run behind)",
        "/lang xx: language of the alerts",
        "/mute, /unmute: pause and resume alerts",
    ),
)


def followed(kind: str, label: str) -> Answer:
    """After a follow."""
    return Answer(f"Following {LABELS[kind]} {label}. Alerts will come to this chat.")


def already(label: str) -> Answer:
    """A follow that exists."""
    return Answer(f"This chat already follows {label}.")


def pick(query: str, choices: Sequence[Choice]) -> Answer:
    """Several things match: choose one."""
    return Answer(f"Several matches for {query!r}: pick one.", choices=tuple(choices))


def unknown(query: str) -> Answer:
    """Nothing matches."""
    return problem(f"I know no team, competition or tie called {query!r}.")


def unfollowed(labels: Sequence[str]) -> Answer:
    """After an unfollow."""
    return Answer("Stopped following " + ", ".join(labels) + ".")


def not_followed(query: str) -> Answer:
    """An unfollow of something not followed."""
    return problem(f"This chat does not follow {query!r}. /list shows what it does.")


def follow_list(rows: Sequence[tuple[str, str, bool]]) -> Answer:
    """``/list``: (kind, label, enabled) of each follow."""
    if not rows:
        return Answer("This chat follows nothing yet. Try /follow TEAM.")
    lines = tuple(
        f"{LABELS[kind]} {label}" + ("" if on else " (muted)") for kind, label, on in rows
    )
    return Answer("This chat follows:", lines)


def _say(parts: Parts, v: render.View, lang: str) -> str:
    return to_text(parts, lang, {"home": v.home, "away": v.away}) if parts else ""


def score_line(state: MatchState, lang: str = DEFAULT_LANG) -> str:
    """``Atalanta 1-0 Dortmund, 64'. Dortmund lead 3-1 on aggregate`` (in ``lang``)."""
    v = view(state)
    if state.status == MatchStatus.SCHEDULED:
        head = f"{state.home} v {state.away}: scheduled"
    elif state.status == MatchStatus.POSTPONED:
        head = _say(render.status(v, state.status, None), v, lang)
    elif state.finished or state.status == MatchStatus.FINISHED:
        head = _say(render.phase(v, "full_time")[:1], v, lang)
    elif state.status == MatchStatus.HALF_TIME:
        head = _say(render.phase(v, "half_time")[:1], v, lang)
    else:
        clock = render.minute(state.minute, state.added)
        head = _say((render.score_line(v),), v, lang) + (f", {clock}" if clock else "")
    return ". ".join(p for p in (head, _say(render.aggregate_parts(v), v, lang)) if p)


def scores(states: Sequence[MatchState], lang: str = DEFAULT_LANG) -> Answer:
    """``/score``."""
    if not states:
        return Answer("None of what this chat follows is being played or tracked now.")
    return Answer("Live:", tuple(score_line(s, lang) for s in states))


def tie_line(state: MatchState, lang: str = DEFAULT_LANG) -> str:
    """A tie's aggregate and what the trailing side needs (in ``lang``)."""
    v = view(state)
    parts = [f"{state.home} v {state.away}", _say(render.standing_parts(v), v, lang)]
    return ". ".join(p for p in parts if p)


def ties(states: Sequence[MatchState], lang: str = DEFAULT_LANG) -> Answer:
    """``/tie``."""
    if not states:
        return Answer("This chat follows no two-legged tie being tracked now.")
    return Answer("Ties:", tuple(tie_line(s, lang) for s in states))


def kinds(current: Sequence[str], known: Sequence[str]) -> Answer:
    """``/kinds`` without argument (or after a change)."""
    return Answer("Alerts sent: " + ", ".join(current), ("Known kinds: " + ", ".join(known),))


def unknown_kind(kind: str, known: Sequence[str]) -> Answer:
    """A kind that does not exist."""
    return problem(f"No alert kind {kind!r}. Known kinds: " + ", ".join(known))


def delay_set(seconds: int, follows: int) -> Answer:
    """``/delay N``."""
    if follows == 0:
        return Answer("This chat follows nothing yet. Try /follow TEAM.")
    if seconds == 0:
        return Answer("Alerts are sent as soon as they happen.")
    return Answer(f"Alerts to this chat will be held {seconds} s.")


def lang_set(code: str, available: Sequence[str]) -> Answer:
    """``/lang xx``: the alerts' language (this answer, like every bot sentence, is English)."""
    if code not in available:
        return problem(f"No alerts in {code!r}. Known languages: " + ", ".join(available))
    return Answer(f"Language set: {code}.")


def muted(on: bool, count: int) -> Answer:
    """``/mute`` and ``/unmute``."""
    if count == 0:
        return Answer("This chat follows nothing yet. Try /follow TEAM.")
    return Answer("Alerts paused. /unmute resumes them." if on else "Alerts resumed.")


ADMINS_ONLY = problem("In a group only admins can change what the chat follows.")
TOO_FAST = problem("Too many commands: wait a minute and try again.")
CANNOT_DELIVER = problem("This bot is not set up to post alerts here: ask its operator.")
NEEDS_ARG = problem("Say what: /follow TEAM, /unfollow NAME.")


def too_many(limit: int) -> Answer:
    """The per-chat follow limit."""
    return problem(
        f"A chat can follow at most {limit} teams, competitions or ties. /unfollow one first."
    )
