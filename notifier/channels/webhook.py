"""Signed webhooks per the Standard Webhooks spec (https://www.standardwebhooks.com/)."""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import secrets

from notifier.channels.base import HttpChannel, Target
from notifier.errors import ChannelError

SECRET_PREFIX = "whsec_"


def generate_secret() -> str:
    """A new signing secret: ``whsec_`` and the base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


@functools.lru_cache(maxsize=4096)  # a secret is decoded once, not once per delivery
def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_…`` secret stands for; ValueError if it is not base64."""
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("webhook secret is not base64 after the whsec_ prefix") from exc


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and the base64 HMAC-SHA256 of id.timestamp.body."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.digest(secret_key(secret), signed, "sha256")  # one-shot: OpenSSL's HMAC
    return "v1," + base64.b64encode(digest).decode()


class WebhookChannel(HttpChannel):
    """POSTs ``alert.public()`` as JSON, signed with the subscription's secret."""

    name = "webhook"
    shared_body = True  # alert.public(), the same for every subscription

    def headers(self, target: Target, body: bytes, idempotency_key: str) -> dict[str, str]:
        """The three Standard Webhooks headers; the message id is the idempotency key."""
        secret = target.secret_value()
        if not secret:
            raise ChannelError("webhook target has no signing secret", permanent=True)
        timestamp = int(self._clock.now().timestamp())
        try:
            signature = sign(secret, idempotency_key, timestamp, body)
        except ValueError as exc:
            raise ChannelError(str(exc), permanent=True) from None
        return {
            "webhook-id": idempotency_key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
        }
