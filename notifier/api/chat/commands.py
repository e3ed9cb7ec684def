"""Parse a chat command into a verb and its argument. Pure.

``/follow Dortmund``, ``/follow@MyBot Dortmund`` (Telegram groups), ``follow Dortmund`` (a Slack
``/notifier follow Dortmund``) and ``/delay 30`` all become a :class:`Command`. Argument
checks that need no state (a number, a language code) are made here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from notifier.domain.holdback import MAX_DELAY_S
from notifier.errors import CommandError

Verb = Literal[
    "follow",
    "unfollow",
    "list",
    "score",
    "tie",
    "kinds",
    "delay",
    "lang",
    "mute",
    "unmute",
    "help",
    "start",
]
VERBS: tuple[str, ...] = Verb.__args__  # type: ignore[attr-defined]
# Verbs that change what a chat receives: in groups only admins may use them.
CHANGING = frozenset({"follow", "unfollow", "kinds", "delay", "lang", "mute", "unmute"})
MAX_ARG = 200
LANG = re.compile(r"^[a-z]{2}$")
FOLLOW_KINDS = ("team", "competition", "tie", "match")
_COMMAND = re.compile(r"^/?([A-Za-z_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Command:
    """One verb and its argument (stripped, maybe empty)."""

    verb: Verb
    arg: str = ""


@dataclass(frozen=True, slots=True)
class Exact:
    """A follow that names its kind: ``team:Dortmund``, ``tie:replay:api-football:1``."""

    kind: str
    value: str


def parse(text: str) -> Command:
    """The command in ``text``; CommandError if it is not one of :data:`VERBS`."""
    found = _COMMAND.match(text.strip())
    if found is None:
        raise CommandError("not a command")
    verb = found.group(1).lower()
    if verb not in VERBS:
        raise CommandError(f"unknown command {verb!r}")
    arg = " ".join((found.group(2) or "").split())
    if len(arg) > MAX_ARG:
        raise CommandError(f"the argument is longer than {MAX_ARG} characters")
    return Command(verb, arg)  # type: ignore[arg-type]


def exact(arg: str) -> Exact | None:
    """The kind-qualified follow in ``arg`` (what a keyboard button sends), else None."""
    kind, sep, value = arg.partition(":")
    if not sep or kind not in FOLLOW_KINDS or not value.strip():
        return None
    return Exact(kind, value.strip())


def delay_seconds(arg: str) -> int:
    """The ``/delay`` argument: whole seconds from 0 to :data:`MAX_DELAY_S`."""
    if not arg.isdigit() or int(arg) > MAX_DELAY_S:
        raise CommandError(f"give a number of seconds from 0 to {MAX_DELAY_S}")
    return int(arg)


def language(arg: str) -> str:
    """The ``/lang`` argument: a two-letter code."""
    code = arg.lower()
    if not LANG.match(code):
        raise CommandError("give a two-letter language code such as en or de")
    return code
