"""Web Push vs webhook: the same 1,000 alerts to a receiver in another process, once as signed
webhooks, once as Web Pushes (each encrypted for its browser: an ephemeral P-256 key, ECDH,
HKDF and AES-GCM per message, RFC 8291; a VAPID JWT per push service, reused for an hour).

Both through the dispatcher's :class:`workers.deliver.send.Deliverer` and the same SSRF-safe
keep-alive session, on the workers' event loop in a thread of its own. The ratio is the price
of the encryption. Every delivery is checked received. Loopback only.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.apprise_ratio import alerts, deliver_all, loopback_settings, received, subscription
from bench.common import Report, Result
from bench.procs import spawn, stop
from notifier.channels.subscriptions import Subscription, SubscriptionSpec, new_id
from notifier.channels.webhook import generate_secret
from notifier.channels.webpush import VapidKeys, WebPushChannel, generate_pem
from workers.cli.main import run_async
from workers.deliver.send import Deliverer, build_channels, open_session

ALERTS = 1000
WARMUP = 20
NAME = "webpush_per_second"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def push_subscription(url: str) -> Subscription:
    """A browser's push subscription (fresh keys) whose endpoint is the receiver."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    p256dh = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    options: dict[str, str | int | bool] = {"p256dh": b64(p256dh), "auth": b64(b"a" * 16)}
    spec = SubscriptionSpec(channel="webpush", url=url, options=options, teams=["Atalanta"])
    now = datetime.now(UTC)
    return Subscription(id=new_id(), owner="bench", spec=spec, created_at=now, updated_at=now)


def webhook_subscription(url: str) -> Subscription:
    spec = SubscriptionSpec(
        channel="webhook", url=url, secret=generate_secret(), teams=["Atalanta"]
    )
    now = datetime.now(UTC)
    return Subscription(id=new_id(), owner="bench", spec=spec, created_at=now, updated_at=now)


async def measure(url: str) -> tuple[float, float, int]:
    """(webhook deliveries/s, Web Push deliveries/s, deliveries received in all)."""
    settings = loopback_settings()
    session = open_session(settings)
    try:
        channels = build_channels(session, settings)
        vapid = VapidKeys(generate_pem())
        channels["webpush"] = WebPushChannel(session, vapid=vapid, subject="mailto:bench@localhost")
        deliverer = Deliverer(channels, settings.delivery)
        hook = subscription("webhook", f"{url}/hook/webhook", generate_secret())
        push = push_subscription(f"{url}/hook/webpush")
        for sub in (hook, push):
            await deliver_all(deliverer, sub, alerts(WARMUP))
        webhook_s = await deliver_all(deliverer, hook, alerts())
        push_s = await deliver_all(deliverer, push, alerts())
    finally:
        await session.close()
    return ALERTS / webhook_s, ALERTS / push_s, await received(url)


async def run(report: Report) -> None:
    """Measure both; report Web Push deliveries per second and its ratio to webhooks."""
    proc, line = await spawn("bench.receiver")
    url = line[1]
    try:
        webhook_rate, push_rate, got = await asyncio.to_thread(run_async, measure(url))
    finally:
        await stop(proc, f"{url}/quit")
    report.add(
        Result(
            NAME,
            push_rate,
            "deliveries/s",
            f"{push_rate / webhook_rate:.2f} of signed webhooks' {webhook_rate:,.0f}/s;"
            f" {got} of {2 * (ALERTS + WARMUP)} received",
            {"webhook_per_s": webhook_rate, "alerts": ALERTS},
        )
    )
