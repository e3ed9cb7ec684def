"""A Web Push service and a browser's keys, for tests: what Chrome's or Firefox's service does.

:class:`Browser` is the user agent's side of RFC 8291: a P-256 key pair and an auth secret,
giving the ``PushSubscription`` a page would post. :class:`PushService` is an aiohttp server on
127.0.0.1 that, like a vendor's, refuses a push whose VAPID JWT (RFC 8292: ES256, ``aud`` its
origin, ``exp`` within 24 h, ``sub`` a contact) does not verify with the key in ``k``, and
decrypts each message (aes128gcm) with the browser's private key, as the browser would.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64d(text: str) -> bytes:
    """Decode unpadded base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(raw: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Browser:
    """A user agent's push keys (RFC 8291): private P-256 key and 16-byte auth secret."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    @property
    def p256dh(self) -> str:
        """The public key as the PushSubscription gives it."""
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64e(raw)

    def subscription(self, endpoint: str) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        return {"endpoint": endpoint, "keys": {"p256dh": self.p256dh, "auth": b64e(self.auth)}}

    def decrypt(self, body: bytes) -> Any:
        """The message as the browser reads it (aes128gcm, RFC 8188/8291), as JSON."""
        plain = http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


class VapidError(ValueError):
    """A push whose VAPID authorization a push service would refuse."""


def verify_vapid(header: str, origin: str, now: float | None = None) -> tuple[dict[str, Any], str]:
    """Check ``vapid t=<JWT>,k=<key>`` as a push service does; (claims, k) or VapidError."""
    scheme, _, params = header.partition(" ")
    if scheme != "vapid":
        raise VapidError(f"scheme {scheme!r} is not vapid")
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    token, k = parts.get("t", ""), parts.get("k", "")
    head_b64, claims_b64, sig_b64 = token.split(".")
    head = json.loads(b64d(head_b64))
    if head.get("alg") != "ES256":
        raise VapidError(f"alg {head.get('alg')!r}")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(k))
    sig = b64d(sig_b64)
    if len(sig) != 64:
        raise VapidError("an ES256 signature is 64 bytes (r || s)")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VapidError("the JWT signature does not verify with k") from None
    claims: dict[str, Any] = json.loads(b64d(claims_b64))
    now = time.time() if now is None else now
    if claims.get("aud") != origin:
        raise VapidError(f"aud {claims.get('aud')!r} is not {origin!r}")
    if not now < claims.get("exp", 0) <= now + 86400:
        raise VapidError("exp must be in the next 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise VapidError("sub must be a mailto: or https: contact")
    return claims, k


@dataclass
class Received:
    """One push the service accepted: the decrypted message and its headers."""

    endpoint: str
    message: Any
    headers: dict[str, str]
    vapid_key: str


class PushService:
    """The push service: endpoints ``/push/<name>``, each with its browser's keys."""

    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.gone: set[str] = set()  # names answered 410 (the browser unsubscribed)
        self.received: list[Received] = []
        self.refused: list[str] = []  # why pushes were refused
        self.url = ""

    def subscription(self, name: str) -> dict[str, Any]:
        """The PushSubscription of the browser at ``/push/<name>`` (made on first use)."""
        browser = self.browsers.setdefault(name, Browser())
        return browser.subscription(f"{self.url}/push/{name}")

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in self.gone or name not in self.browsers:
            return web.Response(status=410 if name in self.gone else 404)
        try:
            _, k = verify_vapid(request.headers.get("Authorization", ""), self.url)
        except (VapidError, ValueError) as exc:
            self.refused.append(str(exc))
            return web.Response(status=403, text=str(exc))
        if request.headers.get("Content-Encoding") != "aes128gcm":
            self.refused.append("not aes128gcm")
            return web.Response(status=415)
        message = self.browsers[name].decrypt(await request.read())
        self.received.append(Received(name, message, dict(request.headers), k))
        return web.Response(status=201)


@asynccontextmanager
async def push_service() -> AsyncIterator[PushService]:
    """A push service on a free loopback port."""
    service = PushService()
    app = web.Application()
    app.router.add_post("/push/{name}", service.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    service.url = f"http://127.0.0.1:{port}"
    try:
        yield service
    finally:
        await runner.cleanup()
