"""The SSE filter index: it finds exactly the clients whose filter wants an alert."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from notifier.api.sse import AlertInfo, Filter, FilterIndex

DORTMUND_GOAL = AlertInfo("goal", "m1", "t1", "ucl", frozenset({"dortmund", "atalanta"}), b"{}")


def names(*values: str) -> frozenset[str]:
    return frozenset(values)


def test_an_alert_reaches_the_groups_that_follow_it_and_no_other() -> None:
    index: FilterIndex[str] = FilterIndex()
    index.add(Filter(), "all")
    index.add(Filter(), "all-too")
    index.add(Filter(teams=names("dortmund")), "fan")
    index.add(Filter(teams=names("dortmund"), kinds=names("result")), "results-only")
    index.add(Filter(teams=names("inter")), "other-team")
    index.add(Filter(matches=names("m1")), "match")
    index.add(Filter(ties=names("t1")), "tie")
    index.add(Filter(competitions=names("ucl")), "competition")
    index.add(Filter(ties=names("t2"), competitions=names("ucl")), "either")
    assert sorted(index.wanting(DORTMUND_GOAL)) == [
        "all",
        "all-too",
        "competition",
        "either",
        "fan",
        "match",
        "tie",
    ]
    assert len(index) == 9 and "fan" in index and "nobody" not in index


def test_discarding_the_last_member_of_a_filter_forgets_the_filter() -> None:
    index: FilterIndex[str] = FilterIndex()
    fan = Filter(teams=names("dortmund"))
    index.add(fan, "a")
    index.add(fan, "b")
    index.add(fan, "a")  # once only
    index.discard(fan, "a")
    index.discard(fan, "nobody")
    index.discard(Filter(), "a")  # not under that filter
    assert index.wanting(DORTMUND_GOAL) == ["b"] and len(index) == 1
    index.discard(fan, "b")
    assert index.wanting(DORTMUND_GOAL) == [] and len(index) == 0 and list(index) == []


few = st.sampled_from
filters = st.builds(
    Filter,
    teams=st.frozensets(few(["dortmund", "atalanta", "inter"]), max_size=2),
    matches=st.frozensets(few(["m1", "m2", ""]), max_size=1),
    ties=st.frozensets(few(["t1", "t2"]), max_size=1),
    competitions=st.frozensets(few(["ucl", "serie a"]), max_size=1),
    kinds=st.frozensets(few(["goal", "result"]), max_size=1),
)
infos = st.builds(
    AlertInfo,
    kind=few(["goal", "result", "red_card"]),
    match=few(["m1", "m2", ""]),
    tie=few(["t1", "t2", ""]),
    competition=few(["ucl", "serie a", ""]),
    teams=st.frozensets(few(["dortmund", "atalanta", "inter", "milan"]), max_size=2),
    body=st.just(b"{}"),
)


@given(st.lists(filters, max_size=12), infos, st.sets(st.integers(0, 11)))
def test_the_index_agrees_with_asking_every_filter(
    members: list[Filter], info: AlertInfo, gone: set[int]
) -> None:
    index: FilterIndex[int] = FilterIndex()
    for n, flt in enumerate(members):
        index.add(flt, n)
    for n in gone & set(range(len(members))):
        index.discard(members[n], n)
    present = [n for n in range(len(members)) if n not in gone]
    assert sorted(index.wanting(info)) == [n for n in present if members[n].wants(info)]
    assert sorted(index) == present
