"""Typed reads from untrusted provider JSON, shared by the adapters. Pure.

Every reader raises :class:`FeedParseError` when a field has the wrong type, so an adapter
never lets a ``KeyError`` or ``TypeError`` escape on a malformed payload.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from notifier.domain.models import Score
from notifier.errors import FeedParseError

JsonObj = dict[str, Any]

# Unknown values already logged, per (logger, field, value); bounded so junk input cannot
# grow it without limit (past the bound, unknown values are simply logged every time).
_SEEN_UNKNOWN: set[tuple[str, str, str]] = set()
_SEEN_LIMIT = 1024
_BIG = 10**15  # beyond any count, id or epoch time (ms); below float precision loss


def load(body: bytes | JsonObj) -> JsonObj:
    """The body as a JSON object; bytes are decoded, anything else is a FeedParseError."""
    if isinstance(body, dict):
        return body
    if not isinstance(body, bytes | bytearray | memoryview | str):
        raise FeedParseError(f"body is {type(body).__name__}, not bytes or a JSON object")
    raw = bytes(body, "utf-8") if isinstance(body, str) else bytes(body)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FeedParseError(f"body is not JSON: {exc}", payload=raw) from exc
    if not isinstance(data, dict):
        raise FeedParseError("body is not a JSON object", payload=raw)
    return data


def obj(data: JsonObj, key: str) -> JsonObj:
    """A nested object; missing or null gives ``{}``."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FeedParseError(f"{key!r} is {type(value).__name__}, expected an object")
    return value


def objs(data: JsonObj, key: str) -> list[JsonObj]:
    """A list of objects; missing or null gives ``[]``."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise FeedParseError(f"{key!r} is not a list of objects")
    return value


def text(data: JsonObj, key: str) -> str | None:
    """A string (an integer id is accepted and turned into one); missing or null gives None."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**18:
        return str(value)
    raise FeedParseError(f"{key!r} is {shown(value):.40}, expected a string")


def need_text(data: JsonObj, key: str) -> str:
    """A string that must be there and not be empty."""
    value = text(data, key)
    if not value:
        raise FeedParseError(f"{key!r} is missing")
    return value


def to_int(value: object, what: str) -> int | None:
    """An integer from an int, an integral float or a numeric string; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FeedParseError(f"{what} is a boolean, expected a number")
    if isinstance(value, int | float | str):
        n = _whole(value)
        if n is not None and -_BIG < n < _BIG:
            return n
    raise FeedParseError(f"{what} is {shown(value):.40}, expected a whole number")


def _whole(value: float | str) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return int(value.strip()) if len(value) < 20 else None
    except ValueError:
        return None


def number(data: JsonObj, key: str) -> int | None:
    """An integer field (see :func:`to_int`)."""
    return to_int(data.get(key), repr(key))


def count(value: object, what: str) -> int | None:
    """A non-negative integer (goals, minutes); negative is a FeedParseError."""
    n = to_int(value, what)
    if n is not None and n < 0:
        raise FeedParseError(f"{what} is negative: {n}")
    return n


def score_pair(data: JsonObj, key: str) -> Score | None:
    """``{"home": h, "away": a}`` as a Score; None unless both sides are numbers."""
    pair = obj(data, key)
    home = count(pair.get("home"), f"{key}.home")
    away = count(pair.get("away"), f"{key}.away")
    if home is None or away is None:
        return None
    return Score(home=home, away=away)


def timestamp(value: object, what: str) -> datetime | None:
    """An ISO-8601 time as an aware UTC datetime ("Z" and minute precision accepted)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FeedParseError(f"{what} is {type(value).__name__}, expected a time")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise FeedParseError(f"{what} is not an ISO time: {value!r:.60}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def warn_unknown(log: logging.Logger, provider: str, field: str, value: object) -> None:
    """Log an unknown provider value once per process (bounded), as ``unknown_<field>``."""
    printable = shown(value)
    key = (log.name, field, printable)
    if key in _SEEN_UNKNOWN:
        return
    if len(_SEEN_UNKNOWN) < _SEEN_LIMIT:
        _SEEN_UNKNOWN.add(key)
    log.warning(f"unknown_{field}", extra={"provider": provider, "value": printable})


def shown(value: object) -> str:
    """A short printable form of any JSON value (a string as itself), safe for huge numbers."""
    if isinstance(value, str):
        return value[:200]
    try:
        return repr(value)[:200]
    except ValueError:  # an integer too long to print
        return f"<{type(value).__name__}>"
