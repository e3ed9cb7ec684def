"""Each channel's url, secret and options: the patterns the rules check them with, and the same
patterns as the JSON Schema the API's document states for each channel.

One source for both, so that a subscription the document allows is one the rules accept, and
one they refuse is one the document forbids (schemathesis checks both ways). The patterns use
only what Python's ``re``, Rust's ``regex`` (pydantic) and ECMA-262 (JSON Schema tools) read
alike: ASCII classes and ``\\xNN``/``\\uNNNN`` escapes, no ``\\d \\s \\w``, no look-around, no
doubled ``&``, ``-`` or ``~`` in a class (Rust's set operators). They are anchored and matched
whole (``fullmatch``: Python's ``$`` alone lets a trailing newline through).

What no schema can say is left to the API's target check, a 403 rather than a 422
(:mod:`notifier.api.targets`): what a name resolves to, this instance's delivery policy
(``allow_http``, ``allow_networks``), and whether the installed Apprise can use a URL.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from notifier.errors import FieldError

if TYPE_CHECKING:
    from notifier.channels.subscriptions import SubscriptionSpec

# Every character Python's str.isspace(), Rust's \s or ECMA's \s takes for a space.
SPACES = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NOT_SPACE = rf"[^{SPACES}]"  # a name has one such character
I64 = 2**63 - 1

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_TOP = r"[A-Za-z](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"  # a letter first: never an IPv4 form
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_H = r"[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join(
    [
        rf"(?:{_H}:){{7}}{_H}",
        rf"(?:{_H}:){{1,7}}:",
        rf"(?:{_H}:){{1,6}}:{_H}",
        rf"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}",
        rf"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}",
        rf"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}",
        rf"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
        rf"{_H}:(?::{_H}){{1,6}}",
        rf":(?:(?::{_H}){{1,7}}|:)",
    ]
)
# A name (canonical: its last label starts with a letter), a dotted IPv4 address, or [IPv6].
HOST = rf"(?:(?:{_LABEL}\.)*{_TOP}\.?|{_OCTET}(?:\.{_OCTET}){{3}}|\[(?:{_IPV6})\])"
_PORT = (  # 1 to 65535
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}"
    r"|[1-9][0-9]{0,3}))?"
)
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|{_PCT})"
_PATH = rf"(?:/{_PCHAR}*)*"
_QUERY = rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
_HTTP = rf"https?://{HOST}{_PORT}{_PATH}{_QUERY}"
_RELATIVE = rf"/(?:[A-Za-z0-9._~!$&'()*+,;=@/-]|{_PCT})*"  # no ":": never read as absolute
_USERINFO = rf"(?:[A-Za-z0-9._~!$&'()*+,;=-]|{_PCT})+(?::(?:[A-Za-z0-9._~!$&'()*+,;=:-]|{_PCT})*)?"
_MAILBOX_CHAR = rf'[^@<>"(),;:\x00-\x20\x7f-\x9f{SPACES}]'

HTTP_URL = rf"^{_HTTP}$"
URL_OR_PATH = rf"^(?:{_HTTP}|{_RELATIVE})$"  # slack, discord: a path is under the base URL
MQTT_URL = rf"^mqtts?://(?:{_USERINFO}@)?{HOST}{_PORT}/?$"
MAILTO = rf"^mailto:{_MAILBOX_CHAR}{{1,64}}@[A-Za-z0-9.-]{{1,253}}\.[A-Za-z]{{2,63}}$"
WEBHOOK_SECRET = (  # whsec_ and the base64 of 24 to 64 bytes
    r"^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/]{2}==)?"
    r"|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{3}=)$"
)
TELEGRAM_TOKEN = r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$"
CHAT_ID = r"^(?:-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,64})$"
SLACK_BOT_TOKEN = r"^xoxb-[A-Za-z0-9-]{10,200}$"
SLACK_CHANNEL = r"^[A-Z0-9]{6,24}$"
DISCORD_BOT_TOKEN = r"^[A-Za-z0-9_.-]{40,120}$"
DISCORD_CHANNEL_PATH = r"^/api/v10/channels/[0-9]{5,25}/messages$"
NTFY_TOPIC = r"^[A-Za-z0-9_-]{1,64}$"
MQTT_TOPIC = r"^[^#+\x00]{1,100}$"
MQTT_USER = r"^[^\x00-\x1f]{1,100}$"
LANG_TAG = r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$"
P256DH = r"^[A-Za-z0-9_-]{87}=?$"  # base64url of the 65-byte key
AUTH_SECRET = r"^[A-Za-z0-9_-]{22}(?:==?)?$"  # base64url of the 16-byte secret


@functools.cache
def compiled(pattern: str) -> re.Pattern[str]:
    """A pattern compiled once."""
    return re.compile(pattern)


def matches(pattern: str, value: object) -> bool:
    """Whether ``value`` is a string the whole of which ``pattern`` matches."""
    return isinstance(value, str) and compiled(pattern).fullmatch(value) is not None


@functools.cache
def apprise_schemes() -> tuple[str, ...]:
    """The URL schemes of the installed Apprise's services (none without the extra)."""
    from notifier.channels.apprise import apprise_installed

    if not apprise_installed():
        return ()
    import apprise

    found: set[str] = set()
    for service in apprise.Apprise().details()["schemas"]:
        for key in ("protocols", "secure_protocols"):
            names = service.get(key) or ()
            found.update([names] if isinstance(names, str) else names)
    return tuple(sorted(s for s in found if re.fullmatch(r"[a-z0-9][a-z0-9+.-]*", s)))


