"""football-data.org v4 as a :class:`~notifier.feeds.base.Provider`. Pure.

Bulk: ``/v4/matches?ids=A,B,C``; a match's lineups, where the plan has them, from
``/v4/matches/{id}``. Discovery: ``/v4/competitions/{code}/matches?dateFrom=&dateTo=``. No team
search: the finder reads the teams of competitions (``/v4/competitions/{code}/teams``). Its
error document is read by :func:`.parse.check` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from notifier.domain.models import MatchSnapshot
from notifier.domain.watch import Watch
from notifier.feeds import bulk
from notifier.feeds import fields as f
from notifier.feeds.bulk import Due, Item, Planned
from notifier.feeds.catalog import LeagueInfo, TeamInfo
from notifier.feeds.football_data import catalog
from notifier.feeds.football_data.parse import PROVIDER, check, parse_match, parse_response
from notifier.feeds.requests import Request

if TYPE_CHECKING:
    from notifier.settings import FollowSettings, ProviderSettings

JsonObj = dict[str, Any]


class FootballData:
    """football-data.org: token in ``X-Auth-Token``."""

    name = PROVIDER
    needs_key = True

    def auth_headers(self, key: str) -> dict[str, str]:
        """``X-Auth-Token``."""
        return {"X-Auth-Token": key}

    def check(self, data: JsonObj, payload: bytes | None = None) -> JsonObj:
        """See :func:`notifier.feeds.football_data.parse.check`."""
        return check(data, payload)

    def group_of(self, watch: Watch, groups: int) -> str:
        """A stable bucket of the match key."""
        return bulk.bucket(watch, groups)

    def plan(self, due: Sequence[Due], settings: ProviderSettings) -> list[Planned]:
        """``/v4/matches?ids=`` of at most ``max_ids`` matches each."""
        return bulk.by_ids(list(due), settings.max_ids, "/v4/matches", ",")

    def split(self, body: bytes) -> list[Item]:
        """The matches of a ``matches`` answer."""
        data = check(f.load(body))
        return [
            bulk.read_item(m, bulk.plain_id, parse_match) for m in bulk.item_list(data, "matches")
        ]

    def detail_request(
        self, item: Item, watch: Watch, lineups_wanted: bool, settings: ProviderSettings
    ) -> Request | None:
        """The match alone, for lineups the list lacks."""
        if bulk.lineups_request_needed(item, lineups_wanted, settings):
            return self.match_request(watch.match_id)
        return None

    def merge_detail(self, item: Item, body: bytes) -> MatchSnapshot:
        """The match of its own answer."""
        return bulk.own_match(parse_response(body), item.match_id)

    def match_request(self, match_id: str, league: str | None = None) -> Request:
        """``/v4/matches/{id}``."""
        return Request(f"/v4/matches/{match_id}")

    def parse(self, body: bytes | JsonObj) -> list[MatchSnapshot]:
        """Every match of a list or single-match answer."""
        return parse_response(body)

    def fixtures_request(
        self, spec: FollowSettings, start: date, end: date, now: datetime
    ) -> Request:
        """``/v4/competitions/{code}/matches?dateFrom=&dateTo=`` (and the season, when set)."""
        window = [("dateFrom", start.isoformat()), ("dateTo", end.isoformat())]
        if spec.season is not None:
            window.append(("season", str(spec.season)))
        return Request(f"/v4/competitions/{spec.league}/matches", tuple(window))

    def watch_league(self, league: str) -> str | None:
        """None: a match id is enough."""
        return None

    def leagues_request(self) -> Request:
        """``/v4/competitions``."""
        return catalog.leagues_request()

    def parse_leagues(self, body: JsonObj) -> list[LeagueInfo]:
        """The competitions the plan covers."""
        return catalog.parse_leagues(body)

    def search_request(self, query: str) -> Request | None:
        """None: no team search."""
        return None

    def teams_request(self, league: str) -> Request | None:
        """``/v4/competitions/{code}/teams``."""
        return catalog.teams_request(league)

    def parse_teams(self, body: JsonObj, league: str | None) -> list[TeamInfo]:
        """The teams of one competition."""
        return catalog.parse_teams(body, league or "")

    def team_leagues_request(self, team_id: str) -> Request | None:
        """None: a team's competitions are those it was found in."""
        return None
