"""Decide the answer to a chat's command: the one place all three platforms share.

Follows are subscriptions, the same records ``/v1/subscriptions`` makes, owned by the chat
(``telegram:<chat id>``, ...) and delivered through the chat's channel. One subscription per
thing followed; its ``description`` is ``kind:value`` so ``/unfollow`` and ``/list`` find it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import redis.asyncio as aioredis
from pydantic import ValidationError

from notifier.api.chat import texts
from notifier.api.chat.chats import Chat
from notifier.api.chat.commands import CHANGING, Command, delay_seconds, exact, language, parse
from notifier.api.chat.directory import Directory, KnownTeams
from notifier.api.chat.limits import ChatLimits
from notifier.api.chat.texts import Answer
from notifier.bus import keys
from notifier.bus.codec import text
from notifier.bus.connect import translate_errors
from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.subscriptions import (
    DEFAULT_KINDS,
    Subscription,
    SubscriptionSpec,
    fold,
    new_id,
    team_names,
)
from notifier.domain.alerts import ALERT_KINDS
from notifier.domain.engine import MatchState
from notifier.domain.texts import DEFAULT_LANG, LANGS
from notifier.errors import CommandError

log = logging.getLogger("notifier.api.chat")
LANGUAGES = LANGS  # the alert catalogues there are
FIELDS = {"team": "teams", "competition": "competitions", "tie": "ties", "match": "matches"}
LABEL_MAX = 180  # of a subscription's 200-character description


class BotService:
    """Answers commands for every platform."""

    def __init__(
        self,
        r: aioredis.Redis,
        store: SubscriptionStore,
        directory: Directory,
        limits: ChatLimits,
        *,
        states: KnownTeams,
    ) -> None:
        self.r = r
        self.store = store
        self.directory = directory
        self.limits = limits
        self.states = states

    async def answer(self, chat: Chat, text: str) -> Answer:
        """The answer to ``text`` from ``chat`` (limits, permissions and the command itself)."""
        refused = await self.limits.take(chat)
        if refused is not None:
            return refused
        try:
            command = parse(text)
        except CommandError as exc:
            return texts.problem(f"{exc}. /help lists the commands.")
        if command.verb in CHANGING and chat.group and not await chat.is_admin():
            return texts.ADMINS_ONLY
        try:
            return await self.run(chat, command)
        except CommandError as exc:
            return texts.problem(str(exc))

    async def run(self, chat: Chat, command: Command) -> Answer:
        """Carry out one parsed command."""
        match command.verb:
            case "follow":
                return await self.follow(chat, command.arg)
            case "unfollow":
                return await self.unfollow(chat, command.arg)
            case "list":
                return await self.listing(chat)
            case "score":
                return texts.scores(await self.followed_states(chat), await self.lang(chat))
            case "tie":
                states = [s for s in await self.followed_states(chat) if s.prior is not None]
                return texts.ties(states, await self.lang(chat))
            case "kinds":
                return await self.kinds(chat, command.arg)
            case "delay" | "lang":
                return await self.preference(chat, command)
            case "mute" | "unmute":
                return await self.mute(chat, command.verb == "mute")
            case _:
                return texts.HELP

    async def follow(self, chat: Chat, arg: str) -> Answer:
        """Follow a team, competition or tie by name (a choice when several match)."""
        if not arg:
            return texts.NEEDS_ARG
        picked = exact(arg)
        if picked is not None:  # a button: the kind and value, its label looked up again
            same = [c for c in await self.directory.search(picked.value) if c.kind == picked.kind]
            label = same[0].label if same else picked.value
            return await self.subscribe(chat, picked.kind, picked.value, label)
        found = await self.directory.search(arg)
        if not found:
            return texts.unknown(arg)
        if len(found) > 1:
            choices = [texts.Choice(c.label, f"/follow {c.kind}:{c.value}") for c in found]
            return texts.pick(arg, choices)
        return await self.subscribe(chat, found[0].kind, found[0].value, found[0].label)

    async def subscribe(self, chat: Chat, kind: str, value: str, label: str) -> Answer:
        """Store the subscription of one follow, like the API would."""
        subs = await self.store.list_owned(chat.owner)
        if any(_follows(s, kind, value) for s in subs):
            return texts.already(label)
        if len(subs) >= self.limits.max_follows:
            return texts.too_many(self.limits.max_follows)
        d = chat.destination
        try:
            spec = SubscriptionSpec.model_validate(
                {
                    "channel": d.channel,
                    "url": d.url,
                    "secret": d.secret,
                    "options": dict(d.options),
                    "kinds": list(subs[0].spec.kinds) if subs else list(DEFAULT_KINDS),
                    "enabled": subs[0].spec.enabled if subs else True,
                    "delay_s": subs[0].spec.delay_s if subs else 0,
                    "lang": await self.chosen_lang(chat),  # a /lang before any follow counts
                    "description": f"{kind}:{label[:LABEL_MAX]}",  # what /list shows
                    FIELDS[kind]: [value],
                }
            )
        except ValidationError as exc:  # the bot's own settings lack what delivery needs
            errors = [e["msg"] for e in exc.errors(include_input=False, include_url=False)]
            log.error("bot_cannot_deliver", extra={"platform": chat.platform, "errors": errors})
            return texts.CANNOT_DELIVER
        now = datetime.now(UTC)
        sub = Subscription(id=new_id(), owner=chat.owner, spec=spec, created_at=now, updated_at=now)
        await self.store.create(sub)
        log.info("bot_follow", extra={"platform": chat.platform, "kind": kind})
        return texts.followed(kind, label)

    async def unfollow(self, chat: Chat, arg: str) -> Answer:
        """Delete the chat's subscriptions named by ``arg`` (``all``: every one)."""
        if not arg:
            return texts.NEEDS_ARG
        subs = await self.store.list_owned(chat.owner)
        q = fold(arg)
        gone = [s for s in subs if q == "all" or q in (fold(d) for d in _names(s))]
        for sub in gone:
            await self.store.delete(sub)
        if not gone:
            return texts.not_followed(arg)
        return texts.unfollowed([_label(s) for s in gone])

    async def listing(self, chat: Chat) -> Answer:
        """``/list``."""
        subs = await self.store.list_owned(chat.owner)
        rows = [(_kind(s), _label(s), s.spec.enabled) for s in subs]
        return texts.follow_list(rows)

    async def followed_states(self, chat: Chat) -> list[MatchState]:
        """The tracked matches something the chat follows is in."""
        subs = await self.store.list_owned(chat.owner)
        mine = {pair for s in subs for pair in s.index()}
        aliases = self.store.aliases
        return [s for s in await self.states.states() if mine & _state_index(s, aliases)]

    async def kinds(self, chat: Chat, arg: str) -> Answer:
        """``/kinds``: show, or set for every follow of the chat."""
        subs = await self.store.list_owned(chat.owner)
        current = list(subs[0].spec.kinds) if subs else list(DEFAULT_KINDS)
        if not arg:
            return texts.kinds(current, ALERT_KINDS)
        wanted = list(DEFAULT_KINDS) if arg.lower() == "all" else arg.lower().split()
        bad = [k for k in wanted if k not in ALERT_KINDS]
        if bad:
            return texts.unknown_kind(bad[0], ALERT_KINDS)
        if "goal" in wanted and "goal_cancelled" not in wanted:
            wanted.append("goal_cancelled")  # a goal the chat saw must be taken back there too
        await self._update_all(subs, {"kinds": wanted})
        return texts.kinds(wanted, ALERT_KINDS)

    async def mute(self, chat: Chat, on: bool) -> Answer:
        """Disable (or enable) every subscription of the chat."""
        subs = await self.store.list_owned(chat.owner)
        await self._update_all(subs, {"enabled": not on})
        return texts.muted(on, len(subs))

    async def preference(self, chat: Chat, command: Command) -> Answer:
        """``/delay N`` (on every follow, as the dispatcher reads it) and ``/lang xx``."""
        if command.verb == "delay":
            seconds = delay_seconds(command.arg)
            subs = await self.store.list_owned(chat.owner)
            await self._update_all(subs, {"delay_s": seconds})
            await self._set_pref(chat, "delay_s", str(seconds))
            return texts.delay_set(seconds, len(subs))
        code = language(command.arg)
        if code in LANGUAGES:  # every follow renders its alerts in it (at delivery), and new ones
            subs = await self.store.list_owned(chat.owner)
            await self._update_all(subs, {"lang": code})
            await self._set_pref(chat, "lang", code)
        return texts.lang_set(code, LANGUAGES)

    async def chosen_lang(self, chat: Chat) -> str | None:
        """The language the chat chose with ``/lang``; None if it never did."""
        code = await self._pref(chat, "lang")
        return code if code in LANGUAGES else None

    async def lang(self, chat: Chat) -> str:
        """The language of ``/score`` and ``/tie`` (English until the chat chooses)."""
        return await self.chosen_lang(chat) or DEFAULT_LANG

    async def _pref(self, chat: Chat, name: str) -> str | None:
        with translate_errors("bot preferences"):
            value = await self.r.hget(keys.bot_chat(chat.owner), name)
        return None if value is None else text(value)

    async def _set_pref(self, chat: Chat, name: str, value: str) -> None:
        with translate_errors("bot preferences"):
            await self.r.hset(keys.bot_chat(chat.owner), name, value)

    async def _update_all(self, subs: Sequence[Subscription], changes: dict[str, object]) -> None:
        now = datetime.now(UTC)
        for sub in subs:

            def change(old: Subscription) -> Subscription | None:
                spec = old.spec.model_copy(update=changes)
                return old.model_copy(update={"spec": spec, "updated_at": now})

            await self.store.update(sub.id, change)


def _kind(sub: Subscription) -> str:
    kind = (sub.spec.description or "").partition(":")[0]
    return kind if kind in FIELDS else "team"


def _label(sub: Subscription) -> str:
    return (sub.spec.description or "").partition(":")[2] or sub.id


def _follows(sub: Subscription, kind: str, value: str) -> bool:
    """Whether ``sub`` already follows ``value`` as a ``kind`` (names compared folded)."""
    have: list[str] = getattr(sub.spec, FIELDS[kind])
    return fold(value) in {fold(v) for v in have}


def _names(sub: Subscription) -> list[str]:
    s = sub.spec
    return [_label(sub), *s.teams, *s.competitions, *s.ties, *s.matches]


def _state_index(state: MatchState, aliases: dict[str, str]) -> set[tuple[str, str]]:
    pairs = {("match", state.match)}
    if state.tie:
        pairs.add(("tie", state.tie))
    if state.competition:
        pairs.add(("competition", fold(state.competition)))
    pairs |= {("team", t) for t in team_names(state.home, state.away, aliases=aliases)}
    return pairs
