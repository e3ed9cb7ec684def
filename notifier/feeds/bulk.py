"""Bulk polling, pure: the few requests that cover a group's due matches, and each match's part
of a bulk answer.

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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from notifier.domain.models import LIVE_STATUSES, MatchSnapshot, MatchStatus
from notifier.domain.watch import Watch
from notifier.errors import FeedError, FeedParseError
from notifier.feeds import fields as f
from notifier.feeds.api_football.parse import parse_fixture
from notifier.feeds.base import parse
from notifier.feeds.espn.parse import parse_event
from notifier.feeds.football_data.parse import parse_match
from notifier.feeds.requests import Request, match_request
from notifier.settings import ProviderSettings

ESPN_DAY_SHIFT = timedelta(hours=-5)  # ESPN's scoreboard days are US Eastern (EST here)
QUOTA_WAIT_S = 3600.0  # API-Football's "request limit for the day" answer: look again in an hour


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


def group_of(watch: Watch, groups: int) -> str:
    """The lease group of a match: its league for ESPN, else a stable bucket of its key."""
    if watch.provider == "espn":
        return watch.league or "all"
    return str(zlib.crc32(watch.key.encode()) % max(1, groups))


def plan(provider: str, due: Sequence[Due], settings: ProviderSettings) -> list[Planned]:
    """The requests that cover ``due`` (matches of one group)."""
    if not due:
        return []
    if provider == "espn":
        return _espn(due)
    out: list[Planned] = []
    rest = list(due)
    if provider == "api-football" and settings.live_all_min:
        live = [d for d in due if d.status in LIVE_STATUSES]
        if len(live) >= settings.live_all_min:
            out.append(Planned(Request("/fixtures", (("live", "all"),)), _ids(live)))
            rest = [d for d in due if d not in live]
    sep, path = ("-", "/fixtures") if provider == "api-football" else (",", "/v4/matches")
    for start in range(0, len(rest), settings.max_ids):
        chunk = _ids(rest[start : start + settings.max_ids])
        out.append(Planned(Request(path, (("ids", sep.join(chunk)),)), chunk))
    return out


def _ids(due: Sequence[Due]) -> tuple[str, ...]:
    return tuple(d.watch.match_id for d in due)


def _espn(due: Sequence[Due]) -> list[Planned]:
    by_request: dict[Request, list[str]] = {}
    for d in due:
        league = d.watch.league or "all"
        params: tuple[tuple[str, str], ...] = ()
        if d.watch.kickoff is not None:
            params = (("dates", (d.watch.kickoff + ESPN_DAY_SHIFT).strftime("%Y%m%d")),)
        path = f"/apis/site/v2/sports/soccer/{league}/scoreboard"
        by_request.setdefault(Request(path, params), []).append(d.watch.match_id)
    return [Planned(req, tuple(ids)) for req, ids in by_request.items()]


def split(provider: str, body: bytes) -> list[Item]:
    """Each match of a bulk answer, parsed on its own; FeedError if the answer is not usable."""
    data = f.load(body)
    if provider == "api-football":
        return [_noted(_item(i, _af_id, parse_fixture)) for i in _af_items(data)]
    if provider == "football-data":
        return [_item(i, _fd_id, parse_match) for i in _fd_items(data)]
    if provider == "espn":
        leagues = {f.text(lg, "id"): f.text(lg, "name") for lg in f.objs(data, "leagues")}
        return [_item(e, _fd_id, lambda e: parse_event(e, leagues)) for e in _list(data, "events")]
    raise ValueError(f"unknown provider {provider!r}")


def _item(raw: Any, id_of: Any, parser: Any) -> Item:
    if not isinstance(raw, dict):
        return Item(None, {"item": raw}, error=f"item is {type(raw).__name__}, not an object")
    match_id = id_of(raw)
    try:
        return Item(match_id, raw, snapshot=parser(raw))
    except FeedParseError as exc:
        return Item(match_id, raw, error=str(exc))
    except ValueError as exc:  # pydantic's ValidationError: a contradiction in the item
        return Item(match_id, raw, error=f"contradictory item: {exc}"[:500])


def _noted(item: Item) -> Item:
    """An API-Football item whose goal events name no team: the adapter leaves them out (the
    score still counts them), and the poller parks the item once so someone can look."""
    events = item.raw.get("events")
    if item.snapshot is None or not isinstance(events, list):
        return item
    lost = [
        e.get("time", {}).get("elapsed") if isinstance(e.get("time"), dict) else None
        for e in events
        if isinstance(e, dict) and e.get("type") == "Goal" and not _team_named(e.get("team"))
    ]
    if not lost:
        return item
    minutes = ", ".join(f"{m}'" for m in lost)
    return Item(item.match_id, item.raw, item.snapshot, note=f"goal without a team at {minutes}")


def _team_named(team: object) -> bool:
    return isinstance(team, dict) and (team.get("id") is not None or bool(team.get("name")))


def _af_id(raw: dict[str, Any]) -> str | None:
    fixture = raw.get("fixture")
    value = fixture.get("id") if isinstance(fixture, dict) else None
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None


def _fd_id(raw: dict[str, Any]) -> str | None:
    value = raw.get("id")
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None


def _af_items(data: dict[str, Any]) -> list[Any]:
    errors = data.get("errors")
    if errors:
        text = orjson.dumps(errors).decode()[:300]
        if isinstance(errors, dict) and ({"requests", "rateLimit"} & set(errors)):
            wait = 60.0 if "rateLimit" in errors else QUOTA_WAIT_S
            raise FeedError(f"api-football: {text}", status=429, retry_after=wait)
        raise FeedError(f"api-football answered with errors: {text}", status=400)
    return _list(data, "response")


def _fd_items(data: dict[str, Any]) -> list[Any]:
    if "matches" not in data and ("errorCode" in data or "message" in data):
        status = data.get("errorCode")
        code = status if isinstance(status, int) and not isinstance(status, bool) else None
        raise FeedError(f"football-data error: {f.shown(data.get('message'))}", status=code)
    return _list(data, "matches")


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise FeedParseError(f"the answer has no {key!r} list")
    return value


def detail_request(
    provider: str, item: Item, watch: Watch, lineups_wanted: bool, settings: ProviderSettings
) -> Request | None:
    """The one per-match request a bulk item needs, if any: events it lacks, or its lineups."""
    snap = item.snapshot
    if snap is None:
        return None
    if provider == "api-football":
        if "events" not in item.raw and snap.status in LIVE_STATUSES:
            return match_request(provider, watch.match_id)
        if lineups_wanted and "lineups" not in item.raw and settings.lineups:
            return Request("/fixtures/lineups", (("fixture", watch.match_id),))
        return None
    if lineups_wanted and settings.lineups and snap.lineups is None:
        return match_request(provider, watch.match_id, watch.league)
    return None


def merge_detail(provider: str, item: Item, body: bytes) -> MatchSnapshot:
    """The snapshot of a bulk item completed by its detail answer (FeedParseError if bad)."""
    if provider == "api-football":
        data = f.load(body)
        if data.get("get") == "fixtures/lineups":
            return parse_fixture({**item.raw, "lineups": _af_items(data)})
        items = [i for i in _af_items(data) if isinstance(i, dict) and _af_id(i) == item.match_id]
        if not items:
            raise FeedParseError(f"fixture {item.match_id} not in its own answer")
        return parse_fixture(items[0])
    found = parse(provider, body, match=item.match_id)
    if not found:
        raise FeedParseError(f"match {item.match_id} not in its own answer")
    return found[0]
