"""API-Football (API-Sports) v3 adapter: a ``/fixtures`` response → :class:`MatchSnapshot`. Pure.

Provider quirks, all handled here and nowhere else:

- The envelope is ``{"get", "parameters", "errors", "results", "paging", "response"}``. Errors
  (quota, bad key, bad parameter) come back as HTTP 200 with a non-empty ``errors`` that is a
  dict (``{"requests": "You have reached the request limit..."}``) or a list; ``response`` is
  then empty. Such a body is read by :func:`check` alone, wherever it is met (poll, detail,
  finder, ``feed parse``): one :class:`EnvelopeError`, never "no matches" and never a parse
  error (the quota or rate limit is a 429 with its wait, the rest a 400).
- ``goals`` is the running score, extra time included and shoot-out kicks never; it is null
  before kick-off. ``score.penalty`` is the shoot-out, null (both sides) when there is none.
- ``fixture.status.elapsed`` stays at 45 / 90 / 105 / 120 through stoppage time; the added
  minute is ``status.extra`` (missing in older payloads) and, for events, ``time.extra``.
- ``teams.*.winner`` is set *during* play for the side ahead; it means "winner" only once the
  match is finished, so it is read only then.
- An own goal is listed under the team that *benefits* (Akaydin's own goal for Portugal, in
  Türkiye 0-3 Portugal), with the player who put it in his own net.
- Shoot-out kicks are ``Goal`` events ("Penalty" / "Missed Penalty") at elapsed 120 with
  ``comments: "Penalty Shootout"``; some feeds omit the comment, so in a P/PEN match the trailing
  120' penalties the score does not need are taken as kicks.
- A goal ruled out by VAR is usually *removed* from ``events`` and replaced by a ``Var`` event
  "Goal cancelled" / "Goal Disallowed - …" naming the player; when the goal event stays, the
  VAR event takes it off ``goals`` (see :func:`pair_cancellations`).
- Events have no id; :attr:`FeedEvent.ref` derives one from minute, team, player and detail.
- ``fixture.date`` carries the timezone the request asked for (``Asia/Seoul`` in the real
  recordings); kick-off is converted to UTC. There is no leg number: a round named
  "... - 2nd leg" is the only hint.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from notifier.domain.models import (
    Goal,
    GoalKind,
    Incident,
    MatchSnapshot,
    MatchStatus,
    Score,
    ShootoutKick,
    Side,
    Team,
)
from notifier.domain.shootout import arrange
from notifier.errors import EnvelopeError, FeedParseError
from notifier.feeds import fields as f
from notifier.feeds.api_football.events import (
    PROVIDER,
    SCORING,
    SIDES,
    FeedEvent,
    TeamRef,
    log,
    pair_cancellations,
    read_events,
)
from notifier.feeds.api_football.lineups import read_lineups

S = MatchStatus
STATUSES: dict[str, MatchStatus] = {
    **dict.fromkeys(("TBD", "NS"), S.SCHEDULED),
    **dict.fromkeys(("ET", "BT"), S.EXTRA_TIME),
    **dict.fromkeys(("FT", "AET", "PEN", "AWD", "WO"), S.FINISHED),
    **dict.fromkeys(("SUSP", "INT"), S.SUSPENDED),
    "1H": S.FIRST_HALF,
    "HT": S.HALF_TIME,
    "2H": S.SECOND_HALF,
    "P": S.PENALTIES,
    "PST": S.POSTPONED,
    "CANC": S.CANCELLED,
    "ABD": S.ABANDONED,
}
_KINDS: dict[str, GoalKind] = {"goal": "normal", "penalty": "penalty", "own_goal": "own_goal"}
_LEG = re.compile(r"\b([12])(?:st|nd)?\s+leg\b", re.IGNORECASE)

QUOTA_WAIT_S = 3600.0  # "request limit for the day": look again in an hour
RATE_WAIT_S = 60.0  # "too many requests" this minute

__all__ = ["PROVIDER", "STATUSES", "check", "map_status", "parse_fixture", "parse_response"]


def check(data: dict[str, Any], payload: bytes | None = None) -> dict[str, Any]:
    """``data`` when ``errors`` is empty; else the one :class:`EnvelopeError` it means: 429 with
    a wait for the quota (``requests``) or rate limit (``rateLimit``), 400 for the rest (a bad
    key or parameter). API-Football sends these with HTTP 200."""
    errors = data.get("errors")
    if not errors:
        return data
    text = _shown(errors)
    if isinstance(errors, dict) and ({"requests", "rateLimit"} & set(errors)):
        wait = RATE_WAIT_S if "rateLimit" in errors else QUOTA_WAIT_S
        raise EnvelopeError(f"{PROVIDER}: {text}", status=429, retry_after=wait, payload=payload)
    raise EnvelopeError(f"{PROVIDER} answered with errors: {text}", status=400, payload=payload)


def _shown(errors: object) -> str:
    """The errors as compact JSON (as the provider sent them), else printable; 300 at most."""
    try:
        return orjson.dumps(errors).decode()[:300]
    except TypeError:  # orjson's JSONEncodeError: a value JSON cannot hold (a huge integer)
        return f.shown(errors)[:300]


def parse_response(body: bytes | dict[str, Any]) -> list[MatchSnapshot]:
    """Every fixture of a ``/fixtures`` envelope; its error document raises EnvelopeError."""
    data = f.load(body)
    payload = bytes(body) if isinstance(body, bytes | bytearray) else None
    check(data, payload)
    response = data.get("response")
    if not isinstance(response, list):
        raise FeedParseError("api-football envelope has no 'response' list", payload=payload)
    return [parse_fixture(item) for item in response]


def parse_fixture(item: dict[str, Any]) -> MatchSnapshot:
    """One element of the ``response`` array as a snapshot; malformed input raises."""
    if not isinstance(item, dict):
        raise FeedParseError(f"api-football fixture is {type(item).__name__}, not an object")
    try:
        return _snapshot(item)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = f"api-football fixture is inconsistent: {where}: {first['msg']}"
        raise FeedParseError(message) from exc


def map_status(short: str | None, elapsed: int | None) -> MatchStatus:
    """Our status for ``fixture.status.short``; an unknown code is inferred from the minute."""
    status = STATUSES.get(short or "")
    if status is not None:
        return status
    if short != "LIVE":
        f.warn_unknown(log, PROVIDER, "status", short)
    if elapsed is None:
        return S.FIRST_HALF if short == "LIVE" else S.SCHEDULED
    if elapsed > 90:
        return S.EXTRA_TIME
    return S.SECOND_HALF if elapsed > 45 else S.FIRST_HALF


def _snapshot(item: dict[str, Any]) -> MatchSnapshot:
    fixture = f.obj(item, "fixture")
    state = f.obj(fixture, "status")
    short = f.text(state, "short")
    elapsed = f.count(state.get("elapsed"), "fixture.status.elapsed")
    status = map_status(short, elapsed)
    refs, home, away = _teams(item)
    goals = _goals(item)
    events = read_events(item.get("events"), refs, short, goals.home + goals.away)
    shootout = _shootout(item, events, status)
    league = f.obj(item, "league")
    stage = f.text(league, "round")
    return MatchSnapshot(
        provider=PROVIDER,
        match_id=_fixture_id(fixture),
        home=home,
        away=away,
        status=status,
        paused=short == "BT",  # the break before extra time, or at its half-time
        kickoff=_kickoff(fixture),
        minute=elapsed,
        added=f.count(state.get("extra"), "fixture.status.extra"),
        score=goals,
        shootout=shootout,
        winner=_winner(item, status, goals, shootout),
        lineups=read_lineups(item, refs),
        competition=f.text(league, "name"),
        stage=stage,
        leg=_leg(stage),
        **_event_fields(events, goals),
    )


def _fixture_id(fixture: dict[str, Any]) -> str:
    match_id = f.text(fixture, "id")
    if not match_id:
        raise FeedParseError("api-football fixture has no fixture.id")
    return match_id


def _teams(item: dict[str, Any]) -> tuple[tuple[TeamRef, TeamRef], Team, Team]:
    teams = item.get("teams")
    if not isinstance(teams, dict):
        raise FeedParseError("api-football fixture has no 'teams' object")
    found: list[Team] = []
    for side in SIDES:
        team = teams.get(side)
        name = f.text(team, "name") if isinstance(team, dict) else None
        if not isinstance(team, dict) or not name:
            raise FeedParseError(f"api-football fixture has no {side} team name")
        found.append(Team(id=f.text(team, "id"), name=name))
    home, away = found
    refs = (TeamRef("home", home.id, home.name), TeamRef("away", away.id, away.name))
    return refs, home, away


def _goals(item: dict[str, Any]) -> Score:
    goals = f.obj(item, "goals")
    home = f.count(goals.get("home"), "goals.home")
    away = f.count(goals.get("away"), "goals.away")
    return Score(home=home or 0, away=away or 0)


def _kickoff(fixture: dict[str, Any]) -> datetime | None:
    kickoff = f.timestamp(fixture.get("date"), "fixture.date")
    seconds = f.count(fixture.get("timestamp"), "fixture.timestamp")
    if kickoff is not None or seconds is None:
        return kickoff
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise FeedParseError(f"fixture.timestamp is out of range: {seconds}") from exc


def _shootout(item: dict[str, Any], events: list[FeedEvent], status: MatchStatus) -> Score | None:
    """``score.penalty`` when both sides are set; else counted from the kicks, once under way."""
    penalty = f.score_pair(f.obj(item, "score"), "penalty")
    kicks = [e for e in events if e.kind == "kick"]
    if penalty is not None or not kicks or status not in (S.PENALTIES, S.FINISHED):
        return penalty
    scored = [k.side for k in kicks if k.scored]
    return Score(home=scored.count("home"), away=scored.count("away"))


def _winner(
    item: dict[str, Any], status: MatchStatus, goals: Score, shootout: Score | None
) -> Side | None:
    """The winner of a finished match: the provider's flags, else the score."""
    if status is not S.FINISHED:
        return None
    teams = f.obj(item, "teams")
    flags = {side: f.obj(teams, side).get("winner") for side in SIDES}
    for side in SIDES:
        if flags[side] is True:
            return side
    if any(flag is not None for flag in flags.values()):
        return None
    decider = shootout if shootout is not None and goals.home == goals.away else goals
    if decider.home == decider.away:
        return None
    return "home" if decider.home > decider.away else "away"


