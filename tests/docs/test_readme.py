"""The README stays true: its ```sh blocks are run, in order, as one shell script, against the
fake provider (``notifier replay-server`` of a recorded ESPN scoreboard on a free port, the
provider's base URL pointed there), in an empty directory with its own settings and data dirs.
```console, ```text and ```toml blocks are shown only. Background commands (``&``) are stopped
at the end with the script's process group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from tests.e2e.journey import PACE, journey_env, replay_feed
from tests.recordings import ESPN_MLS, require

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.S | re.M)
BUDGET_S = 120.0  # about 30 s alone; a loaded machine (the suite on two workers) takes longer


def sh_blocks(text: str) -> list[str]:
    """The bodies of the ```sh blocks of a Markdown text, in order."""
    return SH_BLOCK.findall(text)


def test_blocks_are_found() -> None:
    text = "```sh\necho a\n```\n```console\n$ no\n```\n```sh\necho b\n```\n"
    assert sh_blocks(text) == ["echo a\n", "echo b\n"]


@pytest.mark.timeout(180)
async def test_every_sh_block_of_the_readme_runs(tmp_path: Path) -> None:
    blocks = sh_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 3, "the README's runnable examples"
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir(parents=True)
    (work / "tests").symlink_to(REPO / "tests")  # the recordings the examples replay
    env = journey_env(home, "")
    feed = ("--speed", "600", "--start", "-300")
    async with replay_feed(env, work, "espn", require(ESPN_MLS), *feed) as url:
        env = {**journey_env(home, url), **PACE}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        script = "set -euo pipefail\n" + "\n".join(blocks)
        proc = await asyncio.create_subprocess_exec(
            "bash", "-c", script, env=env, cwd=work, start_new_session=True,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), BUDGET_S)
        finally:
            _stop_group(proc.pid)
    text = out.decode()
    assert proc.returncode == 0, text[-4000:]
    assert "following New York City FC in espn:usa.1" in text
    assert "healthy:" in text and '"channel": "ntfy"' in text
    assert not (work / "var").exists(), "no data where the commands ran"


def _stop_group(pid: int) -> None:
    """SIGTERM the script's process group (a ``notifier run &`` among them)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
