"""Shoot-outs told in the order taken, whatever order the feed lists the kicks in.

API-Football's real feeds list the kicks last kick first, each with its number as the stoppage
minute (``time: {elapsed: 120, extra: 7}`` is the seventh kick); others list them first kick
first, ESPN only the ones that went in. The demo's recorded fixture is replayed with its kick
list reversed, shuffled, numbered or not; the kick alerts must be the same every time.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from notifier.domain.alerts import Alert
from notifier.domain.models import Score, ShootoutKick, Side
from notifier.domain.shootout import decided_at, in_order, over, plausible
from tests.unit.domain.pure_replay import replay_alerts, scenario

TAKEN = [
    ("Krstovic", 1, 0),
    ("Guirassy", 1, 1),
    ("Pasalic", 2, 1),
    ("Sabitzer", 2, 2),
    ("Samardzic", 3, 2),
    ("Adeyemi", 3, 3),
    ("Djimsiti", 4, 3),
    ("Gross", 4, 4),
    ("Musah", 5, 4),
    ("Svensson", 5, 4),
]


def with_kicks(order: list[int], *, numbered: bool, comment: str | None) -> dict[str, Any]:
    """The demo fixture with its kicks listed in ``order`` (indexes into the order taken)."""
    rec = scenario()
    events = rec["response"][0]["events"]
    kicks = [e for e in events if e.get("comments") == "Penalty Shootout"]
    rest = [e for e in events if e.get("comments") != "Penalty Shootout"]
    for n, kick in enumerate(kicks, start=1):
        kick["time"] = {"elapsed": 120, "extra": n if numbered else None}
        kick["comments"] = comment
    rec["response"][0]["events"] = rest + [kicks[i] for i in order]
    return rec


def told(alerts: list[Alert]) -> list[tuple[str | None, int, int]]:
    kicks = [a for a in alerts if a.kind == "shootout" and "phase" not in a.data]
    return [(a.data.get("player"), a.shootout.home, a.shootout.away) for a in kicks if a.shootout]


def check(alerts: list[Alert]) -> None:
    assert told(alerts) == TAKEN
    kinds = [a.kind for a in alerts]
    assert kinds[-1] == "result" and kinds.index("result") > max(
        i for i, k in enumerate(kinds) if k == "shootout"
    )
    start = kinds.index("shootout")
    assert alerts[start].data == {"phase": "penalties"}  # "Penalties under way", before any kick
    last = [a for a in alerts if a.kind == "shootout"][-1]
    assert last.data.get("decisive") is True


def test_kicks_listed_in_order_taken() -> None:
    check(replay_alerts(with_kicks(list(range(10)), numbered=False, comment="Penalty Shootout")))


def test_kicks_listed_last_first_with_their_numbers_as_api_football_serves_them() -> None:
    order = list(range(10))[::-1]
    check(replay_alerts(with_kicks(order, numbered=True, comment="Penalty Shootout")))


def test_kicks_numbered_with_unmarked_comments() -> None:
    """Older feeds leave the comment out: the trailing 120' penalties are the kicks."""
    order = list(range(10))[::-1]
    check(replay_alerts(with_kicks(order, numbered=True, comment=None)))


@settings(max_examples=5, deadline=None, phases=[Phase.generate])
@given(st.permutations(list(range(10))))
def test_kicks_shuffled_with_their_numbers(order: list[int]) -> None:
    check(replay_alerts(with_kicks(order, numbered=True, comment="Penalty Shootout")))


# --- the shoot-out itself (pure) -----------------------------------------------------------------


@st.composite
def shootouts(draw: st.DrawFn) -> list[ShootoutKick]:
    """A shoot-out as it happens: sides take turns, it stops at the kick that decides it."""
    first: Side = draw(st.sampled_from(["home", "away"]))
    second: Side = "away" if first == "home" else "home"
    kicks: list[ShootoutKick] = []
    for n in range(1, 31):
        side = first if n % 2 else second
        kicks.append(
            ShootoutKick(order=n, side=side, player=f"p{n}", scored=draw(st.booleans()), number=n)
        )
        if decided_at(kicks) is not None:
            return kicks
    return kicks


@given(shootouts(), st.randoms())
def test_numbered_kicks_in_any_order_come_out_in_the_order_taken(
    kicks: list[ShootoutKick], rnd: random.Random
) -> None:
    listed = kicks[:]
    rnd.shuffle(listed)
    assert in_order(listed) == tuple(kicks)


@given(shootouts())
def test_a_decided_shoot_out_listed_last_first_reads_forwards(kicks: list[ShootoutKick]) -> None:
    bare = [k.model_copy(update={"number": None}) for k in kicks]
    if decided_at(bare) is not None and not plausible(bare[::-1]):
        assert in_order(bare[::-1]) == tuple(k.model_copy(update={"number": None}) for k in kicks)


@given(shootouts())
def test_kicks_told_one_poll_at_a_time_last_first(kicks: list[ShootoutKick]) -> None:
    """A live feed that lists the newest kick first: each poll's list read against the last."""
    bare = [k.model_copy(update={"number": None}) for k in kicks]
    known: tuple[ShootoutKick, ...] = ()
    for n in range(1, len(bare) + 1):
        known = in_order(bare[:n][::-1], known)
    assert [k.player for k in known] == [k.player for k in bare]


def test_decided_within_five_and_in_sudden_death() -> None:
    assert over(Score(home=3, away=0), Score(home=3, away=3))  # 3-0 after three each
    assert not over(Score(home=3, away=1), Score(home=3, away=3))
    assert over(Score(home=4, away=2), Score(home=4, away=4))
    assert not over(Score(home=5, away=5), Score(home=6, away=5))  # sudden death, away to kick
    assert over(Score(home=6, away=5), Score(home=6, away=6))
