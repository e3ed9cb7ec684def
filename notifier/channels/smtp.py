"""Email: alerts as mails through the operator's SMTP server (aiosmtplib: STARTTLS or TLS, auth).

A subscription's ``url`` is ``mailto:someone@example.org``. By default every alert is a mail;
with the option ``digest`` the alerts of a match are kept in Redis (keyed by alert id, so a retry
keeps one copy) and sent as one mail when the match is over. Every mail has ``List-Unsubscribe``
(an HTTPS link to the API, signed for that subscription) and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click`` (RFC 8058), and a ``Message-ID`` derived from the delivery's
idempotency key, so a mail sent again after a crash is the same message to the reader's client.

The SMTP server is the operator's (settings ``[email]``), not the subscriber's: there is no
subscriber-chosen host to check against the SSRF rules. 5xx replies are permanent (dead letter),
4xx and connection failures are retried. Needs the ``email`` extra.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import ssl
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import redis.asyncio as aioredis

from notifier.bus import keys
from notifier.channels import format as fmt
from notifier.channels.base import Delivered, Target
from notifier.channels.ratelimit import SYSTEM_CLOCK, Clock
from notifier.domain.alerts import ALERT, Alert
from notifier.domain.models import MatchStatus
from notifier.errors import ChannelError
from notifier.settings import EmailSettings

OVER = frozenset({MatchStatus.FINISHED, MatchStatus.CANCELLED, MatchStatus.ABANDONED})
OVER |= {MatchStatus.POSTPONED}
DIGEST_TTL_S = 3 * 86400
UNSUBSCRIBE_PATH = "/v1/email/unsubscribe"


async def unsubscribe_key(r: aioredis.Redis) -> bytes:
    """The key unsubscribe links are signed with, made once (SET NX) and shared by replicas."""
    await r.set(keys.email_key(), secrets.token_bytes(32), nx=True)
    key = await r.get(keys.email_key())
    if not key:
        raise RuntimeError("the email key vanished from Redis")
    return key if isinstance(key, bytes) else str(key).encode()


def unsubscribe_token(key: bytes, sub_id: str) -> str:
    """The signature of one subscription's unsubscribe link."""
    digest = hmac.digest(key, b"nf-unsubscribe:" + sub_id.encode(), "sha256")
    return base64.urlsafe_b64encode(digest[:18]).decode()


def check_unsubscribe(key: bytes, sub_id: str, token: str) -> bool:
    """Whether ``token`` is the signature of ``sub_id``'s link (constant time; compared as bytes,
    since ``compare_digest`` raises on a str with non-ASCII characters: anyone can send one)."""
    wanted = unsubscribe_token(key, sub_id).encode()
    return hmac.compare_digest(wanted, token.encode("utf-8", "replace"))


def compose(
    alerts: list[Alert], target: Target, *, sender: str, unsubscribe: str, msg_key: str
) -> EmailMessage:
    """One mail: one alert, or a match's digest (its alerts in order)."""
    last = alerts[-1]
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = target.url.removeprefix("mailto:")
    msg["Subject"] = fmt.truncate(fmt.headline(last), 200)
    msg["Date"] = format_datetime(last.emitted_at)
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "localhost"
    msg["Message-ID"] = f"<{hashlib.sha256(msg_key.encode()).hexdigest()[:32]}@{domain}>"
    msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("\n\n".join(a.text for a in alerts) + "\n")
    lang = target.options.get("lang")
    if isinstance(lang, str):  # after set_content, which clears the Content-* headers
        msg["Content-Language"] = lang
    return msg


class EmailChannel:
    """Sends alerts (or digests) to ``mailto:`` targets through the configured SMTP server."""

    name = "email"

    def __init__(
        self,
        settings: EmailSettings,
        r: aioredis.Redis,
        *,
        key: bytes,
        base_url: str,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.settings = settings
        self._r = r
        self._key = key
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._tls: ssl.SSLContext | None = None
        if settings.security != "none":
            cafile = str(settings.ca_file) if settings.ca_file else None
            self._tls = ssl.create_default_context(cafile=cafile)

    def unsubscribe_url(self, sub_id: str) -> str:
        """The signed one-click link of a subscription."""
        token = unsubscribe_token(self._key, sub_id)
        return f"{self._base_url}{UNSUBSCRIBE_PATH}?s={sub_id}&t={token}"

    async def send(self, alert: Alert, target: Target, *, idempotency_key: str) -> Delivered:
        """Mail the alert now, or keep it for the match's digest (mailed when the match ends)."""
        alerts = [alert]
        if target.options.get("digest") is True:
            found = await self._collect(alert, target)
            if found is None:
                return self._done()
            alerts = found
        msg = compose(
            alerts,
            target,
            sender=self.settings.sender,
            unsubscribe=self.unsubscribe_url(target.subscription or ""),
            msg_key=idempotency_key,
        )
        await self._smtp(msg)
        if len(alerts) > 1 or target.options.get("digest") is True:
            await self._r.delete(self._digest_key(alert, target))
        return self._done()

    def _done(self) -> Delivered:
        return Delivered(channel=self.name, status=None, delivered_at=self._clock.now())

    def _digest_key(self, alert: Alert, target: Target) -> str:
        return keys.email_digest(target.subscription or target.url, alert.match)

    async def _collect(self, alert: Alert, target: Target) -> list[Alert] | None:
        """Keep the alert; the match's alerts in order once it is over, else None."""
        key = self._digest_key(alert, target)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(key, alert.id, alert.model_dump_json())
            pipe.expire(key, DIGEST_TTL_S)
            await pipe.execute()
        if alert.status not in OVER:
            return None
        stored = await self._r.hgetall(key)
        alerts = [ALERT.validate_json(v) for v in stored.values()]
        return sorted(alerts, key=lambda a: (a.emitted_at, a.id))

    async def _smtp(self, msg: EmailMessage) -> None:
        import aiosmtplib

        s = self.settings
        password = s.password.get_secret_value() if s.password else None
        options: dict[str, Any] = {
            "hostname": s.host,
            "port": s.port,
            "username": s.username,
            "password": password,
            "use_tls": s.security == "tls",
            "start_tls": s.security == "starttls",
            "tls_context": self._tls,
            "timeout": s.timeout_s,
        }
        try:
            await aiosmtplib.send(msg, **options)
        except aiosmtplib.SMTPResponseException as exc:
            text = f"smtp: {exc.code} {exc.message[:200]}"
            raise ChannelError(text, permanent=500 <= exc.code < 600) from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [e.code for e in exc.recipients]
            permanent = all(500 <= c < 600 for c in codes)  # 4xx: the server says try later
            raise ChannelError(f"smtp: recipient refused {codes}", permanent=permanent) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise ChannelError(f"smtp: {type(exc).__name__}: {exc}") from None
