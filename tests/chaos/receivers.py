"""The subscribers of a chaos run: real aiohttp servers on 127.0.0.1.

``/hook/{name}`` is a Standard Webhooks receiver: it verifies the signature and records every
accepted delivery (webhook-id, alert id, match) in arrival order; ``flaky`` answers 503 to a
stable pseudo-random share of first tries, so retries happen under chaos too. ``/bot{token}/
sendMessage`` answers as Telegram does (that subscription is there for its secret: the logs of
the run are searched for it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from aiohttp import web

from notifier.channels.webhook import secret_key


@dataclass(frozen=True)
class Arrival:
    """One accepted delivery."""

    webhook_id: str
    alert_id: str
    match: str
    kind: str
    text: str
    at: float = 0.0  # epoch s it arrived
    emitted: float = 0.0  # epoch s the alert was emitted (its emitted_at)


@dataclass
class Hook:
    """One webhook subscriber: its secret, what it accepted, what it refused."""

    name: str
    secret: str = ""
    flaky: float = 0.0  # share of first tries answered 503
    arrivals: list[Arrival] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    tries: Counter[str] = field(default_factory=Counter)

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        """Whether the Standard Webhooks signature is the subscription's."""
        msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
        signed = f"{msg_id}.{stamp}.".encode() + body
        digest = hmac.new(secret_key(self.secret), signed, hashlib.sha256).digest()
        wanted = "v1," + base64.b64encode(digest).decode()
        return any(
            hmac.compare_digest(wanted, s) for s in headers.get("webhook-signature", "").split()
        )

    def fails_now(self, webhook_id: str) -> bool:
        """A 503 for this try (stable per webhook-id: only its first try may fail)."""
        first = self.tries[webhook_id] == 1
        return first and (zlib.crc32(webhook_id.encode()) % 1000) < self.flaky * 1000


@dataclass
class Receivers:
    """Every subscriber of the run, on one loopback server."""

    hooks: dict[str, Hook] = field(default_factory=dict)
    telegram: Counter[str] = field(default_factory=Counter)  # bot token -> messages
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Serve on a free loopback port."""
        app = web.Application(client_max_size=1024**2)
        app.router.add_post("/hook/{name}", self._hook)
        app.router.add_post("/bot{token}/sendMessage", self._telegram)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def close(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    def add(self, name: str, flaky: float = 0.0) -> Hook:
        """A new webhook subscriber at ``/hook/<name>``."""
        self.hooks[name] = Hook(name, flaky=flaky)
        return self.hooks[name]

    async def _hook(self, request: web.Request) -> web.Response:
        hook = self.hooks.get(request.match_info["name"])
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if hook is None or not hook.verify(headers, body):
            return web.Response(status=401)
        webhook_id = headers["webhook-id"]
        hook.tries[webhook_id] += 1
        if hook.fails_now(webhook_id):
            hook.refused[webhook_id] += 1
            return web.Response(status=503, headers={"Retry-After": "0"})
        alert = orjson.loads(body)
        emitted = datetime.fromisoformat(alert["emitted_at"]).timestamp()
        hook.arrivals.append(
            Arrival(
                webhook_id,
                alert["id"],
                alert["match"],
                alert["kind"],
                alert["text"],
                at=time.time(),
                emitted=emitted,
            )
        )
        return web.Response(status=204)

    async def _telegram(self, request: web.Request) -> web.Response:
        await request.read()
        self.telegram[request.match_info["token"]] += 1
        result = {"ok": True, "result": {"message_id": sum(self.telegram.values())}}
        return web.Response(body=orjson.dumps(result), content_type="application/json")
