"""A recording of any provider, loaded for replay: what the server serves, what gets followed.

API-Football recordings are one ``/fixtures?id=`` answer (one match); football-data and ESPN
recordings are lists and scoreboards: every match of the file is served, and those that were
played (finished, or live when recorded) are replayed from kick-off and followed. Matches not
yet played are served as recorded (scheduled) but not followed, so a replay ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notifier.domain.models import MatchSnapshot
from notifier.errors import ConfigError, FeedParseError
from notifier.feeds.api_football.parse import parse_fixture
from notifier.replay.api_football import Timeline
from notifier.replay.espn import EspnReplay, load_scoreboard
from notifier.replay.football_data import FootballDataReplay, load_matches
from notifier.replay.server import ReplayServer, read_json, start_replay_server

# What ``notifier replay`` and ``replay-server`` read a recording as unless told: the shipped demo
# scenario, like a recording made with ``curl /fixtures?id=``, is an API-Football answer.
DEMO_PROVIDER = "api-football"


@dataclass(frozen=True)
class Replayed:
    """One followed match of a replay: where it ends and what it looks like then."""

    match_id: str
    end: float
    final: MatchSnapshot
    league: str | None = None


@dataclass
class ReplaySet:
    """What the replay server serves (by provider) and which matches a replay follows."""

    provider: str
    timelines: list[Timeline] = field(default_factory=list)
    football_data: list[FootballDataReplay] = field(default_factory=list)
    espn: list[EspnReplay] = field(default_factory=list)
    followed: list[Replayed] = field(default_factory=list)

    @property
    def end(self) -> float:
        """Virtual second by which every followed match has reached its recorded state."""
        return max((m.end for m in self.followed), default=0.0)

    def only(self, match: str) -> None:
        """Serve only ``match`` of a recording of many."""
        keep = str(match)
        self.timelines = [t for t in self.timelines if str(t.fixture_id) == keep]
        self.football_data = [m for m in self.football_data if m.match_id == keep]
        self.espn = [m for m in self.espn if m.match_id == keep]

    async def serve(
        self,
        *,
        speed: float,
        start_offset: float,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        hold: bool = False,
    ) -> ReplayServer:
        """A replay server of what this set serves, whichever provider recorded it (the CLI
        names none)."""
        return await start_replay_server(
            self.timelines,
            football_data=self.football_data,
            espn=self.espn,
            speed=speed,
            start_offset=start_offset,
            host=host,
            port=port,
            api_key=api_key,
            hold=hold,
        )


def load_replay(provider: str, path: Path, match: str | None = None) -> ReplaySet:
    """Load a recording of ``provider``; ``match`` keeps only that match followed."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise FeedParseError(f"recording {path} is not a JSON object")
    try:
        found = _load(provider, data)
    except FeedParseError as exc:
        raise FeedParseError(f"recording {path}: {exc}") from exc
    if match is not None:
        found.followed = [m for m in found.followed if m.match_id == str(match)]
    if not found.followed:
        which = f"match {match}" if match else "a played (finished or live) match"
        raise ConfigError(f"recording {path} has no {which} to replay as {provider}")
    return found


def _load(provider: str, data: dict[str, Any]) -> ReplaySet:
    out = ReplaySet(provider)
    if provider == "api-football":
        timeline = Timeline(data)
        out.timelines.append(timeline)
        snap = parse_fixture(timeline.fixture_at(timeline.end))
        out.followed.append(Replayed(str(timeline.fixture_id), timeline.end, snap))
    elif provider == "football-data":
        out.football_data = load_matches(data)
        out.followed = [
            Replayed(m.match_id, m.end, m.timeline.final) for m in out.football_data if m.played
        ]
    elif provider == "espn":
        out.espn = load_scoreboard(data)
        out.followed = [
            Replayed(m.match_id, m.end, m.timeline.final, m.league_slug)
            for m in out.espn
            if m.played
        ]
    else:
        raise ConfigError(f"unknown provider {provider!r}")
    return out
