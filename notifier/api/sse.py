"""Server-Sent Events of alerts, the pure part: event ids (stream positions), frames, filters,
and the index that finds the clients an alert is for without asking each one.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from notifier.channels.subscriptions import fold, team_names
from notifier.domain.texts import load, to_text

ENTRY_ID = re.compile(r"^[0-9]{1,20}(-[0-9]{1,20})?$")
U64_MAX = 2**64 - 1  # a stream id's parts are unsigned 64-bit: larger is a Redis error
Key = tuple[str, str]  # an index entry: ("team" | "match" | "tie" | "competition", value)
EVERYTHING: Key = ("", "")  # where filters that follow nothing in particular are indexed
M = TypeVar("M", bound=Hashable)


def id_key(entry_id: str) -> tuple[int, int]:
    """A stream entry id as a comparable pair."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def encode_position(position: Sequence[str]) -> str:
    """The SSE id of a position: the entry id, or ``p:id`` pairs with several partitions."""
    if len(position) == 1:
        return position[0]
    return ",".join(f"{p}:{i}" for p, i in enumerate(position))


def _entry_ok(entry_id: str) -> bool:
    """A well-formed stream id whose parts fit in 64 bits (checked here, not by a failing XRANGE
    inside an event stream already answered 200)."""
    return bool(ENTRY_ID.match(entry_id)) and max(id_key(entry_id)) <= U64_MAX


def parse_position(text: str, partitions: int) -> list[str]:
    """A position from an SSE id (ValueError if malformed); a bare id holds for every partition."""
    text = text.strip()
    if _entry_ok(text):
        return [text] * partitions
    pairs: dict[int, str] = {}
    for part in text.split(","):
        p, sep, entry = part.strip().partition(":")
        if not sep or not p.isdigit() or int(p) >= partitions or not _entry_ok(entry):
            raise ValueError(f"not an event id of this stream: {text[:60]!r}")
        pairs[int(p)] = entry
    floor = min(pairs.values(), key=id_key)  # a partition left out: the earliest given
    return [pairs.get(p, floor) for p in range(partitions)]


@dataclass(frozen=True, slots=True)
class AlertInfo:
    """What filters look at, and the alert's JSON."""

    kind: str
    match: str
    tie: str
    competition: str
    teams: frozenset[str]
    body: bytes

    def index(self) -> list[Key]:
        """The index entries the alert is found under (what :meth:`Filter.wants` looks at)."""
        pairs = [("team", t) for t in self.teams]
        pairs.append(("match", self.match))
        if self.tie:
            pairs.append(("tie", self.tie))
        if self.competition:
            pairs.append(("competition", self.competition))
        return pairs


def entry_info(fields: Mapping[bytes, bytes], aliases: Mapping[str, str]) -> AlertInfo | None:
    """The routing facts of an alert-stream entry, or None if it is not a readable alert."""
    body = fields.get(b"body", b"")
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        return None
    if b"\n" in body or b"\r" in body:
        body = orjson.dumps(data)  # an SSE data line must be one line
    home, away = str(data.get("home", "")), str(data.get("away", ""))
    return AlertInfo(
        kind=data["kind"],
        match=str(data.get("match", "")),
        tie=str(data.get("tie") or ""),
        competition=fold(str(data.get("competition") or "")),
        teams=frozenset(team_names(home, away, aliases=aliases)),
        body=body,
    )


@dataclass(frozen=True, slots=True)
class Filter:
    """What a client follows (nothing: everything) and which kinds (nothing: every kind)."""

    teams: frozenset[str] = frozenset()
    matches: frozenset[str] = frozenset()
    ties: frozenset[str] = frozenset()
    competitions: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    lang: str = ""  # the language of the texts ("": as stored, English)

    def wants(self, info: AlertInfo) -> bool:
        """Whether the alert passes this filter."""
        if self.kinds and info.kind not in self.kinds:
            return False
        if not (self.teams or self.matches or self.ties or self.competitions):
            return True
        return bool(
            self.teams & info.teams
            or info.match in self.matches
            or (info.tie and info.tie in self.ties)
            or (info.competition and info.competition in self.competitions)
        )

    def index(self) -> list[Key]:
        """The index entries this filter follows (none: it follows everything)."""
        return (
            [("team", t) for t in self.teams]
            + [("match", m) for m in self.matches]
            + [("tie", t) for t in self.ties]
            + [("competition", c) for c in self.competitions]
        )


class FilterIndex(Generic[M]):
    """Members grouped by filter, and the filters by what they follow.

    The members an alert is for are those of the groups under the alert's index entries or
    following everything, less the groups whose kinds leave it out: a few lookups and one test
    per distinct filter, however many clients share it.
    """

    def __init__(self) -> None:
        self._groups: dict[Filter, dict[M, None]] = {}  # dicts as insertion-ordered sets
        self._following: dict[Key, set[Filter]] = {}
        self._count = 0

    def add(self, flt: Filter, member: M) -> None:
        """Index ``member`` under ``flt``."""
        group = self._groups.get(flt)
        if group is None:
            group = self._groups[flt] = {}
            for key in flt.index() or [EVERYTHING]:
                self._following.setdefault(key, set()).add(flt)
        if member not in group:
            group[member] = None
            self._count += 1

    def discard(self, flt: Filter, member: M) -> None:
        """Forget ``member`` (indexed under ``flt``), if it is there."""
        group = self._groups.get(flt)
        if group is None or member not in group:
            return
        del group[member]
        self._count -= 1
        if group:
            return
        del self._groups[flt]
        for key in flt.index() or [EVERYTHING]:
            followers = self._following[key]
            followers.discard(flt)
            if not followers:
                del self._following[key]

    def wanting(self, info: AlertInfo) -> list[M]:
        """The members whose filter wants ``info`` (a list: the index may change meanwhile)."""
        found = set(self._following.get(EVERYTHING, ()))
        for key in info.index():
            found.update(self._following.get(key, ()))
        out: list[M] = []
        for flt in found:
            if not flt.kinds or info.kind in flt.kinds:
                out += self._groups[flt]
        return out

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[M]:
        for group in list(self._groups.values()):
            yield from list(group)

    def __contains__(self, member: object) -> bool:
        return any(member in group for group in self._groups.values())


def localised_body(
    body: bytes, lang: str, names: Mapping[str, Mapping[str, str]] | None = None
) -> bytes:
    """An alert's JSON with its text in ``lang`` (and ``lang`` said), made from its parts."""
    data: Any = orjson.loads(body)
    parts = data.get("parts") if isinstance(data, dict) else None
    if not parts or not isinstance(parts, list):
        return body
    local = (names or {}).get(lang, {})
    home, away = str(data.get("home", "")), str(data.get("away", ""))
    teams = {"home": local.get(home, home), "away": local.get(away, away)}
    try:
        data["text"] = to_text(load(parts), lang, teams)
    except (KeyError, ValueError, TypeError, IndexError):
        return body  # parts this version cannot read: the stored text stands
    data["lang"] = lang
    return orjson.dumps(data)


def frame(event_id: str, body: bytes) -> bytes:
    """One SSE event."""
    return b"id: " + event_id.encode() + b"\nevent: alert\ndata: " + body + b"\n\n"


def chunk(data: bytes) -> bytes:
    """``data`` framed as one HTTP/1.1 chunk."""
    return b"%x\r\n%b\r\n" % (len(data), data)
