"""The offline journey, with the real CLI in subprocesses and nothing configured by hand:
``replay-server`` of a recorded ESPN scoreboard, then ``teams search``, ``follow team``,
``status`` and ``run``: every goal of the followed team's match arrives, and nothing of the
other matches of the scoreboard."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.journey import PACE, background, cli, journey_env, lines_until, replay_feed
from tests.recordings import ESPN_MLS, require


async def test_search_follow_run_every_goal_arrives(tmp_path: Path) -> None:
    recording = require(ESPN_MLS)
    env = journey_env(tmp_path, "")
    # The feed's clock stands still until `run` first asks for matches (searching and following
    # take no match time); then kick-off in half a second, and the match in 6 s.
    feed_args = ("--speed", "1200", "--start", "-600")
    async with replay_feed(env, tmp_path, "espn", recording, *feed_args) as url:
        env = journey_env(tmp_path, url)
        code, out, _ = await cli(env, tmp_path, "teams", "search", "new york city", "--json")
        [team] = [json.loads(line) for line in out.splitlines()]
        assert code == 0 and (team["provider"], team["id"], team["name"]) == (
            "espn",
            "17606",
            "New York City FC",
        )
        code, _, err = await cli(env, tmp_path, "follow", "team", "New York")
        assert code == 1 and "New York Red Bulls" in err, "ambiguous: refused, candidates named"
        code, out, _ = await cli(env, tmp_path, "follow", "team", "New York City FC")
        assert code == 0 and "following New York City FC in espn:usa.1" in out
        async with background({**env, **PACE}, tmp_path, "run") as run:
            assert run.stdout is not None
            alerts = await lines_until(run.stdout, "Full-time", within=60)
            code, status, _ = await cli(env, tmp_path, "status", "--json")
    goals = [a for a in alerts if a.startswith("GOAL")]
    assert goals == [
        "GOAL New York City FC 1-0 New York Red Bulls (Alexander Callens 1')",
        "GOAL New York City FC 2-0 New York Red Bulls (Santiago Rodríguez 23')",
    ]
    assert all("New York City FC" in a for a in alerts), "nothing of the other matches"
    summary = json.loads(status)
    assert [f["id"] for f in summary["follows"]] == ["espn:usa.1"]
    assert summary["providers"]["espn"]["outcome"] == "ok"
    assert not (tmp_path / "var").exists(), "nothing written where the commands ran"
