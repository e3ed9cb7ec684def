"""A private Mosquitto broker for tests: Debian's ``mosquitto`` on a free loopback port.

Started with a generated config in a temporary directory (never the machine's own broker on
1883); ``make test`` installs the package where it can, else the MQTT tests skip, saying why.
A subscriber (:class:`Watcher`) collects what Home Assistant would read: retained messages are
delivered to it on subscribe, as they are to Home Assistant when it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from notifier.bus.connect import cancel
from tests.tools import missing

MOSQUITTO = ("/usr/sbin/mosquitto", "mosquitto")
MISSING = "mosquitto is not installed (apt-get install mosquitto, or `make test` as root)"


def mosquitto_binary() -> str | None:
    """The broker binary, or None."""
    for name in MOSQUITTO:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return found
    return None


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Broker:
    """A running broker: its port, process and directory."""

    binary: str
    directory: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    passwords: dict[str, str] = field(default_factory=dict)
    certs: tuple[Path, Path, Path] | None = None  # (ca, cert, key): a TLS listener

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:port``."""
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (or restart, on the same port) and wait until it accepts connections."""
        self.port = self.port or free_port()
        conf = self.directory / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest none"]
        # As root it would switch to the ``mosquitto`` user, who cannot read our temporary files.
        lines.append(f"user {getpass.getuser()}")
        if self.certs is not None:
            ca, cert, key = self.certs
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        if self.passwords:
            pwfile = self.directory / "passwd"
            pwfile.write_text("")
            for user, password in self.passwords.items():
                subprocess.run(["mosquitto_passwd", "-b", str(pwfile), user, password], check=True)
            lines += ["allow_anonymous false", f"password_file {pwfile}"]
        else:
            lines.append("allow_anonymous true")
        conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.proc.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.02)
        raise RuntimeError("mosquitto did not start listening within 10 s")

    def stop(self) -> None:
        """Stop the broker (its retained messages go with it: persistence is off)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def running_broker(
    directory: Path,
    passwords: dict[str, str] | None = None,
    certs: tuple[Path, Path, Path] | None = None,
) -> Iterator[Broker]:
    """A broker for the duration of the block (no mosquitto: :func:`tests.tools.missing`)."""
    binary = mosquitto_binary()
    if binary is None:
        missing(MISSING)
    broker = Broker(binary, directory, passwords=passwords or {}, certs=certs)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class Watcher:
    """Everything published under some topics, as Home Assistant would see it."""

    def __init__(self) -> None:
        self.retained: dict[str, bytes] = {}  # topic -> last payload (retained view)
        self.messages: list[tuple[str, bytes, bool]] = []  # (topic, payload, retain flag)
        self.changed = asyncio.Condition()

    def json(self, topic: str) -> Any:
        """The last payload on ``topic``, decoded."""
        return orjson.loads(self.retained[topic])

    def on(self, prefix: str) -> list[tuple[str, Any]]:
        """(topic, JSON) of every message whose topic starts with ``prefix``, in order."""
        return [(t, orjson.loads(p)) for t, p, _ in self.messages if t.startswith(prefix)]

    async def wait(self, check: Any, within: float = 10.0) -> None:
        """Until ``check()`` is true (bounded)."""
        async with asyncio.timeout(within), self.changed:
            await self.changed.wait_for(check)


@contextlib.asynccontextmanager
async def watching(url_port: int, *topics: str) -> AsyncIterator[Watcher]:
    """Subscribe to ``topics`` on the broker at ``url_port`` and collect what arrives."""
    import aiomqtt

    watcher = Watcher()

    async def pump(client: aiomqtt.Client) -> None:
        async for m in client.messages:
            payload = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
            async with watcher.changed:
                watcher.messages.append((str(m.topic), payload, bool(m.retain)))
                if payload:
                    watcher.retained[str(m.topic)] = payload
                else:
                    watcher.retained.pop(str(m.topic), None)
                watcher.changed.notify_all()

    async with aiomqtt.Client("127.0.0.1", url_port, identifier="test-watcher") as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        task = asyncio.create_task(pump(client))
        try:
            yield watcher
        finally:
            await cancel(task)
