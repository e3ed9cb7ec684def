"""ESPN's site API as a :class:`~notifier.feeds.base.Provider`. Pure.

Everything is per league: bulk is the league's ``scoreboard`` (``dates`` of the kick-off day,
US Eastern, where known), a match alone is ``{league}/summary?event=``, discovery is the
scoreboard of a date range. So a watch keeps its league and the poller's lease groups are
leagues. No key, no team search (the finder reads ``{league}/teams``), and no error document in
a 200 answer: ESPN's errors come with an HTTP error status.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from notifier.domain.models import MatchSnapshot
from notifier.domain.watch import Watch
from notifier.feeds import bulk
from notifier.feeds import fields as f
from notifier.feeds.bulk import Due, Item, Planned
from notifier.feeds.catalog import LeagueInfo, TeamInfo
from notifier.feeds.espn import catalog
from notifier.feeds.espn.parse import PROVIDER, parse_event, parse_response
from notifier.feeds.requests import Request

if TYPE_CHECKING:
    from notifier.settings import FollowSettings, ProviderSettings

JsonObj = dict[str, Any]
SOCCER = "/apis/site/v2/sports/soccer"
DAY_SHIFT = timedelta(hours=-5)  # ESPN's scoreboard days are US Eastern (EST here)


class Espn:
    """ESPN's public site API: no key."""

    name = PROVIDER
    needs_key = False

    def auth_headers(self, key: str) -> dict[str, str]:
        """None: a key would not be read."""
        return {}

    def check(self, data: JsonObj, payload: bytes | None = None) -> JsonObj:
        """``data``: ESPN has no error document in a 200 answer."""
        return data

    def group_of(self, watch: Watch, groups: int) -> str:
        """The match's league (one scoreboard request covers it)."""
        return watch.league or "all"

    def plan(self, due: Sequence[Due], settings: ProviderSettings) -> list[Planned]:
        """One scoreboard request per league and kick-off day."""
        by_request: dict[Request, list[str]] = {}
        for d in due:
            league = d.watch.league or "all"
            params: tuple[tuple[str, str], ...] = ()
            if d.watch.kickoff is not None:
                params = (("dates", (d.watch.kickoff + DAY_SHIFT).strftime("%Y%m%d")),)
            path = f"{SOCCER}/{league}/scoreboard"
            by_request.setdefault(Request(path, params), []).append(d.watch.match_id)
        return [Planned(req, tuple(ids)) for req, ids in by_request.items()]

    def split(self, body: bytes) -> list[Item]:
        """The events of a scoreboard, each with its league's name."""
        data = f.load(body)
        leagues = {f.text(lg, "id"): f.text(lg, "name") for lg in f.objs(data, "leagues")}
        return [
            bulk.read_item(e, bulk.plain_id, lambda e: parse_event(e, leagues))
            for e in bulk.item_list(data, "events")
        ]

    def detail_request(
        self, item: Item, watch: Watch, lineups_wanted: bool, settings: ProviderSettings
    ) -> Request | None:
        """The match's summary, for lineups the scoreboard lacks."""
        if bulk.lineups_request_needed(item, lineups_wanted, settings):
            return self.match_request(watch.match_id, watch.league)
        return None

    def merge_detail(self, item: Item, body: bytes) -> MatchSnapshot:
        """The match of its summary."""
        return bulk.own_match(parse_response(body), item.match_id)

    def match_request(self, match_id: str, league: str | None = None) -> Request:
        """``{league}/summary?event=`` (``all`` when the league is not known)."""
        return Request(f"{SOCCER}/{league or 'all'}/summary", (("event", match_id),))

    def parse(self, body: bytes | JsonObj) -> list[MatchSnapshot]:
        """Every match of a scoreboard or summary."""
        return parse_response(body)

    def fixtures_request(
        self, spec: FollowSettings, start: date, end: date, now: datetime
    ) -> Request:
        """``{league}/scoreboard?dates=FROM-TO``."""
        dates = f"{start:%Y%m%d}-{end:%Y%m%d}"
        return Request(f"{SOCCER}/{spec.league}/scoreboard", (("dates", dates),))

    def watch_league(self, league: str) -> str | None:
        """The league: every request about the match names it."""
        return league

    def leagues_request(self) -> Request:
        """``soccer/leagues``."""
        return catalog.leagues_request()

    def parse_leagues(self, body: JsonObj) -> list[LeagueInfo]:
        """Every soccer competition."""
        return catalog.parse_leagues(body)

    def search_request(self, query: str) -> Request | None:
        """None: no team search."""
        return None

    def teams_request(self, league: str) -> Request | None:
        """``soccer/{league}/teams``."""
        return catalog.teams_request(league)

    def parse_teams(self, body: JsonObj, league: str | None) -> list[TeamInfo]:
        """The teams of one competition."""
        return catalog.parse_teams(body, league or "")

    def team_leagues_request(self, team_id: str) -> Request | None:
        """None: a team's competitions are those it was found in."""
        return None
