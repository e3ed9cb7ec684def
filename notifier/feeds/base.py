"""Provider adapters: a recorded or live response body -> provider-neutral snapshots. Pure.

``PARSERS`` maps a provider name to its ``parse_response``; :func:`parse` picks one and
filters by match; :func:`snapshot_json` is the public JSON form ``notifier feed parse`` prints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from notifier.domain.models import Incident, Lineup, MatchSnapshot, Score
from notifier.feeds.espn import parse as espn
from notifier.feeds.football_data import parse as football_data

Parser = Callable[[bytes | dict[str, Any]], list[MatchSnapshot]]


def _parse_api_football(body: bytes | dict[str, Any]) -> list[MatchSnapshot]:
    # Imported on use, so the other adapters load even while this one is being changed.
    from notifier.feeds.api_football import parse as api_football

    return api_football.parse_response(body)


PARSERS: dict[str, Parser] = {
    "api-football": _parse_api_football,
    "football-data": football_data.parse_response,
    "espn": espn.parse_response,
}


def parse(
    provider: str, body: bytes | dict[str, Any], match: str | None = None
) -> list[MatchSnapshot]:
    """Snapshots of one provider's response, only those of ``match`` when it is given."""
    parser = PARSERS.get(provider)
    if parser is None:
        known = ", ".join(sorted(PARSERS))
        raise ValueError(f"unknown provider {provider!r}; known providers: {known}")
    snapshots = parser(body)
    if match is None:
        return snapshots
    return [s for s in snapshots if s.match_id == str(match)]


def snapshot_json(s: MatchSnapshot) -> dict[str, Any]:
    """The public JSON form of a snapshot (``notifier feed parse``): plain types, UTC ISO times."""
    return {
        "provider": s.provider,
        "match_id": s.match_id,
        "competition": s.competition,
        "stage": s.stage,
        "leg": s.leg,
        "kickoff": s.kickoff.isoformat() if s.kickoff else None,
        "status": s.status.value,
        "minute": s.minute,
        "added": s.added,
        "home": s.home.name,
        "away": s.away.name,
        "home_id": s.home.id,
        "away_id": s.away.id,
        "score": _score(s.score),
        "shootout": _score(s.shootout) if s.shootout else None,
        "winner": s.winner,
        "goals": [g.model_dump(mode="json", exclude={"ref"}) for g in s.goals],
        "red_cards": [_incident(i) for i in s.red_cards],
        "missed_penalties": [_incident(i) for i in s.missed_penalties],
        "cancelled_goals": [_incident(i) for i in s.cancelled_goals],
        "shootout_kicks": [k.model_dump(mode="json") for k in s.shootout_kicks],
        "lineups": (
            {"home": _lineup(s.lineups.home), "away": _lineup(s.lineups.away)}
            if s.lineups
            else None
        ),
        "updated_at": s.updated_at.isoformat() if s.updated_at else None,
    }


def _score(score: Score) -> dict[str, int]:
    return {"home": score.home, "away": score.away}


def _incident(i: Incident) -> dict[str, Any]:
    return i.model_dump(mode="json")


def _lineup(lineup: Lineup) -> dict[str, Any]:
    return lineup.model_dump(mode="json")