def _event_fields(events: list[FeedEvent], score: Score) -> dict[str, Any]:
    """Goals, red cards, missed penalties, VAR cancellations and shoot-out kicks."""
    pairs = pair_cancellations(events, score)
    cancelled = {goal for goal in pairs.values() if goal is not None}
    kicks = [e for e in events if e.kind == "kick"]
    return {
        "goals": _goal_list([e for e in events if e.kind in SCORING and e.index not in cancelled]),
        "red_cards": _incidents(events, "red_card"),
        "yellow_cards": _incidents(events, "yellow_card"),
        "missed_penalties": _incidents(events, "missed_penalty"),
        "cancelled_goals": _incidents(events, "var_cancel"),
        "shootout_kicks": kicks_in_order(kicks),
    }


def kicks_in_order(kicks: list[FeedEvent]) -> tuple[ShootoutKick, ...]:
    """The shoot-out kicks in the order taken (see :func:`kick_events_in_order`)."""
    ordered = kick_events_in_order(kicks)
    return tuple(_kick(k, n, k.number) for n, k in enumerate(ordered, start=1))


def kick_events_in_order(kicks: list[FeedEvent]) -> list[FeedEvent]:
    """Kick events in the order taken. The feed lists them last kick first; a kick's own number
    (or, where every kick has a distinct one, its stoppage minute ``120+n``) orders them, else
    the shape of a shoot-out does (:func:`notifier.domain.shootout.arrange`)."""
    numbers = [k.number for k in kicks]
    if None in numbers:
        extras = [k.extra for k in kicks]
        if None not in extras and len(set(extras)) == len(extras):
            kicks = [replace(k, number=k.extra) for k in kicks]
            numbers = extras
    models = [
        _kick(k, n, number) for n, (k, number) in enumerate(zip(kicks, numbers, strict=True), 1)
    ]
    by_model = {id(m): k for m, k in zip(models, kicks, strict=True)}
    return [by_model[id(m)] for m in arrange(models, [])]


def _kick(k: FeedEvent, order: int, number: int | None = None) -> ShootoutKick:
    return ShootoutKick(order=order, side=k.side, player=k.player, scored=k.scored, number=number)


def _goal_list(events: list[FeedEvent]) -> tuple[Goal, ...]:
    """Goals with refs made unique (two goals of one player in one minute get ``#2``)."""
    seen: Counter[str] = Counter()
    goals = []
    for event in events:
        seen[event.ref] += 1
        count = seen[event.ref]
        goals.append(_goal(event, event.ref if count == 1 else f"{event.ref}#{count}"))
    return tuple(goals)


def _goal(event: FeedEvent, ref: str) -> Goal:
    return Goal(
        minute=event.elapsed,
        added=event.extra,
        side=event.side,
        player=event.player,
        assist=event.assist,
        kind=_KINDS[event.kind],
        ref=ref,
    )


def _incidents(events: list[FeedEvent], kind: str) -> tuple[Incident, ...]:
    return tuple(
        Incident(minute=e.elapsed, added=e.extra, side=e.side, player=e.player, detail=e.detail)
        for e in events
        if e.kind == kind
    )


def _leg(stage: str | None) -> int | None:
    found = _LEG.search(stage or "")
    return int(found.group(1)) if found else None
