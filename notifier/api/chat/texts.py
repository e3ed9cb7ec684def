"""Every sentence the bots say, and the shape of an answer. Pure.

An :class:`Answer` is platform-neutral: a title, lines, and choices (buttons that send a command
back). ``telegram``, ``discord`` and ``slack`` render it as a message, an embed, Block Kit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from notifier.domain import render
from notifier.domain.engine import MatchState, view
from notifier.domain.models import MatchStatus

LABELS = {"team": "team", "competition": "competition", "tie": "tie", "match": "match"}
NOT_STARTED = (MatchStatus.SCHEDULED, MatchStatus.POSTPONED)


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


def score_line(state: MatchState) -> str:
    """``Atalanta 1-0 Dortmund, 64'. Dortmund lead 3-1 on aggregate``."""
    v = view(state)
    if state.status in NOT_STARTED:
        head = f"{state.home} v {state.away}: {state.status.value.replace('_', ' ')}"
    else:
        head = render.english((render.score_line(v),), v)
        clock = render.minute(state.minute, state.added)
        if state.finished or state.status == MatchStatus.FINISHED:
            head += ", full time"
        elif clock:
            head += f", {clock}"
        elif state.status == MatchStatus.HALF_TIME:
            head += ", half-time"
    return ". ".join(p for p in (head, render.aggregate(v)) if p)


def scores(states: Sequence[MatchState]) -> Answer:
    """``/score``."""
    if not states:
        return Answer("None of what this chat follows is being played or tracked now.")
    return Answer("Live:", tuple(score_line(s) for s in states))


def tie_line(state: MatchState) -> str:
    """A tie's aggregate and what the trailing side needs."""
    v = view(state)
    parts = [f"{state.home} v {state.away}", render.aggregate(v), render.needs(v)]
    return ". ".join(p for p in parts if p)


def ties(states: Sequence[MatchState]) -> Answer:
    """``/tie``."""
    if not states:
        return Answer("This chat follows no two-legged tie being tracked now.")
    return Answer("Ties:", tuple(tie_line(s) for s in states))


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
    """``/lang xx``."""
    if code not in available:
        return problem(f"No alerts in {code!r} yet. Available: " + ", ".join(available))
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