def apprise_url() -> str:
    """An Apprise URL: a scheme the installed Apprise has, then no space and no comma."""
    schemes = "|".join(re.escape(s) for s in apprise_schemes())
    return rf"^(?:{schemes})://[A-Za-z0-9._~!$&'()*+;=:@/?#%\[\]-]+$"


def channels(names: tuple[str, ...]) -> tuple[str, ...]:
    """The channels of ``names`` this install can deliver to (apprise needs its extra)."""
    from notifier.channels.apprise import apprise_installed

    return tuple(n for n in names if n != "apprise" or apprise_installed())


def _url_atoms(channel: str) -> tuple[str, ...]:
    """The forms a channel's ``url`` may take ("": none given)."""
    atoms = {
        "webhook": (_HTTP,),
        "webpush": (_HTTP,),
        "slack": ("", _HTTP, _RELATIVE),  # empty for a live message (the bot posts it)
        "discord": (_HTTP, _RELATIVE),  # a path is under the base URL
        "telegram": ("",),
        "ntfy": ("", _HTTP),  # empty: the server's default
        "mqtt": (MQTT_URL[1:-1],),
        "email": (MAILTO[1:-1],),
    }
    return atoms.get(channel) or (apprise_url()[1:-1],)


def _either(atoms: Iterable[str]) -> str:
    return "^(?:" + "|".join(sorted(set(atoms))) + ")$"


def url_form(channel: str) -> str:
    """The pattern of a channel's ``url``."""
    return _either(_url_atoms(channel))


def any_url(names: tuple[str, ...]) -> str:
    """The pattern of a url some available channel of ``names`` takes (a change of url is
    checked against its own channel once the subscription is known)."""
    return _either(atom for name in channels(names) for atom in _url_atoms(name))


def check_form(spec: SubscriptionSpec, names: tuple[str, ...]) -> None:
    """FieldError unless the channel is available here and its url has the channel's form:
    what the document states of a url beyond the rules every stored subscription passes."""
    if spec.channel not in channels(names):
        raise FieldError("channel", f"{spec.channel} extra not installed")
    if not matches(url_form(spec.channel), spec.url):
        raise FieldError("url", f"not a {spec.channel} URL (the document gives its pattern)")


def _string(pattern: str) -> dict[str, Any]:
    return {"type": "string", "pattern": pattern}


def _options(required: list[str], **props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props,
            "additionalProperties": False}  # fmt: skip


