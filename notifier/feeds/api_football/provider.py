"""API-Football v3 as a :class:`~notifier.feeds.base.Provider`. Pure.

Bulk: ``/fixtures?ids=A-B-C`` (each item with its events and lineups), or ``/fixtures?live=all``
once a group has ``live_all_min`` live matches. An item without ``events`` while live is asked
again alone (``/fixtures?id=``); lineups missing in the lineup window come from
``/fixtures/lineups?fixture=``. Discovery: ``/fixtures?league=&season=&from=&to=``. Its error
document (HTTP 200, non-empty ``errors``) is read by :func:`.parse.check` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from notifier.domain.models import LIVE_STATUSES, MatchSnapshot
from notifier.domain.watch import Watch
from notifier.errors import FeedParseError
from notifier.feeds import bulk
from notifier.feeds import fields as f
from notifier.feeds.api_football import catalog
from notifier.feeds.api_football.parse import PROVIDER, check, parse_fixture, parse_response
from notifier.feeds.bulk import Due, Item, Planned
from notifier.feeds.catalog import LeagueInfo, TeamInfo
from notifier.feeds.requests import Request

if TYPE_CHECKING:
    from notifier.settings import FollowSettings, ProviderSettings

JsonObj = dict[str, Any]


class ApiFootball:
    """API-Football (api-sports.io): key in ``x-apisports-key``."""

    name = PROVIDER
    needs_key = True

    def auth_headers(self, key: str) -> dict[str, str]:
        """``x-apisports-key``."""
        return {"x-apisports-key": key}

    def check(self, data: JsonObj, payload: bytes | None = None) -> JsonObj:
        """See :func:`notifier.feeds.api_football.parse.check`."""
        return check(data, payload)

    def group_of(self, watch: Watch, groups: int) -> str:
        """A stable bucket of the match key."""
        return bulk.bucket(watch, groups)

    def plan(self, due: Sequence[Due], settings: ProviderSettings) -> list[Planned]:
        """``live=all`` for a group with many live matches, ``ids`` for the rest."""
        if not due:
            return []
        out: list[Planned] = []
        rest = list(due)
        if settings.live_all_min:
            live = [d for d in due if d.status in LIVE_STATUSES]
            if len(live) >= settings.live_all_min:
                out.append(Planned(Request("/fixtures", (("live", "all"),)), bulk.ids(live)))
                rest = [d for d in due if d not in live]
        return out + bulk.by_ids(rest, settings.max_ids, "/fixtures", "-")

    def split(self, body: bytes) -> list[Item]:
        """The fixtures of a ``/fixtures`` answer, each noted when a goal names no team."""
        data = check(f.load(body))
        return [_noted(bulk.read_item(i, _fixture_id, parse_fixture)) for i in _response(data)]

    def detail_request(
        self, item: Item, watch: Watch, lineups_wanted: bool, settings: ProviderSettings
    ) -> Request | None:
        """The whole fixture when a live item lacks its events; else its lineups, when wanted
        and missing."""
        snap = item.snapshot
        if snap is None:
            return None
        if "events" not in item.raw and snap.status in LIVE_STATUSES:
            return self.match_request(watch.match_id)
        if lineups_wanted and "lineups" not in item.raw and settings.lineups:
            return Request("/fixtures/lineups", (("fixture", watch.match_id),))
        return None

    def merge_detail(self, item: Item, body: bytes) -> MatchSnapshot:
        """A lineups answer added to the item, or the item's own fixture from ``?id=``."""
        data = check(f.load(body))
        if data.get("get") == "fixtures/lineups":
            return parse_fixture({**item.raw, "lineups": _response(data)})
        items = [
            i for i in _response(data) if isinstance(i, dict) and _fixture_id(i) == item.match_id
        ]
        if not items:
            raise FeedParseError(f"fixture {item.match_id} not in its own answer")
        return parse_fixture(items[0])

    def match_request(self, match_id: str, league: str | None = None) -> Request:
        """``/fixtures?id=`` (events and lineups included)."""
        return Request("/fixtures", (("id", match_id),))

    def parse(self, body: bytes | JsonObj) -> list[MatchSnapshot]:
        """Every fixture of a ``/fixtures`` answer."""
        return parse_response(body)

    def fixtures_request(
        self, spec: FollowSettings, start: date, end: date, now: datetime
    ) -> Request:
        """``/fixtures?league=&season=&from=&to=`` (the season: the configured one, else this
        year)."""
        season = str(spec.season or now.year)
        params = (("league", spec.league), ("season", season))
        return Request("/fixtures", (*params, ("from", start.isoformat()), ("to", end.isoformat())))

    def watch_league(self, league: str) -> str | None:
        """None: a fixture id is enough."""
        return None

    def leagues_request(self) -> Request:
        """``/leagues?current=true``."""
        return catalog.leagues_request()

    def parse_leagues(self, body: JsonObj) -> list[LeagueInfo]:
        """Competitions with their current season."""
        return catalog.parse_leagues(body)

    def search_request(self, query: str) -> Request | None:
        """``/teams?search=``."""
        return catalog.search_request(query)

    def teams_request(self, league: str) -> Request | None:
        """None: its search covers every competition."""
        return None

    def parse_teams(self, body: JsonObj, league: str | None) -> list[TeamInfo]:
        """The teams of a ``/teams`` answer."""
        return catalog.parse_teams(body)

    def team_leagues_request(self, team_id: str) -> Request | None:
        """``/leagues?team=&current=true``."""
        return catalog.leagues_request(team_id)


def _noted(item: Item) -> Item:
    """An item whose goal events name no team: the adapter leaves them out (the score still
    counts them), and the poller parks the item once so someone can look."""
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


def _fixture_id(raw: JsonObj) -> str | None:
    fixture = raw.get("fixture")
    return bulk.id_text(fixture.get("id")) if isinstance(fixture, dict) else None


def _response(data: JsonObj) -> list[Any]:
    return bulk.item_list(data, "response")
