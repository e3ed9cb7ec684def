"""The live message's scoreboard: folded from alerts, a goal ruled out comes off, an alert
folded twice changes nothing."""

from __future__ import annotations

from notifier.domain.board import LiveBoard, fold, text
from notifier.domain.models import Score
from tests.integration.deliver.test_delivery_support import make_alert


def test_the_board_follows_the_alerts() -> None:
    agg = {"Atalanta": 1, "Dortmund": 2}
    goal = make_alert(1, data={"side": "home", "goal": {"player": "Scamacca"}},
                      score=Score(home=1, away=0), aggregate=agg, leader="Dortmund",
                      needs="Atalanta need one goal to force extra time")  # fmt: skip
    away = make_alert(2, data={"side": "away", "goal": {"player": "Guirassy"}},
                      score=Score(home=1, away=1), minute=38)  # fmt: skip
    ruled_out = make_alert(3, kind="goal_cancelled", data={"side": "away"},
                           score=Score(home=1, away=0), minute=40, aggregate=agg,
                           leader="Dortmund")  # fmt: skip
    board = LiveBoard()
    for alert in (goal, away, ruled_out):
        board = fold(board, alert)
    assert text(board).splitlines() == [
        "Atalanta 1-0 Dortmund · 40'",
        "Dortmund lead 2-1 on aggregate",
        "⚽ Scamacca (Atalanta) 21'",
    ]
    assert fold(board, away) == board  # folded before: nothing changes
    assert board.seen == (goal.id, away.id, ruled_out.id)