NO_OPTIONS: dict[str, Any] = {"type": "object", "maxProperties": 0}
NO_SECRET: dict[str, Any] = {"type": "null"}
MESSAGE: dict[str, Any] = {"const": "message"}
CHAT_OPTIONS = _options(["channel"], channel=_string(SLACK_CHANNEL))


def _branch(channel: str, required: list[str], **props: dict[str, Any]) -> dict[str, Any]:
    url = {"type": "string", "pattern": url_form(channel)}
    return {
        "properties": {"channel": {"const": channel}, "url": url, **props},
        "required": ["channel", *required],
    }


def branches(names: tuple[str, ...]) -> list[dict[str, Any]]:
    """One schema per way a channel may be subscribed to (slack and discord: with a bot token
    or without), for the channels of ``names`` available here."""
    live = {"const": "live"}
    bot = _string(SLACK_BOT_TOKEN)
    found = {
        "webhook": [_branch("webhook", ["url"], secret=_string(WEBHOOK_SECRET),
                            options=NO_OPTIONS, style=MESSAGE)],
        "slack": [
            _branch("slack", ["url"], secret=NO_SECRET, options=NO_OPTIONS, style=MESSAGE,
                    url={"type": "string", "minLength": 1, "pattern": URL_OR_PATH}),
            _branch("slack", ["url", "secret", "options"], secret=bot, options=CHAT_OPTIONS,
                    style=MESSAGE, url={"type": "string", "minLength": 1, "pattern": URL_OR_PATH}),
            _branch("slack", ["style", "secret", "options"], secret=bot, options=CHAT_OPTIONS,
                    style=live, url={"type": "string", "maxLength": 0}),
        ],
        "discord": [
            _branch("discord", ["url"], secret=NO_SECRET, options=NO_OPTIONS),
            _branch("discord", ["url", "secret"], secret=_string(DISCORD_BOT_TOKEN),
                    options=NO_OPTIONS, url=_string(DISCORD_CHANNEL_PATH)),
        ],
        "telegram": [_branch("telegram", ["secret", "options"], secret=_string(TELEGRAM_TOKEN),
                             options=_options(["chat_id"], chat_id=_CHAT, message_thread_id=_INT))],
        "ntfy": [_branch("ntfy", ["options"], style=MESSAGE, options=_options(
            ["topic"], topic=_string(NTFY_TOPIC),
            priority={"type": "integer", "minimum": 1, "maximum": 5}))],
        "apprise": [_branch("apprise", ["url"], secret=NO_SECRET, options=NO_OPTIONS,
                            style=MESSAGE)],
        "mqtt": [_branch("mqtt", ["url"], style=MESSAGE, options=_options(
            [], username=_string(MQTT_USER), team=_string(MQTT_USER),
            base_topic=_string(MQTT_TOPIC), discovery_prefix=_string(MQTT_TOPIC)))],
        "webpush": [_branch("webpush", ["url", "options"], secret=NO_SECRET, style=MESSAGE,
                            options=_options(["p256dh", "auth"], p256dh=_string(P256DH),
                                             auth=_string(AUTH_SECRET), lang=_string(LANG_TAG)))],
        "email": [_branch("email", ["url"], secret=NO_SECRET, style=MESSAGE, options=_options(
            [], lang=_string(LANG_TAG), digest={"type": "boolean"}))],
    }  # fmt: skip
    return [b for name in channels(names) for b in found[name]]


_INT = {"type": "integer", "minimum": -I64 - 1, "maximum": I64}
_CHAT = {"anyOf": [_INT, _string(CHAT_ID)]}
# A live message only where it can be edited, without a digest; live goals only with it.
STYLE_RULES: list[dict[str, Any]] = [
    {"anyOf": [{"properties": {"style": MESSAGE}}, {"properties": {"digest": {"type": "null"}}}]},
    {
        "anyOf": [
            {"properties": {"live_goals": {"const": False}}},
            {"required": ["style"], "properties": {"style": {"const": "live"}}},
        ]
    },
]
