"""ESPN site API adapter (``soccer/{league}/scoreboard`` and ``summary?event=``). Pure.

Quirks, and what we do about them:

- One snapshot per ``events[]`` item of a scoreboard; a summary gives one snapshot from
  ``header.competitions[0]`` (its ``keyEvents`` stand in for the scoreboard's ``details``,
  ``rosters`` give the lineups). ``match_id`` is the event id.
- ``status.type.name`` is mapped by :data:`STATUS_NAMES`; an unknown name falls back on
  ``state`` (pre -> scheduled, in -> from ``period``, post -> finished) and is logged once.
  STATUS_END_OF_REGULATION (the break after 90) stays ``second_half``: whether extra time or
  a shoot-out follows is told by the next status. STATUS_DELAYED with state ``pre`` is a
  kick-off put back (``scheduled``); once under way it is a suspension.
- ``competitors[].score`` is a string and never includes the shoot-out; ``shootoutScore``
  (int or string) is the shoot-out score, sent only after one. ``winner`` is read only once
  the match is over (``completed`` matches carry the flag; a live leader is no winner).
- ``details[]``: ``scoringPlay`` is a goal (``ownGoal`` -> own_goal, ``penaltyKick`` ->
  penalty); ``shootout`` marks a shoot-out kick instead, and ESPN omits *missed* shoot-out
  kicks there, so the kicks list is incomplete and the count is ``shootoutScore``; ``redCard``
  is a red card (yellow cards are ignored); "Penalty - Missed" / "Penalty - Saved" are missed
  penalties. A detail that looks like a goal, card or penalty but has none of those flags is
  logged once and skipped.
- A goal's scorer is ``athletesInvolved[0]`` and, for a normal goal, the assist is
  ``athletesInvolved[1]`` when there is one (our recording has scorers only).
- Own goals are listed under the *benefiting* team (``details[].team``), while the player in
  ``athletesInvolved[0]`` keeps his own team id (MLS 2022-09-17, Orlando v Toronto 47':
  detail team Orlando, MacNaughton of Toronto). The side comes from the detail's team.
- ``clock.displayValue`` is "67'", "45'+2'", "90'+7'": minute 90, added 7. If it cannot be
  read, the minute is ``clock.value`` (seconds) rounded up.
- Competition is the league name (matched through the event ``uid``'s ``l:`` part when a
  scoreboard carries several leagues); stage is the event's ``season.slug``; leg is
  ``competitions[0].leg.value`` when ESPN sends one (not in our recordings).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import ValidationError

from notifier.domain.models import (
    MatchSnapshot,
    MatchStatus,
    Score,
    Side,
    Team,
)
from notifier.domain.shootout import in_order
from notifier.errors import FeedParseError
from notifier.feeds.espn.details import (
    key_event_as_detail,
    parse_clock,
    read_details,
    read_lineups,
)
from notifier.feeds.fields import (
    JsonObj,
    count,
    load,
    need_text,
    number,
    obj,
    objs,
    text,
    timestamp,
    to_int,
    warn_unknown,
)

PROVIDER = "espn"
log = logging.getLogger("notifier.feeds.espn")

_S = MatchStatus
_EXTRA_TIME_BREAKS = frozenset({"STATUS_HALFTIME_ET", "STATUS_END_OF_EXTRATIME"})
STATUS_NAMES: dict[str, MatchStatus] = {
    "STATUS_SCHEDULED": _S.SCHEDULED,
    "STATUS_FIRST_HALF": _S.FIRST_HALF,
    "STATUS_HALFTIME": _S.HALF_TIME,
    "STATUS_SECOND_HALF": _S.SECOND_HALF,
    # The break after 90: extra time or a shoot-out straight away (Carabao Cup, Coupe de
    # France, Copa Libertadores) follows, ESPN does not say which: still the second half.
    "STATUS_END_OF_REGULATION": _S.SECOND_HALF,
    "STATUS_OVERTIME": _S.EXTRA_TIME,
    "STATUS_EXTRA_TIME": _S.EXTRA_TIME,
    "STATUS_FIRST_HALF_EXTRA_TIME": _S.EXTRA_TIME,
    "STATUS_SECOND_HALF_EXTRA_TIME": _S.EXTRA_TIME,
    "STATUS_HALFTIME_ET": _S.EXTRA_TIME,
    "STATUS_END_OF_EXTRATIME": _S.EXTRA_TIME,
    "STATUS_END_EXTRA_TIME": _S.EXTRA_TIME,
    "STATUS_SHOOTOUT": _S.PENALTIES,
    "STATUS_PENALTY": _S.PENALTIES,
    "STATUS_FULL_TIME": _S.FINISHED,
    "STATUS_FINAL": _S.FINISHED,
    "STATUS_FINAL_AET": _S.FINISHED,
    "STATUS_FINAL_PEN": _S.FINISHED,
    "STATUS_FINAL_ET": _S.FINISHED,
    "STATUS_POSTPONED": _S.POSTPONED,
    "STATUS_CANCELED": _S.CANCELLED,
    "STATUS_ABANDONED": _S.ABANDONED,
    "STATUS_SUSPENDED": _S.SUSPENDED,
    "STATUS_DELAYED": _S.SUSPENDED,
    "STATUS_RAIN_DELAY": _S.SUSPENDED,
}
# Delays that ESPN also shows before kick-off (state "pre"): the match is then still to start.
_DELAYS = frozenset({"STATUS_DELAYED", "STATUS_RAIN_DELAY"})
_NINETY, _FIRST_EXTRA_PERIOD, _EXTRA_TIME_END = 90, 3, 120
_AFTER_EXTRA_TIME = frozenset({"STATUS_FINAL_AET", "STATUS_FINAL_ET"})
_NO_CLOCK = frozenset({_S.SCHEDULED, _S.POSTPONED, _S.CANCELLED})


def parse_response(body: bytes | dict[str, Any]) -> list[MatchSnapshot]:
    """Every match of an ESPN scoreboard or summary, normalised; FeedParseError if malformed."""
    data = load(body)
    try:
        if "events" in data:
            leagues = {text(lg, "id"): text(lg, "name") for lg in objs(data, "leagues")}
            return [parse_event(e, leagues) for e in objs(data, "events")]
        if "header" in data:
            return [parse_summary(data)]
    except ValidationError as exc:
        raise FeedParseError(f"espn payload contradicts the model: {exc}") from exc
    raise FeedParseError("neither a scoreboard (events) nor a summary (header)")


def parse_event(event: JsonObj, leagues: dict[str | None, str | None]) -> MatchSnapshot:
    """One scoreboard event; ``leagues`` maps league id to name."""
    comp = _competition(event)
    found = re.search(r"~l:(\d+)", text(event, "uid") or "")
    league = leagues.get(found.group(1)) if found else None
    if league is None and len(leagues) == 1:
        league = next(iter(leagues.values()))
    snap = _snapshot(need_text(event, "id"), comp, obj(comp, "status") or obj(event, "status"))
    return snap.model_copy(
        update={
            "competition": league,
            "stage": text(obj(event, "season"), "slug"),
            "kickoff": snap.kickoff or timestamp(event.get("date"), "date"),
        }
    )


def parse_summary(data: JsonObj) -> MatchSnapshot:
    """A ``summary?event=`` response: the header's competition, key events and rosters."""
    header = obj(data, "header")
    comp = _competition(header)
    if "details" not in comp:
        comp = {**comp, "details": [key_event_as_detail(k) for k in objs(data, "keyEvents")]}
    match_id = text(header, "id") or need_text(comp, "id")
    snap = _snapshot(match_id, comp, obj(comp, "status") or obj(header, "status"))
    return snap.model_copy(
        update={
            "competition": text(obj(header, "league"), "name"),
            "stage": text(obj(header, "season"), "slug"),
            "lineups": read_lineups(data),
        }
    )


