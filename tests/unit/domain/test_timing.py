"""When an alert reaches a subscriber: quiet hours in their time zone, digests, the delay."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from notifier.domain.models import Score
from notifier.domain.timing import DIGEST_HOLD_MS, Digest, QuietHours, bundle, plan
from tests.integration.deliver.test_delivery_support import make_alert


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.mark.parametrize(
    ("at", "ends"),
    [
        ("2026-01-10T21:30:00+00:00", "2026-01-11T07:00:00+01:00"),  # 22:30 in Rome
        ("2026-01-11T05:59:00+00:00", "2026-01-11T07:00:00+01:00"),  # 06:59
        ("2026-01-11T06:00:00+00:00", None),  # 07:00: over
        ("2026-01-10T20:59:00+00:00", None),  # 21:59: not yet
        ("2026-07-10T20:30:00+00:00", "2026-07-11T07:00:00+02:00"),  # 22:30 CEST
    ],
)
def test_quiet_hours_over_midnight_in_the_subscribers_zone(at: str, ends: str | None) -> None:
    quiet = QuietHours(start="22:00", end="07:00", tz="Europe/Rome")
    assert quiet.ends_after(_ms(at)) == (_ms(ends) if ends else None)


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"start": "24:00", "end": "07:00"}, "start"),
        ({"start": "7:00", "end": "07:00"}, "start"),
        ({"start": "22:00", "end": "07:00", "tz": "Mars/Olympus"}, "tz"),
        ({"start": "22:00\n", "end": "07:00"}, "start"),
        ({"start": "22:00", "end": "07:00", "tz": "posixrules"}, "tz"),
        ({"start": "22:00", "end": "07:00", "passing": ["own_goal"]}, "passing"),
        ({"start": "22:00", "end": "07:00", "held": "later"}, "held"),
    ],
)
def test_quiet_hours_are_checked(fields: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError) as err:
        QuietHours.model_validate(fields)
    assert str(err.value.errors()[0]["loc"][0] if err.value.errors()[0]["loc"] else "") == where


@pytest.mark.parametrize(
    ("at", "ends"),
    [
        ("2026-01-10T12:00:00+00:00", "2026-01-10T20:00:00+00:00"),
        ("2026-01-10T20:00:00+00:00", "2026-01-11T20:00:00+00:00"),  # at the end: the next one
        ("2026-01-10T21:00:00+00:00", "2026-01-11T20:00:00+00:00"),
    ],
)
def test_equal_start_and_end_are_the_whole_day(at: str, ends: str) -> None:
    # (a schema cannot compare two fields, so equal times are a rule it can state: all day)
    quiet = QuietHours(start="20:00", end="20:00", tz="UTC")
    assert quiet.ends_after(_ms(at)) == _ms(ends)


def test_plans() -> None:
    night = datetime(2026, 1, 10, 23, 0, tzinfo=UTC)
    goal = make_alert(1, emitted_at=night)
    result = make_alert(2, kind="result", emitted_at=night)
    quiet = QuietHours(start="22:00", end="07:00", tz="UTC", held="summary")
    assert plan(goal, quiet=quiet).route == "quiet"
    assert plan(goal, quiet=quiet).due == _ms("2026-01-11T07:00:00+00:00")
    assert plan(result, quiet=quiet).route == "send"  # result passes by default
    assert plan(goal, quiet=quiet.model_copy(update={"held": "drop"})).route == "drop"
    base = _ms(night.isoformat())
    assert plan(goal, delay_s=60).due == base + 60_000
    assert plan(goal, digest=Digest()).due == base + DIGEST_HOLD_MS
    half = make_alert(3, kind="half_time", emitted_at=night)
    assert plan(half, digest=Digest()).due == base
    every = plan(goal, digest=Digest(by="minutes", minutes=15))
    assert every.route == "digest" and every.due == _ms("2026-01-10T23:15:00+00:00")


def test_a_bundle_lists_what_happened_with_the_score_as_it_stands() -> None:
    alerts = [
        make_alert(1, score=Score(home=1, away=0), aggregate={"Atalanta": 1, "Dortmund": 2}),
        make_alert(2, kind="half_time", text="Half-time: Atalanta 1-0 Dortmund", leader="Dortmund",
                   score=Score(home=1, away=0), aggregate={"Atalanta": 1, "Dortmund": 2}),
    ]  # fmt: skip
    msg = bundle("sub_1", "digest", alerts, Digest())
    assert msg.kind == "digest" and msg.match == alerts[0].match
    assert msg.text.splitlines() == [
        "Half-time digest: Atalanta 1-0 Dortmund, Dortmund lead 2-1 on aggregate",
        "• GOAL 1: Atalanta 1-0 Dortmund",
        "• Half-time: Atalanta 1-0 Dortmund",
    ]
    assert msg.id != bundle("sub_2", "digest", alerts, Digest()).id  # each subscriber's own
