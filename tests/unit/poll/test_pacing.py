"""How soon a match is polled again: by phase, kick-off and lineups; backoff and jitter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.domain.models import MatchStatus
from notifier.settings import PollSettings
from workers.poll.pacing import backoff, jittered, lineups_wanted, next_poll

S = MatchStatus
NOW = datetime(2026, 3, 11, 19, 0, tzinfo=UTC)
POLL = PollSettings()
MIN = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("status", "kickoff", "wanted", "expected"),
    [
        (S.FIRST_HALF, NOW, False, POLL.live_s),
        (S.SECOND_HALF, None, False, POLL.live_s),
        (S.EXTRA_TIME, None, False, POLL.live_s),
        (S.PENALTIES, None, False, POLL.live_s),
        (S.HALF_TIME, None, False, POLL.half_time_s),
        (S.SUSPENDED, None, False, POLL.half_time_s),
        (S.FINISHED, None, False, None),
        (S.CANCELLED, None, False, None),
        (S.ABANDONED, None, False, None),
        (None, None, False, POLL.pre_match_s),
        (S.SCHEDULED, None, False, POLL.pre_match_s),
        # Days away: sleep until the lineup window opens, but re-check every idle_max_s.
        (S.SCHEDULED, NOW + timedelta(days=3), False, POLL.idle_max_s),
        (S.SCHEDULED, NOW + 90 * MIN, False, 30 * 60.0),
        # In the window: every lineup_s while the lineups are wanted, else wait for kick-off.
        (S.SCHEDULED, NOW + 50 * MIN, True, POLL.lineup_s),
        (S.SCHEDULED, NOW + 50 * MIN, False, 49 * 60.0),
        (S.SCHEDULED, NOW + 3 * MIN, True, 2 * 60.0),
        # About to kick off, or late: live pace; hours late: back to the pre-match pace.
        (S.SCHEDULED, NOW + 30 * timedelta(seconds=1), False, POLL.live_s),
        (S.SCHEDULED, NOW - 20 * MIN, False, POLL.live_s),
        (S.SCHEDULED, NOW - timedelta(hours=4), False, POLL.pre_match_s),
    ],
)
def test_next_poll(
    status: MatchStatus | None, kickoff: datetime | None, wanted: bool, expected: float | None
) -> None:
    assert next_poll(status, kickoff, NOW, POLL, lineups_wanted=wanted) == expected


@given(
    st.sampled_from([None, *MatchStatus]),
    st.one_of(
        st.none(), st.integers(-86400 * 3, 86400 * 30).map(lambda s: NOW + timedelta(seconds=s))
    ),
    st.booleans(),
)
def test_next_poll_is_positive_bounded_and_stops_only_when_over(
    status: MatchStatus | None, kickoff: datetime | None, wanted: bool
) -> None:
    seconds = next_poll(status, kickoff, NOW, POLL, lineups_wanted=wanted)
    over = status in (S.FINISHED, S.CANCELLED, S.ABANDONED)
    assert (seconds is None) == over
    if seconds is not None:
        assert 0 < seconds <= POLL.idle_max_s


def test_lineups_are_wanted_in_the_window_until_known() -> None:
    assert lineups_wanted(False, NOW + 30 * MIN, NOW, POLL)
    assert not lineups_wanted(True, NOW + 30 * MIN, NOW, POLL)
    assert not lineups_wanted(False, NOW + 2 * timedelta(hours=1), NOW, POLL)
    assert lineups_wanted(False, NOW - 10 * MIN, NOW, POLL)
    assert not lineups_wanted(False, NOW - 20 * MIN, NOW, POLL)
    assert not lineups_wanted(False, None, NOW, POLL)


@given(st.floats(0.1, 3600), st.floats(0, 10))
def test_jitter_adds_at_most_a_quarter_or_jitter_s(seconds: float, jitter: float) -> None:
    poll = PollSettings(jitter_s=jitter)
    assert seconds <= jittered(seconds, poll) <= seconds + min(jitter, seconds / 4) + 1e-9


@given(st.integers(1, 40), st.one_of(st.none(), st.floats(0, 7200)))
def test_backoff_grows_is_capped_and_obeys_retry_after(
    failures: int, retry_after: float | None
) -> None:
    wait = backoff(failures, 15.0, POLL, retry_after)
    ceiling = min(15.0 * 2 ** min(failures, 16), POLL.max_backoff_s)
    assert wait >= (retry_after or 0.0)
    assert wait <= max(ceiling, retry_after or 0.0)
    assert wait >= ceiling / 2 or retry_after is not None
