"""The loop and collector policy every long-running command runs under."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import asyncio, gc, json
from workers.cli.main import GC_THRESHOLDS, run_async

before = {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}

async def main():
    return {
        "threshold": gc.get_threshold(),
        "frozen": gc.get_freeze_count(),
        "loop": type(asyncio.get_running_loop()).__module__,
        "wanted": GC_THRESHOLDS,
    }

print(json.dumps({"before": before, "inside": run_async(main())}))
"""


def test_commands_run_on_uvloop_with_the_collector_tuned() -> None:
    """In a fresh interpreter (the collector is process-wide): start-up objects are frozen and
    the thresholds raised before the command's coroutine runs, on uvloop's loop."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(out.stdout)
    assert seen["before"]["threshold"] == [700, 10, 10]
    inside = seen["inside"]
    assert inside["threshold"] == inside["wanted"]
    assert inside["frozen"] > seen["before"]["frozen"] + 1000  # modules and validators at least
    assert inside["loop"].startswith("uvloop")
