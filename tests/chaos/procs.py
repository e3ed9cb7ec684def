"""The worker processes of a chaos run: ``notifier poll`` / ``aggregate`` / ``dispatch``
subprocesses configured by environment, as an operator runs them, killed and restarted at will.

Each runs in an empty directory (so it follows no tie of ``config/ties``) with its output
appended to ``logs/<role>-<n>.log`` across restarts: the run's logs are searched for secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notifier.bus import keys
from notifier.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ROLES = {"poll": "poller", "aggregate": "aggregator", "dispatch": "dispatcher"}
SECTIONS = ("poll", "streams", "delivery")


def settings_env(settings: Settings) -> dict[str, str]:
    """``NOTIFIER_*`` variables that give a worker process these settings' tuning."""
    env: dict[str, str] = {}
    for section in SECTIONS:
        values: dict[str, Any] = getattr(settings, section).model_dump(mode="json")
        for name, value in values.items():
            text = value if isinstance(value, str) else _json(value)
            env[f"NOTIFIER_{section.upper()}__{name.upper()}"] = text
    for name, provider in settings.providers.items():
        prefix = f"NOTIFIER_PROVIDERS__{name.replace('-', '_').upper()}__"
        for key, value in provider.model_dump(mode="json", exclude={"api_key"}).items():
            env[prefix + key.upper()] = value if isinstance(value, str) else _json(value)
        if provider.api_key is not None:
            env[prefix + "API_KEY"] = provider.api_key.get_secret_value()
    tokens = [t.get_secret_value() for t in settings.api.tokens]
    env["NOTIFIER_API__TOKENS"] = _json(tokens)
    env["NOTIFIER_HEARTBEAT_S"] = str(settings.heartbeat_s)
    env["NOTIFIER_SHUTDOWN_GRACE_S"] = str(settings.shutdown_grace_s)
    env["NOTIFIER_CONSOLE"] = "false"
    return env


def _json(value: object) -> str:
    import json

    return json.dumps(value)


@dataclass
class Worker:
    """One replica of one role; ``proc`` is its current process (a new one after a restart)."""

    role: str
    n: int
    env: dict[str, str]
    workdir: Path
    proc: asyncio.subprocess.Process | None = None
    started: int = 0
    pids: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``poll-0``, ``dispatch-1``, ..."""
        return f"{self.role}-{self.n}"

    @property
    def log_path(self) -> Path:
        """Where its output goes."""
        return self.workdir / "logs" / f"{self.name}.log"

    @property
    def alive(self) -> bool:
        """Whether its process runs."""
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        """Start a new process of this replica."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "workers.cli.main", self.role),
                cwd=self.workdir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        self.started += 1
        self.pids.append(self.proc.pid)

    async def ready(self, r: Any) -> bool:
        """Whether its current process has written its heartbeat (it is connected and working)."""
        if not self.alive or self.proc is None:
            return False
        pattern = keys.heartbeat(ROLES[self.role], f"*-{self.proc.pid}")
        with contextlib.suppress(Exception):
            async for _ in r.scan_iter(match=pattern, count=1000):
                return True
        return False

    async def kill(self) -> None:
        """``kill -9`` it and reap it."""
        if self.proc is not None and self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()

    def pause(self) -> None:
        """SIGSTOP."""
        if self.proc is not None and self.alive:
            os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT."""
        if self.proc is not None and self.alive:
            os.kill(self.proc.pid, signal.SIGCONT)

    async def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_s``."""
        if self.proc is None or not self.alive:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
        try:
            async with asyncio.timeout(grace_s):
                await self.proc.wait()
        except TimeoutError:
            await self.kill()


def base_env(redis_url: str, workdir: Path, settings: Settings) -> dict[str, str]:
    """The environment every worker gets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env.pop("REDIS_URL", None)
    env.update(settings_env(settings))
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "REDIS_URL": redis_url,
            "NOTIFIER_CONFIG": os.devnull,
            "NOTIFIER_DATA_DIR": str(workdir / "data"),
            "NOTIFIER_LOG_FORMAT": "json",
            "NOTIFIER_LOG_LEVEL": "DEBUG",
        }
    )
    return env
