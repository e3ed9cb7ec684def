"""``notifier replay --delay``, checked from outside: the command's own output, as it comes.

Spain v Croatia (Euro 2024) has a real VAR decision: Petković's 81st-minute goal, ruled out.
The replay shows it for a minute before VAR takes it back; a console five minutes behind
never prints the goal nor its cancellation, prints every other alert in order, and prints
none of them before it is due (on the replay's clock: ``--speed`` scales the delay).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import datetime

import pytest

from tests.recordings import SPAIN_CROATIA, require

pytestmark = pytest.mark.e2e
SPEED, DELAY = 600, 300  # five minutes of the match: half a second here
MATCH = "api-football:1145511"
EXPECTED = [
    "Lineups: Spain (4-3-3) Unai Simón; Dani Carvajal, Robin Le Normand, Nacho, Marc Cucurella; "
    "Pedri, Rodri, Fabián Ruiz; Lamine Yamal, Álvaro Morata, Nico Williams",
    "Lineups: Croatia (4-3-3) D. Livaković; J. Stanišić, J. Šutalo, M. Pongračić, J. Gvardiol; "
    "L. Modrić, M. Brozović, M. Kovačić; L. Majer, A. Budimir, A. Kramarić",
    "Kick-off: Spain v Croatia",
    "GOAL Spain 1-0 Croatia (Álvaro Morata 29')",
    "GOAL Spain 2-0 Croatia (Fabián Ruiz 32')",
    "GOAL Spain 3-0 Croatia (Dani Carvajal 45+2')",
    "Half-time: Spain 3-0 Croatia",
    "Second half under way: Spain 3-0 Croatia",
    "Yellow card: Rodri (Spain) 78'. Spain 3-0 Croatia",
    "Full-time: Spain 3-0 Croatia",
]


async def test_replay_with_a_delay_longer_than_the_review_never_shows_the_ruled_out_goal(
    redis_url: str,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env |= {"REDIS_URL": redis_url, "NOTIFIER_CONFIG": os.devnull}
    args = [str(require(SPAIN_CROATIA)), "--speed", str(SPEED), "--delay", str(DELAY), "--json"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workers.cli", "replay", *args,
        env=env, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[tuple[float, dict[str, object]]] = []
    async with asyncio.timeout(60):
        while line := await proc.stdout.readline():
            alert = json.loads(line)
            if alert["match"] == MATCH:  # not what other tests left on the shared server
                lines.append((time.time(), alert))
        assert await proc.wait() == 0
    assert [a["text"] for _, a in lines] == EXPECTED
    for printed, alert in lines:
        emitted = datetime.fromisoformat(str(alert["emitted_at"])).timestamp()
        assert printed >= emitted + DELAY / SPEED, f"early: {alert['text']}"
