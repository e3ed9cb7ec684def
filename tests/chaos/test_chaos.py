"""The bounded chaos run of ``make test`` (``make chaos`` runs the full one): three matches
joined at the 100th minute (extra time, a VAR decision, a shoot-out, two full-times), replayed at
x60 through two replicas of each worker process, while six workers are killed with ``kill -9``
(and restarted), the server crashes once (``appendfsync always``), and one worker is paused
past its lease; the fan-out is sharded over the dispatchers. Every subscriber gets every alert
once, in order; no secret reaches a log.
"""

from __future__ import annotations

import pytest

from tests.chaos.__main__ import describe
from tests.chaos.harness import ChaosConfig, run_chaos

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# The fan-out sharded (4 shards over the two dispatch replicas), so kills, the crash and the
# pause also hit shard leases, routing and per-shard delivery marks; `make chaos` runs the
# unsharded fan-out (and `--shards N` the sharded one).
BOUNDED = ChaosConfig(matches=3, kills=6, speed=60.0, fsync="always", skip_s=100 * 60.0, shards=4)


async def test_every_alert_exactly_once_in_order_through_kills_and_a_crash() -> None:
    out = await run_chaos(BOUNDED)
    print(describe(out))
    assert out.finished, "the pipeline did not drain"
    assert [f.kind for f in out.faults].count("kill") == BOUNDED.kills
    assert {f.kind for f in out.faults} == {"kill", "redis", "pause"}
    assert all(f.target != "-" for f in out.faults), out.faults
    total = out.total
    assert total.expected > 40 and total.delivered == total.expected
    assert total.clean, describe(out)
    assert not out.leaks, out.leaks
