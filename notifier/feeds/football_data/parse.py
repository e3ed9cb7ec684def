"""football-data.org v4 adapter: raw JSON -> :class:`MatchSnapshot`. Pure.

Accepts ``/v4/matches``, ``/v4/competitions/{code}/matches`` and ``/v4/teams/{id}/matches``
(``{"matches": [...]}``) and ``/v4/matches/{id}`` (one match object, bare or in a ``match``
wrapper). An error body (``{"message": ..., "errorCode": ...}``, usually with an HTTP error but
sometimes with 200) is read by :func:`check` alone: an EnvelopeError with ``errorCode`` as its
status, never a parse error.

Quirks, and what we do about them:

- ``status`` SCHEDULED means the date is known but not the time (``utcDate`` is midnight);
  TIMED means the kick-off time is fixed. Both are ``scheduled``. ``LIVE`` (a filter alias of
  IN_PLAY + PAUSED) is read as IN_PLAY.
- ``score.duration`` (REGULAR / EXTRA_TIME / PENALTY_SHOOTOUT) acts as an extra status while
  the match runs: IN_PLAY + EXTRA_TIME is ``extra_time``, + PENALTY_SHOOTOUT is ``penalties``.
  IN_PLAY + REGULAR is ``second_half`` once ``halfTime`` is filled (it is filled at the break,
  then frozen) or ``minute`` > 45, else ``first_half``. PAUSED is ``half_time``, except with
  duration EXTRA_TIME (the break before or within extra time: ``extra_time``), with
  PENALTY_SHOOTOUT (``penalties``), and with REGULAR once regulation is over (``minute`` >= 90
  or ``regularTime`` sent): that break is still ``second_half``, for what follows it is not
  known yet: extra time, or a shoot-out straight away (Copa Libertadores, Coupe de France).
- A match over (or at penalties) after extra time (duration EXTRA_TIME, or PENALTY_SHOOTOUT
  with ``extraTime`` sent) whose ``minute`` is missing or at most 90 gets minute 120, so that
  a poll gap over extra time is still told as extra time.
- ``score.fullTime`` is the running score (0-0 from kick-off, null before). With duration
  PENALTY_SHOOTOUT it may include the shoot-out, so the score is then ``regularTime`` +
  ``extraTime`` when ``regularTime`` is sent, else ``fullTime`` - ``penalties`` (or ``fullTime``
  itself if it is smaller than the shoot-out, so cannot include it). Shoot-out kicks never
  count as goals; ``score.penalties`` is the shoot-out score (with that duration only).
- ``score.winner`` is reported only once the match is over (FINISHED / AWARDED); DRAW is null.
  While the match runs the provider may fill it with the side that leads, which is no winner.
- The free tier has no ``goals``, ``bookings``, ``penalties`` (kicks) or lineups: the snapshot
  then has empty goals and the diff raises score-only goal alerts.
- Own goals (``type`` OWN): which team football-data lists them under is not confirmed by any
  recording we hold (the free tier has no goals). Each goal also carries the running ``score``
  after it, so an own goal's side is the side whose count went up by one; only when that
  does not tell do we take ``team`` as the team credited with the goal (the benefiting side),
  as API-Football and ESPN do. Other goals take their side from ``team``.
- Bookings with ``card`` RED or YELLOW_RED are red cards; YELLOW is not.
- ``minute`` (live, paid tiers) may come as a number or as text ("67", "45+2"), with
  ``injuryTime`` for the added minutes; a minute we cannot read is logged and left out.
- ``matchday`` is the leg (1 or 2) of a two-legged tie only for the knockout stages in
  :data:`KNOCKOUT_STAGES` (in a league it is the round number). Single-match rounds (FINAL,
  THIRD_PLACE) get no leg.
- A team not yet known (a future knockout tie) comes with null id and name: it is named "TBD".
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
from notifier.errors import EnvelopeError, FeedParseError
from notifier.feeds.fields import (
    JsonObj,
    count,
    load,
    need_text,
    number,
    obj,
    objs,
    score_pair,
    shown,
    text,
    timestamp,
    to_int,
    warn_unknown,
)
from notifier.feeds.football_data.details import (
    read_goals,
    read_kicks,
    read_lineups,
    read_red_cards,
)

PROVIDER = "football-data"
log = logging.getLogger("notifier.feeds.football_data")

# Stages whose matchday 1/2 is the leg of a two-legged tie (FINAL, THIRD_PLACE: one match).
KNOCKOUT_STAGES = frozenset(
    {
        "PLAYOFFS",
        "PLAYOFF_ROUND",
        "PLAYOFF_ROUND_1",
        "PLAYOFF_ROUND_2",
        "KNOCKOUT_ROUND_PLAY_OFFS",
        "LAST_64",
        "LAST_32",
        "LAST_16",
        "QUARTER_FINALS",
        "SEMI_FINALS",
        "QUALIFICATION_ROUND_1",
        "QUALIFICATION_ROUND_2",
        "QUALIFICATION_ROUND_3",
        "PRELIMINARY_ROUND",
    }
)
_FIXED_STATUS = {
    "SCHEDULED": MatchStatus.SCHEDULED,
    "TIMED": MatchStatus.SCHEDULED,
    "FINISHED": MatchStatus.FINISHED,
    "AWARDED": MatchStatus.FINISHED,
    "SUSPENDED": MatchStatus.SUSPENDED,
    "POSTPONED": MatchStatus.POSTPONED,
    "CANCELLED": MatchStatus.CANCELLED,
}
_MINUTE = re.compile(r"^\s*(\d{1,3})\s*'?\s*(?:\+\s*(\d{1,2}))?\s*'?\s*$")
_WINNERS: dict[str, Side] = {"HOME_TEAM": "home", "AWAY_TEAM": "away"}
_NINETY, _EXTRA_TIME_END = 90, 120


# Keys of an answer (a match list, one match, competitions, teams): with one, it is no error.
_ANSWER_KEYS = frozenset({"matches", "match", "homeTeam", "competitions", "teams"})


def check(data: JsonObj, payload: bytes | None = None) -> JsonObj:
    """``data`` unless it is the error document (``message``, ``errorCode`` and no answer):
    then the one EnvelopeError it means, with ``errorCode`` as its status (429: the limit)."""
    if not ({"errorCode", "message"} & data.keys()) or (_ANSWER_KEYS & data.keys()):
        return data
    status = data.get("errorCode")
    code = status if isinstance(status, int) and not isinstance(status, bool) else None
    message = f"{PROVIDER} error: {shown(data.get('message'))}"
    raise EnvelopeError(message, status=code, payload=payload)


def parse_response(body: bytes | dict[str, Any]) -> list[MatchSnapshot]:
    """Every match in a football-data v4 response, normalised; FeedParseError if malformed,
    EnvelopeError for its error document."""
    data = load(body)
    check(data, bytes(body) if isinstance(body, bytes | bytearray) else None)
    try:
        return [parse_match(m) for m in _match_objects(data)]
    except ValidationError as exc:
        raise FeedParseError(f"football-data payload contradicts the model: {exc}") from exc


def _match_objects(data: JsonObj) -> list[JsonObj]:
    if "matches" in data:
        return objs(data, "matches")
    if isinstance(data.get("match"), dict):
        return [obj(data, "match")]
    if "id" in data and "homeTeam" in data:
        return [data]
    raise FeedParseError("neither a match list nor a match object")


def parse_match(m: JsonObj) -> MatchSnapshot:
    """One v4 match object as a snapshot."""
    score = obj(m, "score")
    status = map_status(m, score)
    home, away = _team(m, "homeTeam"), _team(m, "awayTeam")
    minute, added = _clock(m, status, score)
    stage = text(m, "stage")
    return MatchSnapshot(
        provider=PROVIDER,
        match_id=need_text(m, "id"),
        home=home,
        away=away,
        status=status,
        paused=status == MatchStatus.EXTRA_TIME and m.get("status") == "PAUSED",
        kickoff=timestamp(m.get("utcDate"), "utcDate"),
        minute=minute,
        added=added,
        score=running_score(score),
        shootout=_shootout(score),
        winner=_winner(score, status),
        goals=read_goals(m, home, away),
        red_cards=read_red_cards(m, home, away),
        yellow_cards=read_red_cards(m, home, away, frozenset({"YELLOW"})),
        shootout_kicks=read_kicks(m, home, away),
        lineups=read_lineups(m),
        competition=text(obj(m, "competition"), "name"),
        stage=stage,
        leg=_leg(stage, number(m, "matchday")),
        updated_at=timestamp(m.get("lastUpdated"), "lastUpdated"),
    )


def map_status(m: JsonObj, score: JsonObj) -> MatchStatus:
    """The neutral status of a v4 match, from ``status``, ``score.duration`` and ``minute``."""
    raw = need_text(m, "status")
    if raw in _FIXED_STATUS:
        return _FIXED_STATUS[raw]
    duration = text(score, "duration") or "REGULAR"
    minute, _ = match_clock(m)
    if raw in ("IN_PLAY", "LIVE"):
        return _in_play(duration, minute, score_pair(score, "halfTime") is not None)
    if raw == "PAUSED":
        return _paused(duration, minute, score_pair(score, "regularTime") is not None)
    warn_unknown(log, PROVIDER, "status", raw)
    if score_pair(score, "fullTime") is None:
        return MatchStatus.SCHEDULED
    return _in_play(duration, minute, score_pair(score, "halfTime") is not None)


def match_clock(m: JsonObj) -> tuple[int | None, int | None]:
    """``minute`` (a number, or text such as "67", "45+2") and ``injuryTime``; else None."""
    raw = m.get("minute")
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < 1000:
        raw = str(raw)
    found = _MINUTE.match(raw) if isinstance(raw, str) else None
    if found is None:
        if raw not in (None, ""):
            warn_unknown(log, PROVIDER, "minute", raw)
        return None, None
    added = to_int(found.group(2), "minute") or count(m.get("injuryTime"), "injuryTime")
    return int(found.group(1)), added


def _in_play(duration: str, minute: int | None, half_time_done: bool) -> MatchStatus:
    if duration == "PENALTY_SHOOTOUT":
        return MatchStatus.PENALTIES
    if duration == "EXTRA_TIME":
        return MatchStatus.EXTRA_TIME
    if half_time_done or (minute is not None and minute > 45):
        return MatchStatus.SECOND_HALF
    return MatchStatus.FIRST_HALF


def _paused(duration: str, minute: int | None, regulation_over: bool) -> MatchStatus:
    if duration == "PENALTY_SHOOTOUT":
        return MatchStatus.PENALTIES
    if duration == "EXTRA_TIME":
        return MatchStatus.EXTRA_TIME
    if regulation_over or (minute is not None and minute >= _NINETY):
        return MatchStatus.SECOND_HALF  # extra time or a shoot-out next: not known yet
    return MatchStatus.HALF_TIME


def _clock(m: JsonObj, status: MatchStatus, score: JsonObj) -> tuple[int | None, int | None]:
    """The clock; 120 for a match over (or at penalties) after extra time whose ``minute`` is
    missing or says 90 at most, so that the diff knows extra time was played."""
    minute, added = match_clock(m)
    if status not in (MatchStatus.PENALTIES, MatchStatus.FINISHED) or (minute or 0) > _NINETY:
        return minute, added
    duration = text(score, "duration")
    after_extra = duration == "EXTRA_TIME" or (
        duration == "PENALTY_SHOOTOUT" and score_pair(score, "extraTime") is not None
    )
    return (_EXTRA_TIME_END, None) if after_extra else (minute, added)


def running_score(score: JsonObj) -> Score:
    """Goals so far, extra time included and the shoot-out never."""
    full = score_pair(score, "fullTime") or Score()
    if text(score, "duration") != "PENALTY_SHOOTOUT":
        return full
    regular = score_pair(score, "regularTime")
    if regular is not None:
        extra = score_pair(score, "extraTime") or Score()
        return Score(home=regular.home + extra.home, away=regular.away + extra.away)
    pens = score_pair(score, "penalties") or Score()
    home, away = full.home - pens.home, full.away - pens.away
    if home < 0 or away < 0:
        # fullTime cannot include a shoot-out bigger than itself: here it is the 120' score.
        warn_unknown(log, PROVIDER, "score_convention", "fullTime_without_shootout")
        return full
    return Score(home=home, away=away)


def _shootout(score: JsonObj) -> Score | None:
    if text(score, "duration") != "PENALTY_SHOOTOUT":
        return None
    return score_pair(score, "penalties")


def _winner(score: JsonObj, status: MatchStatus) -> Side | None:
    if status is not MatchStatus.FINISHED:
        return None
    return _WINNERS.get(text(score, "winner") or "")


def _team(m: JsonObj, key: str) -> Team:
    team = obj(m, key)
    name = text(team, "name") or text(team, "shortName") or text(team, "tla") or "TBD"
    return Team(id=text(team, "id"), name=name)


def _leg(stage: str | None, matchday: int | None) -> int | None:
    if stage in KNOCKOUT_STAGES and matchday in (1, 2):
        return matchday
    return None
