"""Replay timeline: what the replay feed serves at key virtual instants (pure; reads fixtures)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.errors import FeedParseError
from notifier.feeds.api_football.parse import parse_fixture
from notifier.replay.api_football import Timeline
from tests.recordings import SPAIN_CROATIA, TURKIYE_PORTUGAL, require

REPO = Path(__file__).resolve().parents[3]
SCENARIO = REPO / "notifier" / "data" / "scenarios" / "atalanta-dortmund-2nd-leg.json"
MIN = 60.0
STEP = 15.0
ORDER = {"NS": 0, "1H": 1, "HT": 2, "2H": 3, "BT": 4, "ET": 4, "P": 5}  # BT: both ET breaks


def recording(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(require(path).read_bytes())
    return data


def fixture_at(tl: Timeline, t: float) -> dict[str, Any]:
    [item] = tl.at(t)["response"]
    assert isinstance(item, dict)
    return item


def status(item: dict[str, Any]) -> tuple[str, int | None, int | None]:
    s = item["fixture"]["status"]
    return s["short"], s["elapsed"], s.get("extra")


def pair(item: dict[str, Any], key: str | None = None) -> tuple[int | None, int | None]:
    p = item["goals"] if key is None else item["score"][key]
    return p["home"], p["away"]


def first(tl: Timeline, test: Callable[[dict[str, Any]], bool], start: float = -3600) -> float:
    """The first instant (on a 15 s grid) at which the served fixture passes ``test``."""
    t = start
    while t <= tl.end:
        if test(fixture_at(tl, t)):
            return t
        t += STEP
    raise AssertionError("never happens")


def names(item: dict[str, Any], type_: str | None = None) -> list[str]:
    return [e["player"]["name"] for e in item["events"] if type_ is None or e["type"] == type_]


def instants(tl: Timeline) -> list[float]:
    t, out = -50 * MIN, []
    while t <= tl.end + MIN:
        out.append(t)
        t += STEP
    return out


# --- real recordings -----------------------------------------------------------------------


def test_spain_croatia_before_kickoff() -> None:
    tl = Timeline(recording(SPAIN_CROATIA))
    assert tl.fixture_id == 1145511
    early = tl.at(-41 * MIN)
    assert (early["get"], early["errors"], early["results"]) == ("fixtures", [], 1)
    item = early["response"][0]
    assert status(item) == ("NS", None, None)
    assert pair(item) == (None, None)
    assert all(pair(item, k) == (None, None) for k in item["score"])
    assert item["events"] == [] and item["lineups"] == []
    assert item["teams"]["home"]["winner"] is None
    assert item["fixture"]["periods"] == {"first": None, "second": None}
    out = fixture_at(tl, -40 * MIN)
    assert status(out)[0] == "NS" and len(out["lineups"]) == 2
    assert tl.lineups_at(-41 * MIN) == [] and len(tl.lineups_at(-40 * MIN)) == 2


def test_spain_croatia_goals_are_revealed_after_their_minute() -> None:
    tl = Timeline(recording(SPAIN_CROATIA))
    kickoff = fixture_at(tl, 0)
    assert status(kickoff) == ("1H", 1, None) and pair(kickoff) == (0, 0)
    morata = first(tl, lambda i: "Álvaro Morata" in names(i, "Goal"))
    item = fixture_at(tl, morata)
    assert morata == 29 * MIN
    assert (status(item)[1] or 0) >= 29 and pair(item) == (1, 0)
    assert item["teams"]["home"]["winner"] is True and item["teams"]["away"]["winner"] is False
    assert pair(fixture_at(tl, morata - STEP)) == (0, 0)
    carvajal = first(tl, lambda i: "Dani Carvajal" in names(i, "Goal"))
    assert status(fixture_at(tl, carvajal - STEP))[2] is not None  # in first-half stoppage


def test_spain_croatia_half_time_and_full_time() -> None:
    tl = Timeline(recording(SPAIN_CROATIA))
    ht = first(tl, lambda i: status(i)[0] == "HT")
    item = fixture_at(tl, ht)
    assert status(item) == ("HT", 45, 2)
    assert pair(item) == (3, 0) and pair(item, "halftime") == (3, 0)
    assert pair(item, "fulltime") == (None, None)
    second = first(tl, lambda i: status(i)[0] == "2H")
    assert second - ht == 15 * MIN
    assert status(fixture_at(tl, second)) == ("2H", 46, None)
    assert fixture_at(tl, second)["fixture"]["periods"]["second"] == 1718470800
    last = fixture_at(tl, tl.end - 1)
    assert status(last)[0] == "2H" and pair(last) == (3, 0)
    assert pair(last, "fulltime") == (None, None)


def test_spain_croatia_provisional_petkovic_goal_then_var() -> None:
    tl = Timeline(recording(SPAIN_CROATIA))
    shown = first(tl, lambda i: "Bruno Petković" in names(i, "Goal"))
    item = fixture_at(tl, shown)
    assert status(item)[0] == "2H" and (status(item)[1] or 0) >= 81
    assert pair(item) == (3, 1)
    [goal] = [e for e in item["events"] if e["type"] == "Goal" and e["team"]["id"] == 3]
    assert (goal["detail"], goal["time"]["elapsed"]) == ("Normal Goal", 81)
    assert "Var" not in [e["type"] for e in item["events"]]
    snapshot = parse_fixture(item)
    assert [g.player for g in snapshot.goals][-1] == "Bruno Petković"
    after = fixture_at(tl, shown + MIN)
    assert pair(after) == (3, 0)
    assert "Bruno Petković" not in names(after, "Goal")
    assert [(e["detail"], e["player"]["name"]) for e in after["events"] if e["type"] == "Var"] == [
        ("Goal cancelled", "Bruno Petković")
    ]
    assert fixture_at(tl, shown - STEP)["goals"] == {"home": 3, "away": 0}


def test_var_for_a_dropped_goal_keeps_the_players_earlier_goal() -> None:
    data = copy.deepcopy(recording(SPAIN_CROATIA))
    item = data["response"][0]
    [var] = [e for e in item["events"] if e["type"] == "Var"]
    earlier = {**copy.deepcopy(var), "type": "Goal", "detail": "Normal Goal"}
    earlier["time"] = {"elapsed": 75, "extra": None}
    item["events"].insert(item["events"].index(var), earlier)
    item["goals"]["away"] = 1
    item["score"]["fulltime"]["away"] = 1
    tl = Timeline(data)
    provisional = first(tl, lambda i: names(i, "Goal").count("Bruno Petković") == 2)
    assert pair(fixture_at(tl, provisional)) == (3, 2)
    after = fixture_at(tl, provisional + MIN)
    assert pair(after) == (3, 1) and names(after, "Goal").count("Bruno Petković") == 1
    assert pair(fixture_at(tl, tl.end - 1)) == (3, 1)


def test_turkiye_portugal_own_goal_and_scores() -> None:
    tl = Timeline(recording(TURKIYE_PORTUGAL))
    own = first(tl, lambda i: "Own Goal" in [e["detail"] for e in i["events"]])
    assert own == 28 * MIN and pair(fixture_at(tl, own)) == (0, 2)
    ht = fixture_at(tl, first(tl, lambda i: status(i)[0] == "HT"))
    assert pair(ht, "halftime") == (0, 2)
    assert status(ht) == ("HT", 45, 1)  # no stoppage event recorded: one minute, the minimum
    assert pair(fixture_at(tl, tl.end - 1)) == (0, 3)


@pytest.mark.parametrize("path", [SPAIN_CROATIA, TURKIYE_PORTUGAL, SCENARIO], ids=lambda p: p.stem)
def test_final_state_is_the_recording(path: Path) -> None:
    data = recording(path)
    tl = Timeline(data)
    assert fixture_at(tl, tl.end) == data["response"][0]
    assert fixture_at(tl, tl.end + 3600) == data["response"][0]
    before = fixture_at(tl, tl.end - 1)
    final = data["response"][0]
    assert pair(before) == pair(final)
    key = [orjson.dumps(e) for e in final["events"]]
    served = [orjson.dumps(e) for e in before["events"]]
    # a kick or a last-minute event may still be due at end - 1; nothing unrecorded may be left
    assert set(served) <= set(key)


@pytest.mark.parametrize("path", [SPAIN_CROATIA, TURKIYE_PORTUGAL, SCENARIO], ids=lambda p: p.stem)
def test_every_instant_is_consistent(path: Path) -> None:
    tl = Timeline(recording(path))
    phase, total = -1, 0
    for t in instants(tl):
        item = fixture_at(tl, t)
        short, elapsed, _ = status(item)
        if t < tl.end:
            assert ORDER[short] >= phase, f"status went back to {short} at {t}"
            phase = ORDER[short]
        snapshot = parse_fixture(item)  # our own adapter reads every served payload
        if short == "NS":
            continue
        home, away = pair(item)
        assert home is not None and away is not None
        assert len(snapshot.goals) == home + away, f"goal events and score disagree at {t}"
        assert home + away >= total - 1  # one goal at a time comes back off
        total = home + away
        for e in item["events"]:
            assert e["time"]["elapsed"] <= max(elapsed or 0, 120)


# --- the scripted scenario -----------------------------------------------------------------


def test_scenario_regulation() -> None:
    tl = Timeline(recording(SCENARIO))
    assert tl.fixture_id == 900001
    scamacca = first(tl, lambda i: "Scamacca" in names(i, "Goal"))
    assert scamacca == 23 * MIN and pair(fixture_at(tl, scamacca)) == (1, 0)
    guirassy = first(tl, lambda i: "Guirassy" in names(i, "Goal"))
    assert guirassy == 38 * MIN and pair(fixture_at(tl, guirassy)) == (1, 1)
    assert fixture_at(tl, guirassy)["teams"]["home"]["winner"] is None
    var = first(tl, lambda i: "Var" in [e["type"] for e in i["events"]])
    assert var == 40 * MIN and pair(fixture_at(tl, var)) == (1, 0)
    assert "Guirassy" in names(fixture_at(tl, var), "Goal")  # the recording keeps the goal event
    stoppage = {status(fixture_at(tl, t))[2] for t in instants(tl) if t < 48 * MIN}
    assert 2 in stoppage
    ht = fixture_at(tl, first(tl, lambda i: status(i)[0] == "HT"))
    assert pair(ht, "halftime") == (1, 0)
    red = first(tl, lambda i: "Red Card" in [e["detail"] for e in i["events"]])
    assert (status(fixture_at(tl, red))[1] or 0) >= 67
    pasalic = fixture_at(tl, first(tl, lambda i: "Pasalic" in names(i, "Goal")))
    assert pair(pasalic) == (2, 0)
    bt = fixture_at(tl, first(tl, lambda i: status(i)[0] == "BT"))
    assert status(bt) == ("BT", 90, 4)
    assert pair(bt, "fulltime") == (2, 0) and pair(bt, "extratime") == (None, None)


def test_scenario_extra_time_and_shootout() -> None:
    tl = Timeline(recording(SCENARIO))
    et = first(tl, lambda i: status(i)[0] == "ET")
    assert status(fixture_at(tl, et)) == ("ET", 91, None)
    beier = first(tl, lambda i: "Beier" in names(i, "Goal"))
    assert status(fixture_at(tl, beier))[0] == "ET" and pair(fixture_at(tl, beier)) == (2, 1)
    back = fixture_at(tl, beier + MIN)
    assert pair(back) == (2, 0) and [e["type"] for e in back["events"]].count("Var") == 2
    pause = first(tl, lambda i: status(i)[:2] == ("BT", 105), start=et)
    assert pair(fixture_at(tl, pause), "extratime") == (None, None)
    shootout = first(tl, lambda i: status(i)[0] == "P")
    p = fixture_at(tl, shootout)
    assert status(p) == ("P", 120, None)
    assert pair(p) == (2, 0) and pair(p, "extratime") == (0, 0) and pair(p, "penalty") == (0, 0)
    running = []
    for kick in range(1, 11):
        item = fixture_at(tl, shootout + kick * MIN)
        kicks = [e for e in item["events"] if e["comments"] == "Penalty Shootout"]
        assert len(kicks) == kick and status(item)[0] == "P"
        running.append(pair(item, "penalty"))
        assert pair(item) == (2, 0)
    assert running == [
        (1, 0),
        (1, 1),
        (2, 1),
        (2, 2),
        (3, 2),
        (3, 3),
        (4, 3),
        (4, 4),
        (5, 4),
        (5, 4),
    ]
    final = fixture_at(tl, tl.end)
    assert status(final) == ("PEN", 120, 2) and final["teams"]["home"]["winner"] is True
    assert tl.end == shootout + 11 * MIN


# --- other shapes of recording -------------------------------------------------------------


def scenario_variant(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(recording(SCENARIO))
    change(data["response"][0])
    return data


def _no_shootout(item: dict[str, Any]) -> None:
    item["events"] = [e for e in item["events"] if e["comments"] != "Penalty Shootout"]
    item["score"]["penalty"] = {"home": None, "away": None}
    item["fixture"]["status"].update(short="AET", long="Match Finished After Extra Time")


def test_extra_time_without_shootout() -> None:
    tl = Timeline(scenario_variant(_no_shootout))
    statuses = {status(fixture_at(tl, t))[0] for t in instants(tl) if t < tl.end}
    assert "P" not in statuses and {"ET", "BT"} <= statuses
    assert status(fixture_at(tl, tl.end))[0] == "AET"
    assert pair(fixture_at(tl, tl.end - 1), "extratime") == (None, None)


def _straight_to_pens(item: dict[str, Any]) -> None:
    item["events"] = [
        e
        for e in item["events"]
        if e["time"]["elapsed"] <= 90 or e["comments"] == "Penalty Shootout"
    ]
    item["score"]["extratime"] = {"home": None, "away": None}
    item["fixture"]["status"].update(elapsed=90, extra=None)


def test_shootout_straight_after_ninety_minutes() -> None:
    tl = Timeline(scenario_variant(_straight_to_pens))
    shootout = first(tl, lambda i: status(i)[0] == "P")
    before = fixture_at(tl, shootout - STEP)
    assert status(before)[0] == "2H"
    assert status(fixture_at(tl, shootout)) == ("P", 90, None)
    assert "ET" not in {status(fixture_at(tl, t))[0] for t in instants(tl)}


def _kicks_numbered(item: dict[str, Any]) -> None:
    kicks = [e for e in item["events"] if e["comments"] == "Penalty Shootout"]
    for n, kick in enumerate(kicks, start=1):
        kick["time"]["extra"] = n  # some feeds number the kicks in time.extra


def test_numbered_kicks_do_not_stretch_stoppage_time() -> None:
    plain = Timeline(recording(SCENARIO))
    numbered = Timeline(scenario_variant(_kicks_numbered))
    assert numbered.end == plain.end


def _uncommented_kicks(item: dict[str, Any]) -> None:
    for e in item["events"]:
        if e["comments"] == "Penalty Shootout":
            e["comments"] = None


def test_uncommented_kicks_are_still_a_shootout() -> None:
    tl = Timeline(scenario_variant(_uncommented_kicks))
    shootout = first(tl, lambda i: status(i)[0] == "P")
    assert pair(fixture_at(tl, shootout + 9 * MIN), "penalty") == (5, 4)
    assert pair(fixture_at(tl, shootout + 9 * MIN)) == (2, 0)


def _live_at_seventy(item: dict[str, Any]) -> None:
    item["events"] = [e for e in item["events"] if e["time"]["elapsed"] <= 70]
    item["goals"] = {"home": 1, "away": 0}
    item["fixture"]["status"] = {"long": "Second Half", "short": "2H", "elapsed": 70, "extra": None}


def test_recording_of_a_live_match_stops_where_it_was_recorded() -> None:
    data = scenario_variant(_live_at_seventy)
    tl = Timeline(data)
    assert status(fixture_at(tl, tl.end)) == ("2H", 70, None)
    assert status(fixture_at(tl, tl.end - STEP))[0] == "2H"
    assert fixture_at(tl, tl.end + 3600) == data["response"][0]


@pytest.mark.parametrize("short", ["NS", "PST", "CANC", "TBD"])
def test_match_not_played(short: str) -> None:
    def unplayed(item: dict[str, Any]) -> None:
        item["events"], item["goals"] = [], {"home": None, "away": None}
        item["fixture"]["status"] = {"long": "x", "short": short, "elapsed": None, "extra": None}

    data = scenario_variant(unplayed)
    tl = Timeline(data)
    assert tl.end == 0
    assert status(fixture_at(tl, -60))[0] == "NS"
    assert fixture_at(tl, 60) == data["response"][0]


def test_lineups_window_is_configurable() -> None:
    tl = Timeline(recording(SCENARIO), lineups_before=20)
    assert fixture_at(tl, -21 * MIN)["lineups"] == []
    assert len(fixture_at(tl, -20 * MIN)["lineups"]) == 2


@pytest.mark.parametrize(
    "bad",
    [
        [],
        "x",
        {"response": []},
        {"response": [{}, {}]},
        {"response": ["x"]},
        {"errors": {"token": "missing"}, "response": []},
        {"errors": [], "response": [{"fixture": {"id": 1}}]},
    ],
    ids=["list", "string", "empty", "two", "not-object", "error-answer", "no-teams"],
)
def test_malformed_recording_raises(bad: Any) -> None:
    with pytest.raises(FeedParseError):
        Timeline(bad)


SOURCES = [SPAIN_CROATIA, TURKIYE_PORTUGAL, SCENARIO]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SOURCES), st.data())
def test_events_moved_in_time_still_replay(path: Path, data: st.DataObject) -> None:
    """Events at any minute (stoppage, extra time, odd orders) never break the timeline."""
    doc = orjson.loads(path.read_bytes())
    for e in doc["response"][0]["events"]:
        if data.draw(st.booleans()):
            e["time"]["elapsed"] = data.draw(st.integers(0, 130))
            e["time"]["extra"] = data.draw(st.none() | st.integers(0, 15))
    tl = Timeline(doc)
    for t in (-3600.0, 0.0, tl.end / 3, tl.end / 2, tl.end - 1, tl.end):
        item = fixture_at(tl, t)
        assert all(v is None or v >= 0 for v in item["goals"].values())
    assert fixture_at(tl, tl.end) == doc["response"][0]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def mutate(node: Any, data: st.DataObject) -> None:
    """Walk down a random path, then drop or replace what is there."""
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        key = data.draw(st.sampled_from(keys))
        if isinstance(node[key], dict | list) and node[key] and data.draw(st.integers(0, 9)) < 8:
            node = node[key]
            continue
        if data.draw(st.booleans()):
            del node[key]
        else:
            node[key] = data.draw(JSON_VALUES)
        return


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SOURCES), st.data())
def test_mutated_recording_replays_or_raises_feed_parse_error(
    path: Path, data: st.DataObject
) -> None:
    doc = orjson.loads(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        mutate(doc, data)
    try:
        tl = Timeline(doc)
    except FeedParseError:
        return
    for t in (-3600.0, 0.0, tl.end / 2, tl.end - 1, tl.end, tl.end + 10**6):
        assert len(tl.at(t)["response"]) == 1
        assert isinstance(tl.lineups_at(t), list)
