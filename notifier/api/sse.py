"""Server-Sent Events of alerts, the pure part: event ids (stream positions), frames, filters."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from notifier.subscriptions import fold, team_names

ENTRY_ID = re.compile(r"^[0-9]{1,20}(-[0-9]{1,20})?$")


def id_key(entry_id: str) -> tuple[int, int]:
    """A stream entry id as a comparable pair."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def encode_position(position: Sequence[str]) -> str:
    """The SSE id of a position: the entry id, or ``p:id`` pairs with several partitions."""
    if len(position) == 1:
        return position[0]
    return ",".join(f"{p}:{i}" for p, i in enumerate(position))


def parse_position(text: str, partitions: int) -> list[str]:
    """A position from an SSE id (ValueError if malformed); a bare id holds for every partition."""
    text = text.strip()
    if ENTRY_ID.match(text):
        return [text] * partitions
    pairs: dict[int, str] = {}
    for part in text.split(","):
        p, sep, entry = part.strip().partition(":")
        if not sep or not p.isdigit() or int(p) >= partitions or not ENTRY_ID.match(entry):
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


def frame(event_id: str, body: bytes) -> bytes:
    """One SSE event."""
    return b"id: " + event_id.encode() + b"\nevent: alert\ndata: " + body + b"\n\n"


def chunk(data: bytes) -> bytes:
    """``data`` framed as one HTTP/1.1 chunk."""
    return b"%x\r\n%b\r\n" % (len(data), data)
