"""A private Redis-protocol *cluster* on loopback: N masters, no replicas, for tests and benches.

Each node is an :class:`~notifier.bus.embedded.EmbeddedServer` started with ``cluster-enabled`` on a
free port and a free cluster-bus port (the default, port + 10000, may not exist); the slots are
spread by ``valkey-cli --cluster create`` (``redis-cli`` next to a ``redis-server``), and the
cluster is ready once every node says ``cluster_state:ok``. Everything is bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path
from types import TracebackType
from typing import Self

from notifier.bus.connect import connect
from notifier.bus.embedded import HOST, EmbeddedServer, free_port, require_server_binary
from notifier.errors import EmbeddedServerError

log = logging.getLogger("notifier.embedded_cluster")

CLI_NAMES = {"valkey-server": "valkey-cli", "redis-server": "redis-cli"}


def cli_binary(server: Path) -> Path | None:
    """The command-line client that goes with a server binary: beside it, else on PATH."""
    name = CLI_NAMES.get(server.name, "valkey-cli")
    beside = server.parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


class EmbeddedCluster:
    """An async context manager owning ``masters`` cluster nodes in ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        *,
        masters: int = 3,
        binary: Path | None = None,
        appendonly: bool = False,
        ready_timeout_s: float = 30.0,
    ) -> None:
        self.binary = binary or require_server_binary()
        cli = cli_binary(self.binary)
        if cli is None:
            raise EmbeddedServerError(f"no cluster client found beside {self.binary} or on PATH")
        self.cli = cli
        self.ready_timeout_s = ready_timeout_s
        self.nodes = [
            EmbeddedServer(
                data_dir / f"node-{i}",
                binary=self.binary,
                extra_args=_node_args(data_dir / f"node-{i}", appendonly),
            )
            for i in range(masters)
        ]

    @property
    def url(self) -> str:
        """``redis+cluster://127.0.0.1:PORT`` of the first node (the client finds the rest)."""
        return f"redis+cluster://{HOST}:{self.nodes[0].port}"

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
        """Start every node, assign the slots, wait until the cluster is ok everywhere."""
        try:
            async with asyncio.timeout(self.ready_timeout_s):
                await asyncio.gather(*(node.start() for node in self.nodes))
                await self._create()
                for node in self.nodes:
                    await _wait_ok(node)
        except TimeoutError:
            await self.stop()
            raise EmbeddedServerError(
                f"cluster not ready within {self.ready_timeout_s:g} s"
            ) from None
        except BaseException:
            await self.stop()
            raise
        log.info("embedded_cluster_started", extra={"ports": [n.port for n in self.nodes]})

    async def stop(self) -> None:
        """Stop every node."""
        await asyncio.gather(*(node.stop() for node in self.nodes))

    async def _create(self) -> None:
        addrs = [f"{HOST}:{node.port}" for node in self.nodes]
        proc = await asyncio.create_subprocess_exec(
            str(self.cli),
            *("--cluster", "create", *addrs, "--cluster-replicas", "0", "--cluster-yes"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await proc.communicate()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise
        if proc.returncode != 0:
            tail = out.decode(errors="replace").strip().splitlines()[-5:]
            raise EmbeddedServerError(f"{self.cli.name} --cluster create failed: {tail}")


def _node_args(data_dir: Path, appendonly: bool) -> list[str]:
    # The bus port defaults to port + 10000, which may be taken or past 65535: pick one.
    return [
        *("--cluster-enabled", "yes", "--cluster-port", str(free_port())),
        *("--cluster-config-file", str(data_dir / "nodes.conf")),
        *("--cluster-node-timeout", "5000"),
        *("--appendonly", "yes" if appendonly else "no"),
    ]


async def _wait_ok(node: EmbeddedServer) -> None:
    """Poll CLUSTER INFO on one node until it says ``cluster_state:ok`` (the caller bounds it)."""
    r = connect(node.url)
    try:
        while True:
            info = await r.cluster("INFO")  # parsed into a dict by redis-py
            state = info.get("cluster_state") if isinstance(info, dict) else None
            if state in ("ok", b"ok"):
                return
            await asyncio.sleep(0.05)
    finally:
        await r.aclose()
