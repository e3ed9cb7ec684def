"""Web Push (RFC 8030): alerts encrypted for a browser (RFC 8291, aes128gcm) and sent to its push
service with a VAPID signature (RFC 8292), through the SSRF-safe session of every HTTP channel.

pywebpush encrypts (``WebPusher.encode``: an ephemeral ECDH key per message, http_ece's
aes128gcm) and py-vapid signs the ES256 JWT; the POST is ours (``HttpChannel``: no redirects,
bounded time and body, private addresses refused at connect time). A 404 or 410 from the push
service means the browser unsubscribed: the subscription is removed (``gone``). The VAPID key
pair is made once and kept in Redis (:func:`load_vapid`), so every replica signs with the key the
browsers subscribed with. Needs the ``webpush`` extra.
"""

from __future__ import annotations

import base64
import importlib.util
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
import redis.asyncio as aioredis
from yarl import URL

from notifier.bus import keys
from notifier.channels import format as fmt
from notifier.channels.base import HttpChannel, Target, check_reply
from notifier.channels.http import Reply
from notifier.domain.alerts import Alert
from notifier.errors import ChannelError

MAX_TEXT = 1000  # characters of the alert's text in a push (the push service takes ~4 KB)
JWT_LIFETIME_S = 12 * 3600  # RFC 8292: at most 24 h
JWT_REUSE_S = 3600  # a signed token is reused for this long per push service


def b64url(raw: bytes) -> str:
    """Unpadded base64url, as Web Push keys are written."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class VapidKeys:
    """The application server's key pair: the PEM private key and the public key for browsers."""

    pem: bytes

    @property
    def public_key(self) -> str:
        """The uncompressed P-256 public key, base64url (``applicationServerKey``)."""
        from cryptography.hazmat.primitives import serialization  # the ``webpush`` extra
        from cryptography.hazmat.primitives.asymmetric import ec

        key = serialization.load_pem_private_key(self.pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        raw = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(raw)


def generate_pem() -> bytes:
    """A new P-256 private key, PEM (PKCS#8)."""
    from cryptography.hazmat.primitives import serialization  # the ``webpush`` extra
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def available() -> bool:
    """Whether the ``webpush`` extra is installed (pywebpush and the cryptography it brings):
    without it the API refuses push subscriptions rather than keeping what it cannot send."""
    return importlib.util.find_spec("pywebpush") is not None


async def load_vapid(r: aioredis.Redis) -> VapidKeys:
    """The VAPID keys kept in Redis, made on first use (SET NX: replicas agree on one)."""
    await r.set(keys.vapid_key(), generate_pem(), nx=True)
    pem = await r.get(keys.vapid_key())
    if not pem:
        raise RuntimeError("the VAPID key vanished from Redis")
    return VapidKeys(pem if isinstance(pem, bytes) else str(pem).encode())


def push_payload(alert: Alert, target: Target) -> dict[str, Any]:
    """What the service worker shows: title, body, a tag per alert, where to open, and the
    alert's neutral fields; ``lang`` is the subscriber's (texts are rendered in one language)."""
    page = f"/ties/{alert.tie}" if alert.tie else f"/matches/{alert.match}"
    return {
        "title": fmt.truncate(fmt.headline(alert), 120),
        "body": fmt.truncate(alert.text, MAX_TEXT),
        "tag": alert.id,
        "url": page,
        "kind": alert.kind,
        "id": alert.id,
        "match": alert.match,
        "tie": alert.tie,
        "score": alert.score.model_dump(),
        "aggregate": alert.aggregate,
        "lang": target.options.get("lang", "en"),
    }


def subscription_info(target: Target) -> dict[str, Any]:
    """The browser's PushSubscription as pywebpush takes it."""
    return {
        "endpoint": target.url,
        "keys": {"p256dh": target.options.get("p256dh"), "auth": target.options.get("auth")},
    }


class WebPushChannel(HttpChannel):
    """Encrypts each alert for the subscription's browser and POSTs it to its push service."""

    name = "webpush"
    shared_body: ClassVar[bool] = False  # encrypted for one browser each time

    def __init__(
        self, *args: Any, vapid: VapidKeys, subject: str, ttl: int = 3600, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        from py_vapid import Vapid02

        self._vapid = Vapid02.from_pem(vapid.pem)
        self._public = vapid.public_key
        self._subject = subject
        self._ttl = ttl
        self._tokens: dict[str, tuple[float, str]] = {}  # audience -> (made at, header)

    def body(self, alert: Alert, target: Target) -> bytes:
        """The payload as JSON, encrypted (aes128gcm) for this browser."""
        from pywebpush import WebPusher, WebPushException

        data = orjson.dumps(push_payload(alert, target))
        try:
            encoded = WebPusher(subscription_info(target)).encode(data, "aes128gcm")
        except (WebPushException, ValueError, TypeError) as exc:
            raise ChannelError(f"webpush: bad subscription keys: {exc}", permanent=True) from None
        body: bytes = encoded["body"]
        return body

    def headers(self, target: Target, body: bytes, idempotency_key: str) -> dict[str, str]:
        """aes128gcm, TTL, Urgency (live football: high), and the VAPID ``Authorization``."""
        return {
            "Content-Type": "application/octet-stream",
            "Content-Encoding": "aes128gcm",
            "TTL": str(self._ttl),
            "Urgency": "high",
            "Authorization": self.authorization(target.url),
        }

    def authorization(self, endpoint: str) -> str:
        """``vapid t=<JWT>,k=<public key>`` for the endpoint's origin (reused for a while)."""
        url = URL(endpoint)
        aud = f"{url.scheme}://{url.raw_authority}"
        now = time.time()
        hit = self._tokens.get(aud)
        if hit is not None and now - hit[0] < JWT_REUSE_S:
            return hit[1]
        claims = {"aud": aud, "exp": int(now) + JWT_LIFETIME_S, "sub": self._subject}
        header = str(self._vapid.sign(claims)["Authorization"])
        if len(self._tokens) > 1024:
            self._tokens.clear()
        self._tokens[aud] = (now, header)
        return header

    def check(self, reply: Reply, target: Target) -> None:
        """2xx delivered; 404 and 410 mean the browser unsubscribed: remove the subscription."""
        if 200 <= reply.status < 300:
            return
        if reply.status in (404, 410):
            msg = f"HTTP {reply.status}: push subscription expired"
            raise ChannelError(msg, gone=True, status=reply.status)
        check_reply(reply, self._clock.now())
