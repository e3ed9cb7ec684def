"""``workers.fold.batch.BatchFolder.fold``: a batch folded in memory, each match's state written
once per commit chunk (with its last event there), never a state that misses an event of its chunk.

Pure: the folder's Redis client is never touched by ``fold``.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.bus.entries import alert_fields
from notifier.domain.alerts import ALERT
from notifier.domain.engine import (
    MatchState,
    alert_model,
    apply,
    event_struct,
    start,
    state_struct,
)
from notifier.domain.events import Event
from notifier.settings import Settings
from tests.unit.strategies import ALIASES, KEY, T0, TIE, polls, scripted_second_leg
from workers.fold import batch as fold_module
from workers.fold.batch import BatchFolder, StateCache

OTHER = "api-football:900002"


def second_leg(match: str = KEY) -> list[Event]:
    """Every event of the scripted second leg, for ``match`` (ids carry the match key)."""
    events = polls(scripted_second_leg())
    assert all(e.id.startswith(KEY) for e in events)
    return [e.model_copy(update={"match": match, "id": match + e.id[len(KEY) :]}) for e in events]


def fold_batch(
    events: list[Event], seen: set[str] | None = None
) -> tuple[fold_module.Folded, list[MatchState]]:
    """Fold ``events`` as one batch of partition 0; also the state after each event."""
    folder = BatchFolder(None, Settings.load(None), StateCache())  # type: ignore[arg-type]
    states = {e.match: start(e, TIE, ALIASES) for e in events}
    expected, running = [], dict(states)
    for e in events:
        if e.id not in (seen or set()):
            running[e.match], _ = apply(running[e.match], e, T0)
        expected.append(running[e.match])
    batch = [(f"1-{i}", event_struct(e)) for i, e in enumerate(events)]
    structs = {match: state_struct(state) for match, state in states.items()}
    out = folder.fold(0, batch, seen or set(), structs, lambda: T0, strict=True)
    return out, expected


def interleave(a: list[Event], b: list[Event]) -> list[Event]:
    """Two matches' events, alternating (each in its own order)."""
    out: list[Event] = []
    for x, y in zip(a, b, strict=False):
        out += [x, y]
    longer = a if len(a) > len(b) else b
    return out + longer[min(len(a), len(b)) :]


def check_chunks(out: fold_module.Folded, expected: list[MatchState], chunk: int) -> None:
    """Per chunk (no event seen before): each match's state exactly once, on its last fold
    there, equal to the state after that event; every other fold carries none."""
    for start_at in range(0, len(out.commits), chunk):
        commits = out.commits[start_at : start_at + chunk]
        last = {c.state_key: i for i, c in enumerate(commits, start=start_at)}
        for i, c in enumerate(commits, start=start_at):
            if last.get(c.state_key) == i:
                assert MatchState.model_validate_json(c.state) == expected[i]
            else:
                assert c.state == ""


def test_one_state_per_match_per_batch_and_it_is_the_last() -> None:
    events = interleave(second_leg(), second_leg(OTHER))
    out, expected = fold_batch(events)
    written = [c for c in out.commits if c.state]
    assert len(written) == 2
    assert {c.state_key for c in written} == {c.state_key for c in out.commits}
    check_chunks(out, expected, fold_module.COMMIT_CHUNK)
    final = {e.match: expected[i] for i, e in enumerate(events)}
    assert out.written == {m: s.model_dump_json().encode() for m, s in final.items()}
    # Every alert still goes out, each as a valid stream entry of its own.
    # Each row as the stream entry it becomes (its body is given as bytes: passed on raw).
    rows = [
        [v.decode() if isinstance(v, bytes) else v for v in r]
        for c in out.commits
        for r in c.alerts
    ]
    alerts = [dict(zip(row[::2], row[1::2], strict=True)) for row in rows]
    assert len(alerts) == sum(len(a) for a in out.alerts) > 40
    for fields, alert in zip(alerts, [a for al in out.alerts for a in al], strict=True):
        assert fields == alert_fields(alert_model(alert))
        assert ALERT.validate_json(fields["body"]).id == fields["id"]


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_every_chunk_writes_the_state_its_own_events_leave(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between two chunks' commits leaves each committed chunk's states whole."""
    monkeypatch.setattr(fold_module, "COMMIT_CHUNK", chunk)
    out, expected = fold_batch(interleave(second_leg(), second_leg(OTHER)))
    check_chunks(out, expected, chunk)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_seen_events_carry_no_state_and_the_state_moves_to_the_last_fresh_one(
    data: st.DataObject,
) -> None:
    events = second_leg()
    seen = set(data.draw(st.sets(st.sampled_from([e.id for e in events]))))
    out, expected = fold_batch(events, seen)
    fresh = [i for i, e in enumerate(events) if e.id not in seen]
    for i, c in enumerate(out.commits):
        if fresh and i == fresh[-1]:
            assert MatchState.model_validate_json(c.state) == expected[i]
        else:
            assert c.state == ""
        if events[i].id in seen:
            assert c.alerts == ()
    assert out.written == ({KEY: expected[-1].model_dump_json().encode()} if fresh else {})


def test_the_fold_never_touches_redis() -> None:
    """``fold`` is pure: the folder's client is None here, and folding a whole match works."""
    out, expected = fold_batch(second_leg())
    assert out.failed_at is None
    assert expected[-1].finished
    assert out.states[KEY] == state_struct(expected[-1])


def test_an_event_twice_in_one_batch_is_folded_once_and_the_state_rides_on_the_first() -> None:
    """A re-published event (same id, another entry) in the same batch: the script would find
    the second one seen and skip it, so it must not be the one carrying the match's state."""
    events = second_leg()
    goal = next(i for i, e in enumerate(events) if e.type == "goal")
    batch = [*events[: goal + 1], events[goal]]
    out, expected = fold_batch(events[: goal + 1])
    twice, _ = fold_batch(batch)
    assert twice.commits[-1].state == "" and twice.commits[-1].alerts == ()
    assert twice.alerts[-1] == []
    assert MatchState.model_validate_json(twice.commits[-2].state) == expected[-1]
    assert [c.state for c in twice.commits[:-1]] == [c.state for c in out.commits]
