"""What a provider is asked: path and query of each kind of request. Pure.

Provider quirks of *requests* (paths, parameters) live here; quirks of payloads live in each
adapter; bulk requests are planned by :mod:`notifier.feeds.bulk`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    """One GET against a provider: path and query."""

    path: str
    params: tuple[tuple[str, str], ...] = ()


def match_request(provider: str, match_id: str, league: str | None = None) -> Request:
    """The request that returns one match in full (events, lineups where the provider has them)."""
    if provider == "api-football":
        return Request("/fixtures", (("id", match_id),))
    if provider == "football-data":
        return Request(f"/v4/matches/{match_id}")
    if provider == "espn":
        return Request(
            f"/apis/site/v2/sports/soccer/{league or 'all'}/summary", (("event", match_id),)
        )
    raise ValueError(f"unknown provider {provider!r}")
