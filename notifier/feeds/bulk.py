"""Bulk polling, provider-neutral and pure: a due match, a planned request, one match's part of
a bulk answer, and the helpers every provider's :meth:`~notifier.feeds.base.Provider.split` and
:meth:`~notifier.feeds.base.Provider.plan` share.

What each provider asks in bulk lives in its package (``notifier/feeds/<name>/provider.py``):

* API-Football: ``/fixtures?ids=A-B-C`` (at most ``max_ids``, 20, per request: each item comes
  with its events and lineups), or ``/fixtures?live=all`` once a group has ``live_all_min``
  live matches (matches not in play, before kick-off or just finished, still go by ``ids``).
* football-data: ``/v4/matches?ids=A,B,C``.
* ESPN: the league's ``scoreboard`` (``dates`` of the kick-off day, US Eastern, where known).

A bulk answer is split item by item, each parsed on its own: one malformed match is parked
without costing the others their poll. A whole answer that is not the provider's shape (an
error envelope, not JSON) is one :class:`FeedError` for the request.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from notifier.domain.models import MatchSnapshot, MatchStatus
from notifier.domain.watch import Watch
from notifier.errors import FeedParseError
from notifier.feeds.requests import Request

if TYPE_CHECKING:
    from notifier.settings import ProviderSettings


@dataclass(frozen=True)
class Due:
    """A match to poll now, with the status it was last seen in."""

    watch: Watch
    status: MatchStatus | None = None


@dataclass(frozen=True)
class Planned:
    """One request and the matches (ids) it is meant to answer for."""

    request: Request
    matches: tuple[str, ...]


@dataclass(frozen=True)
class Item:
    """One match's part of a bulk answer: its snapshot, or why it could not be read."""

    match_id: str | None
    raw: dict[str, Any]
    snapshot: MatchSnapshot | None = None
    error: str | None = None
    note: str | None = None  # something the adapter had to leave out (worth a dead letter)

    def body(self) -> bytes:
        """The raw item as JSON (for the dead-letter stream)."""
        return orjson.dumps(self.raw)


def bucket(watch: Watch, groups: int) -> str:
    """A stable lease group of ``groups`` for a match, from its key."""
    return str(zlib.crc32(watch.key.encode()) % max(1, groups))


def ids(due: Sequence[Due]) -> tuple[str, ...]:
    """The match ids of some due matches, in order."""
    return tuple(d.watch.match_id for d in due)


def by_ids(due: Sequence[Due], max_ids: int, path: str, sep: str) -> list[Planned]:
    """``path?ids=A<sep>B<sep>C`` requests of at most ``max_ids`` matches each."""
    out = []
    for start in range(0, len(due), max_ids):
        chunk = ids(due[start : start + max_ids])
        out.append(Planned(Request(path, (("ids", sep.join(chunk)),)), chunk))
    return out


def read_item(
    raw: Any,
    id_of: Callable[[dict[str, Any]], str | None],
    parser: Callable[[dict[str, Any]], MatchSnapshot],
) -> Item:
    """One item of a bulk answer: its snapshot, or why it could not be read."""
    if not isinstance(raw, dict):
        return Item(None, {"item": raw}, error=f"item is {type(raw).__name__}, not an object")
    match_id = id_of(raw)
    try:
        return Item(match_id, raw, snapshot=parser(raw))
    except FeedParseError as exc:
        return Item(match_id, raw, error=str(exc))
    except ValueError as exc:  # pydantic's ValidationError: a contradiction in the item
        return Item(match_id, raw, error=f"contradictory item: {exc}"[:500])


def plain_id(raw: dict[str, Any]) -> str | None:
    """An item's top-level ``id`` as a string (None unless a string or an integer)."""
    return id_text(raw.get("id"))


def id_text(value: object) -> str | None:
    """An id value as a string (None unless a string or an integer)."""
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None


def item_list(data: dict[str, Any], key: str) -> list[Any]:
    """The answer's list of items under ``key``; FeedParseError when there is none."""
    value = data.get(key)
    if not isinstance(value, list):
        raise FeedParseError(f"the answer has no {key!r} list")
    return value


def lineups_request_needed(item: Item, lineups_wanted: bool, settings: ProviderSettings) -> bool:
    """Whether an item that came without lineups should be asked for alone (in the lineup window,
    where the provider's plan has them)."""
    snap = item.snapshot
    return snap is not None and lineups_wanted and settings.lineups and snap.lineups is None


def own_match(snapshots: Sequence[MatchSnapshot], match_id: str | None) -> MatchSnapshot:
    """The snapshot of ``match_id`` in a per-match answer; FeedParseError when it is not there."""
    found = [s for s in snapshots if s.match_id == str(match_id)]
    if not found:
        raise FeedParseError(f"match {match_id} not in its own answer")
    return found[0]