def _competition(holder: JsonObj) -> JsonObj:
    comps = objs(holder, "competitions")
    if not comps:
        raise FeedParseError("event without competitions[0]")
    return comps[0]


def _snapshot(match_id: str, comp: JsonObj, status_obj: JsonObj) -> MatchSnapshot:
    home_c, away_c = _competitors(comp)
    home, away = _team(home_c), _team(away_c)
    status = map_status(status_obj)
    minute, added = (None, None)
    if status not in _NO_CLOCK:
        minute, added = _clock(status_obj, status)
    found = read_details(objs(comp, "details"), home, away)
    complete = any(not k.scored for k in found.kicks)
    return MatchSnapshot(
        provider=PROVIDER,
        match_id=match_id,
        home=home,
        away=away,
        status=status,
        paused=text(obj(status_obj, "type"), "name") in _EXTRA_TIME_BREAKS,
        kickoff=timestamp(comp.get("date") or comp.get("startDate"), "date"),
        minute=minute,
        added=added,
        score=Score(home=_goals_of(home_c), away=_goals_of(away_c)),
        shootout=_shootout(home_c, away_c),
        winner=_winner(home_c, away_c, status),
        goals=tuple(found.goals),
        red_cards=tuple(found.red_cards),
        yellow_cards=tuple(found.yellow_cards),
        missed_penalties=tuple(found.missed),
        # ESPN lists the kicks that went in; only a listed miss shows the list is whole.
        shootout_kicks=in_order(found.kicks, complete=complete),
        kicks_complete=complete,
        leg=_leg(comp),
    )


