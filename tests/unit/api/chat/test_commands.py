"""The bots' pure core: parsing commands, ranking names, the texts, limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from notifier.api.chat.commands import Command, Exact, delay_seconds, exact, language, parse
from notifier.api.chat.directory import Candidate, rank, team_entries
from notifier.api.chat.texts import score_line
from notifier.api.chat.wiring import check
from notifier.domain.engine import MatchState
from notifier.domain.models import MatchStatus, Score
from notifier.errors import CommandError, ConfigError
from notifier.settings import (
    BotsSettings,
    DiscordBotSettings,
    Settings,
    SlackBotSettings,
    TelegramBotSettings,
)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/follow Dortmund", Command("follow", "Dortmund")),
        ("/follow@NotifierBot   Borussia   Dortmund ", Command("follow", "Borussia Dortmund")),
        ("follow Dortmund", Command("follow", "Dortmund")),  # a Slack /footy follow ...
        ("/SCORE", Command("score")),
        ("/delay 30", Command("delay", "30")),
        ("/unfollow all", Command("unfollow", "all")),
        ("/start", Command("start")),
    ],
)
def test_parse(text: str, command: Command) -> None:
    assert parse(text) == command


@pytest.mark.parametrize("text", ["", "/", "hello there!", "/fly away", "/follow " + "x" * 201])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(CommandError):
        parse(text)


@given(st.text(max_size=300))
def test_parse_never_fails_otherwise(text: str) -> None:
    try:
        command = parse(text)
    except CommandError:
        return
    assert len(command.arg) <= 200 and command.arg == command.arg.strip()


def test_exact_delay_language() -> None:
    assert exact("tie:replay:api-football:1") == Exact("tie", "replay:api-football:1")
    assert exact("Dortmund") is None and exact("player:Kobel") is None and exact("team: ") is None
    assert delay_seconds("0") == 0 and delay_seconds("900") == 900
    assert language("DE") == "de"
    for bad in ("-1", "901", "1.5", "soon"):
        with pytest.raises(CommandError):
            delay_seconds(bad)
    with pytest.raises(CommandError):
        language("deu")


ENTRIES = [
    *team_entries(["Atalanta", "Dortmund", "Dortmund II"], {"Borussia Dortmund": "Dortmund"}),
    Candidate("competition", "UEFA Champions League", "UEFA Champions League"),
    Candidate("tie", "replay:api-football:1", "Atalanta v Dortmund"),
]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("dortmund", [("team", "Dortmund")]),  # an exact name beats the partial ones
        ("Borussia Dortmund", [("team", "Dortmund")]),  # a provider name of it
        ("champions", [("competition", "UEFA Champions League")]),
        ("atalanta v dortmund", [("tie", "replay:api-football:1")]),
        ("ta", [("team", "Atalanta"), ("tie", "replay:api-football:1")]),
        ("dort", [("team", "Dortmund"), ("team", "Dortmund II"), ("tie", "replay:api-football:1")]),
        ("bayern", []),
        ("  ", []),
    ],
)
def test_rank(query: str, found: list[tuple[str, str]]) -> None:
    assert [(c.kind, c.value) for c in rank(query, ENTRIES)] == found


@given(st.text(max_size=40))
def test_rank_is_bounded_and_exact_matches_are_alone(query: str) -> None:
    found = rank(query, ENTRIES)
    assert len(found) <= 8
    exacts = [
        c for c in ENTRIES if query.strip() and query.strip().casefold() == c.label.casefold()
    ]
    if exacts:
        assert len(found) == 1


def state(**changes: object) -> MatchState:
    base = MatchState(
        match="api-football:1",
        tie="t",
        home="Atalanta",
        away="Dortmund",
        status=MatchStatus.SECOND_HALF,
        minute=90,
        added=3,
        score=Score(home=2, away=0),
        prior=Score(home=0, away=2),
        prior_away=Score(home=0, away=0),
    )
    return base.model_copy(update=changes)


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({}, "Atalanta 2-0 Dortmund, 90+3'. 2-2 on aggregate"),
        (
            {"status": MatchStatus.HALF_TIME, "minute": None, "added": None},
            "Half-time: Atalanta 2-0 Dortmund. 2-2 on aggregate",
        ),
        (
            {"status": MatchStatus.SCHEDULED, "score": Score()},
            "Atalanta v Dortmund: scheduled. Dortmund lead 2-0 on aggregate",
        ),
        (
            {"status": MatchStatus.FINISHED, "finished": True, "score": Score(home=0, away=1)},
            "Full-time: Atalanta 0-1 Dortmund. Dortmund lead 3-0 on aggregate",
        ),
        ({"tie": None, "prior": None, "prior_away": None}, "Atalanta 2-0 Dortmund, 90+3'"),
    ],
)
def test_score_line(changes: dict[str, object], line: str) -> None:
    assert score_line(state(**changes)) == line


@pytest.mark.parametrize(
    ("changes", "lang", "line"),
    [
        ({}, "de", "Atalanta 2:0 Dortmund, 90+3'. 2:2 im Gesamtstand"),
        (
            {"status": MatchStatus.FINISHED, "finished": True, "score": Score(home=0, away=1)},
            "de",
            "Abpfiff: Atalanta 0:1 Dortmund. Dortmund führt im Gesamtstand mit 3:0",
        ),
        (
            {"score": Score(home=1, away=0)},
            "it",
            "Atalanta 1-0 Dortmund, 90+3'. Dortmund avanti 2-1 nel doppio confronto",
        ),
    ],
)
def test_score_line_speaks_the_chats_language(
    changes: dict[str, object], lang: str, line: str
) -> None:
    assert score_line(state(**changes), lang) == line


def test_webhook_mode_without_url_or_secret_refuses_to_start_and_quotes_no_token() -> None:
    token = "123456:" + "Z" * 35
    cases = [
        ({"mode": "webhook"}, "bots.telegram.webhook_url"),
        ({"mode": "webhook", "webhook_url": "http://plain.example/x"}, "bots.telegram.webhook_url"),
        (
            {"mode": "webhook", "webhook_url": "https://x.example/h", "secret_token": "short"},
            "bots.telegram.secret_token",
        ),
    ]
    for given_, setting in cases:
        settings = Settings.load(None, bots={"telegram": {"token": token, **given_}})
        with pytest.raises(ConfigError, match=setting) as caught:
            check(settings)
        assert token not in str(caught.value)
    ok = {"mode": "webhook", "webhook_url": "https://x.example/h", "secret_token": "s" * 16}
    check(Settings.load(None, bots={"telegram": {"token": token, **ok}}))
    check(Settings.load(None, bots={"telegram": {"mode": "webhook"}}))  # no token: no bot


def test_bot_settings_are_documented_and_taken_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = Path("config/notifier.toml").read_text()
    sections = {
        "bots": BotsSettings,
        "bots.telegram": TelegramBotSettings,
        "bots.discord": DiscordBotSettings,
        "bots.slack": SlackBotSettings,
    }
    for name, model in sections.items():
        body = text.split(f"[{name}]\n", 1)[1].split("\n[", 1)[0]
        for field, info in model.model_fields.items():
            if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
                continue  # a section of its own
            assert re.search(rf"^#? ?{field} = ", body, re.M), f"{name}.{field} undocumented"
    token = "123456:" + "E" * 35
    monkeypatch.setenv("NOTIFIER_BOTS__TELEGRAM__TOKEN", token)
    monkeypatch.setenv("NOTIFIER_BOTS__TELEGRAM__MODE", "webhook")
    settings = Settings.load(None)
    telegram = settings.bots.telegram
    assert telegram.token is not None and telegram.token.get_secret_value() == token
    assert telegram.mode == "webhook" and token not in repr(settings)
