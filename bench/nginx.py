"""Debian's nginx as a webhook receiver that costs little CPU: every request answered 204.

Installed with ``apt-get`` when it is missing and we run as root (the bench says so); else
:mod:`bench.lean_receiver` stands in. nginx runs in the foreground with a private config and
prefix in a temporary directory, one worker process, listening on loopback ports only; its
``stub_status`` page counts the requests it handled.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.procs import spawn, stop

CONF = """daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log error;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_body_buffer_size 16k;
  server {{
    {listen}
    location = /nginx_status {{ stub_status; }}
    location / {{ return 204; }}
  }}
}}
"""


def nginx_binary() -> str | None:
    """nginx on this machine; installed first with apt-get when missing and we are root."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx"]
    if subprocess.run(cmd, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        subprocess.run(cmd, env=env, capture_output=True, check=False)
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


def free_ports(n: int) -> list[int]:
    """``n`` free loopback ports (bound and released: nginx binds them right after)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@dataclass
class Receiver:
    """A running receiver: its URLs, what it is, and how to count what it got."""

    urls: list[str]
    kind: str
    proc: asyncio.subprocess.Process
    workdir: tempfile.TemporaryDirectory[str] | None = None

    async def count(self) -> int:
        """Requests received so far (the status requests themselves not counted)."""
        async with aiohttp.ClientSession() as s:
            if self.kind == "nginx":
                async with s.get(f"{self.urls[0]}/nginx_status") as resp:
                    text = await resp.text()
                # "Active connections: N \nserver accepts handled requests\n A H R \n..."
                return int(text.splitlines()[2].split()[2]) - self._status_reads()
            async with s.get(f"{self.urls[0]}/count") as resp:
                return int(await resp.text())

    def _status_reads(self) -> int:
        self._reads = getattr(self, "_reads", 0) + 1
        return self._reads

    async def close(self) -> None:
        """Stop it (and remove nginx's directory)."""
        await stop(self.proc)
        if self.workdir is not None:
            self.workdir.cleanup()


async def start_receiver(ports: int) -> Receiver:
    """nginx on ``ports`` loopback ports if it can be had, else the lean receiver."""
    binary = nginx_binary()
    if binary is None:
        proc, line = await spawn("bench.lean_receiver", *["0"] * ports)
        return Receiver(line[1:], "lean asyncio receiver (no nginx here)", proc)
    workdir = tempfile.TemporaryDirectory(prefix="bench-nginx-")
    chosen = free_ports(ports)
    listen = " ".join(f"listen 127.0.0.1:{p};" for p in chosen)
    conf = Path(workdir.name) / "nginx.conf"
    conf.write_text(CONF.format(dir=workdir.name, listen=listen))
    proc = await asyncio.create_subprocess_exec(
        binary, "-p", workdir.name, "-c", str(conf), stderr=asyncio.subprocess.DEVNULL
    )
    urls = [f"http://127.0.0.1:{p}" for p in chosen]
    receiver = Receiver(urls, "nginx", proc, workdir)
    for _ in range(100):  # up within a few seconds
        try:
            await receiver.count()
            return receiver
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    await receiver.close()
    raise RuntimeError(f"nginx did not start: {(Path(workdir.name) / 'error.log').read_text()}")