def _clock(status_obj: JsonObj, status: MatchStatus) -> tuple[int | None, int | None]:
    """The clock; 120 for a match past extra time (a FINAL_AET name, or ``period`` 3 or more)
    whose clock is missing or says 90, so that the diff knows extra time was played. A
    shoot-out's own period (5) comes after 90 minutes as well as after 120: for a shoot-out
    the period tells only when there is no clock to read."""
    minute, added = parse_clock(text(status_obj, "displayClock"))
    if status not in (_S.PENALTIES, _S.FINISHED) or (minute or 0) > _NINETY:
        return minute, added
    name = text(obj(status_obj, "type"), "name")
    if name in _AFTER_EXTRA_TIME:
        return _EXTRA_TIME_END, None
    if minute is not None and (status is _S.PENALTIES or name == "STATUS_FINAL_PEN"):
        return minute, added
    if (number(status_obj, "period") or 0) >= _FIRST_EXTRA_PERIOD:
        return _EXTRA_TIME_END, None
    return minute, added


def map_status(status: JsonObj) -> MatchStatus:
    """The neutral status: by ``type.name``, else by ``type.state`` and ``period`` (logged)."""
    kind = obj(status, "type")
    name = text(kind, "name") or ""
    state = text(kind, "state")
    if name in _DELAYS and state == "pre":
        return _S.SCHEDULED  # a kick-off put back is no suspension
    if name in STATUS_NAMES:
        return STATUS_NAMES[name]
    warn_unknown(log, PROVIDER, "status", name)
    if state == "post":
        return _S.FINISHED
    if state != "in":
        return _S.SCHEDULED
    period = number(status, "period") or 1
    if period >= 5:
        return _S.PENALTIES
    if period >= 3:
        return _S.EXTRA_TIME
    return _S.SECOND_HALF if period == 2 else _S.FIRST_HALF


def _competitors(comp: JsonObj) -> tuple[JsonObj, JsonObj]:
    sides = {text(c, "homeAway"): c for c in objs(comp, "competitors")}
    if "home" not in sides or "away" not in sides:
        raise FeedParseError("competitors lack a home or an away side")
    return sides["home"], sides["away"]


def _team(competitor: JsonObj) -> Team:
    team = obj(competitor, "team")
    name = text(team, "displayName") or text(team, "name") or text(team, "abbreviation")
    return Team(id=text(team, "id") or text(competitor, "id"), name=name or "TBD")


def _goals_of(competitor: JsonObj) -> int:
    raw = competitor.get("score")
    if isinstance(raw, dict):  # the core API's {"value": 2.0, "displayValue": "2"}
        raw = raw.get("value", raw.get("displayValue"))
    return count(raw, "score") or 0


def _shootout(home: JsonObj, away: JsonObj) -> Score | None:
    h = count(home.get("shootoutScore"), "shootoutScore")
    a = count(away.get("shootoutScore"), "shootoutScore")
    return None if h is None or a is None else Score(home=h, away=a)


def _winner(home: JsonObj, away: JsonObj, status: MatchStatus) -> Side | None:
    if status is not _S.FINISHED or home.get("winner") is away.get("winner"):
        return None
    if home.get("winner") is True:
        return "home"
    return "away" if away.get("winner") is True else None


def _leg(comp: JsonObj) -> int | None:
    raw = comp.get("leg")
    leg = to_int(raw.get("value") if isinstance(raw, dict) else raw, "leg")
    return leg if leg in (1, 2) else None
