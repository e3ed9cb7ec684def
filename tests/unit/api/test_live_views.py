"""What people and operators see: the health verdict, the live page's starting state, and the
terminal scoreboard, for the seed tie (first leg Dortmund 2-0 Atalanta). Pure: no server."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console

from notifier.api.health import assess, host_of
from notifier.api.page import board, initial_state
from notifier.domain.alerts import Alert
from notifier.domain.models import MatchStatus, Score
from notifier.domain.tie import TieSpec, parse_first_leg
from notifier.settings import Settings
from workers.cli.scoreboard import Scoreboard, clock_label, replay_progress
from workers.cli.sinks import ConsoleSink

T0 = datetime(2026, 2, 25, 20, 0, tzinfo=UTC)
SPEC = TieSpec(
    id="ucl-po", first_leg=parse_first_leg("Borussia Dortmund 2-0 Atalanta"), second_leg="m:1"
)
NOW = 1_000.0
BEATS = {
    "poller:box-1": NOW - 1,
    "aggregator:box-1": NOW - 2,
    "dispatcher:other-host-7": NOW - 3,
    "api:box-9": NOW - 60,  # stale
}


@pytest.mark.parametrize(
    ("host", "workers", "ok", "why"),
    [
        (None, [], True, "3 fresh heartbeat(s)"),
        ("box", [], True, "2 fresh heartbeat(s) from box: aggregator:box-1, poller:box-1"),
        ("box", ["poller"], True, "2 fresh"),
        ("box", ["dispatcher"], False, "no fresh heartbeat from box of dispatcher"),
        (None, ["poller", "aggregator", "dispatcher"], True, "3 fresh"),
        (None, ["api"], False, "no fresh heartbeat of api"),
        ("nowhere", [], False, "no fresh heartbeat from nowhere"),
    ],
)
def test_assess(host: str | None, workers: list[str], ok: bool, why: str) -> None:
    verdict, message = assess(BEATS, NOW, max_age=15, host=host, workers=workers)
    assert verdict is ok
    assert message.startswith(why)


def test_host_of_a_heartbeat_id() -> None:
    assert host_of("poller:my-host-name-1234") == "my-host-name"
    assert host_of("api:solo") == "solo"


def test_board_before_the_second_leg_starts() -> None:
    settings = Settings()
    state = initial_state(SPEC, settings)
    out = board(state, SPEC, [], None, settings)
    assert (out["home"], out["away"]) == ("Atalanta", "Dortmund")
    assert out["first_leg"] == {
        "home": "Dortmund",
        "away": "Atalanta",
        "score": {"home": 2, "away": 0},
    }
    assert out["aggregate"] == {"Atalanta": 0, "Dortmund": 2}
    assert out["leader"] == "Dortmund"
    assert out["headline"] == "Dortmund lead 2-0 on aggregate"
    assert out["now"]["status"] == "scheduled"
    assert out["teams"]["Dortmund"]["colour"] == "#fde100"


def test_board_mid_match_restates_the_aggregate() -> None:
    settings = Settings()
    state = initial_state(SPEC, settings).model_copy(
        update={"score": Score(home=1), "status": MatchStatus.FIRST_HALF, "minute": 23}
    )
    out = board(state, SPEC, [{"id": "a"}], "5-0", settings)
    assert out["headline"] == "Dortmund lead 2-1 on aggregate"
    assert out["needs"] == "Atalanta need one goal to force extra time"
    assert (out["timeline"], out["last_id"]) == ([{"id": "a"}], "5-0")


def alert(kind: str, text: str, home: int, away: int, minute: int, **extra: Any) -> Alert:
    """An alert of the seed tie's second leg at this score."""
    fields: dict[str, Any] = {
        "id": f"{kind}:{minute}:{home}-{away}",
        "kind": kind,
        "text": text,
        "match": "m:1",
        "tie": "ucl-po",
        "event": "e",
        "competition": "UEFA Champions League",
        "home": "Atalanta",
        "away": "Dortmund",
        "status": MatchStatus.FIRST_HALF,
        "minute": minute,
        "score": Score(home=home, away=away),
        "aggregate": {"Atalanta": home, "Dortmund": 2 + away},
        "leader": "Dortmund",
        "occurred_at": T0,
        "detected_at": T0,
        "emitted_at": T0,
    }
    return Alert(**(fields | extra))


def goal(side: str, player: str, home: int, away: int, minute: int, kind: str = "goal") -> Alert:
    data = {"side": side, "goal": {"player": player, "ref": f"{minute}:{player}"}}
    text = f"{kind} {player} {minute}'"
    return alert(kind, text, home, away, minute, data=data)


GAME = [
    alert("kickoff", "Kick-off: Atalanta v Dortmund", 0, 0, 1),
    goal("home", "Scamacca", 1, 0, 23),
    goal("away", "Guirassy", 1, 1, 38),
    goal("away", "Guirassy", 1, 0, 38, kind="goal_cancelled"),
]


async def test_scoreboard_draws_score_aggregate_and_struck_goal() -> None:
    out = io.StringIO()
    console = Console(file=out, width=100, record=True, force_terminal=False)
    progress = replay_progress(lambda: 600.0, -120.0, 1320.0)
    board_ = Scoreboard(teams=Settings().teams, progress=progress, console=console)
    for a in GAME:
        await board_.deliver(a)
    console.print(board_.render())
    text = console.export_text(clear=False)
    assert "Atalanta  1 - 0   Dortmund" in text
    assert "Aggregate 1-2" in text and "Dortmund lead" in text
    assert "Scamacca 23'" in text and "Guirassy 38'" in text
    assert "50%  10:00 of 22:00" in text
    html = console.export_html()
    assert "line-through" in html  # the cancelled goal is struck through


def test_clock_labels() -> None:
    assert [clock_label(s) for s in (-120, 0, 61, 3725)] == ["-2:00", "0:00", "1:01", "1:02:05"]
    read = replay_progress(lambda: 2000.0, 0.0, 1000.0)
    assert read().fraction == 1.0


async def test_plain_console_prints_one_line_per_alert() -> None:
    out = io.StringIO()
    sink = ConsoleSink(out)
    for a in GAME:
        await sink.deliver(a)
    assert out.getvalue().splitlines() == [a.text for a in GAME]
