"""The email channel against an aiosmtpd server (STARTTLS or TLS, AUTH): mails, digests,
List-Unsubscribe and its one-click POST, and how SMTP refusals are classified."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import aiohttp
import pytest
from redis.asyncio import Redis
from yarl import URL

from notifier.bus.subscriptions import SubscriptionStore
from notifier.channels.base import Target
from notifier.channels.smtp import EmailChannel, unsubscribe_key
from notifier.channels.subscriptions import Subscription, SubscriptionSpec
from notifier.domain.models import MatchStatus
from notifier.errors import ChannelError
from notifier.settings import EmailSettings
from tests.integration.api.test_api import serving
from tests.integration.deliver.test_delivery_support import make_alert, settings_for
from tests.smtpserver import SmtpServer, smtp_server

MAILTO = "mailto:fan@example.org"
# aiosmtpd cannot see implicit TLS, so warns that AUTH is not required to be over TLS: it is.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


async def channel_for(
    r: Redis, server: SmtpServer, security: Literal["starttls", "tls"]
) -> EmailChannel:
    settings = EmailSettings(**server.settings(security))
    key = await unsubscribe_key(r)
    return EmailChannel(settings, r, key=key, base_url="https://notifier.example/")


def target(**options: Any) -> Target:
    return Target(
        channel="email", url=MAILTO, options=options, subscription="sub_00000000000000000001"
    )


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_a_mail_per_alert_with_one_click_unsubscribe(
    redis: Redis, tmp_path: Path, security: Literal["starttls", "tls"]
) -> None:
    with smtp_server(tmp_path, security) as server:
        channel = await channel_for(redis, server, security)
        alert = make_alert(1)
        await channel.send(alert, target(lang="en"), idempotency_key="a|s")
        await channel.send(alert, target(lang="en"), idempotency_key="a|s")  # a resend
    first, again = server.inbox.messages
    assert first["To"] == "fan@example.org" and first["Subject"].endswith("Atalanta 1-0 Dortmund")
    assert first.get_content().strip() == alert.text
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = URL(first["List-Unsubscribe"].strip("<>"))
    assert (link.scheme, link.host, link.path) == (
        "https",
        "notifier.example",
        "/v1/email/unsubscribe",
    )
    assert link.query["s"] == "sub_00000000000000000001" and link.query["t"]
    assert first["Message-ID"] == again["Message-ID"]  # the same delivery: the same message
    assert first["Content-Language"] == "en"
    assert server.inbox.envelopes[0] == ("alerts@notifier.example", ["fan@example.org"])


async def test_a_digest_is_one_mail_when_the_match_is_over(redis: Redis, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    live = [make_alert(n, emitted_at=now.replace(microsecond=n)) for n in (1, 2)]
    over = make_alert(
        3, kind="result", status=MatchStatus.FINISHED, emitted_at=now.replace(microsecond=3)
    )
    with smtp_server(tmp_path) as server:
        channel = await channel_for(redis, server, "starttls")
        t = target(digest=True)
        for a in [*live, live[1], over]:  # the second alert retried: kept once
            await channel.send(a, t, idempotency_key=f"{a.id}|s")
        assert len(server.inbox.messages) == 1
    body = server.inbox.messages[0].get_content().replace("\r\n", "\n")
    assert body.strip().split("\n\n") == [a.text for a in [*live, over]]
    assert not await redis.keys("nf:email:digest:*")


@pytest.mark.parametrize(("reply", "permanent"), [("550 no such user", True), ("451 later", False)])
async def test_smtp_refusals_are_classified(
    redis: Redis, tmp_path: Path, reply: str, permanent: bool
) -> None:
    with smtp_server(tmp_path) as server:
        server.inbox.refuse = reply
        channel = await channel_for(redis, server, "starttls")
        with pytest.raises(ChannelError) as caught:
            await channel.send(make_alert(), target(), idempotency_key="k")
    assert caught.value.permanent is permanent
    assert "mail-s3cret" not in str(caught.value)


async def test_wrong_credentials_are_refused(redis: Redis, tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        settings = EmailSettings(**(server.settings("starttls") | {"password": "wrong"}))
        channel = EmailChannel(settings, redis, key=b"k" * 32, base_url="https://n.example")
        with pytest.raises(ChannelError) as caught:
            await channel.send(make_alert(), target(), idempotency_key="k")
    assert caught.value.permanent and not server.inbox.messages  # 535: fix the settings


async def test_the_one_click_link_removes_the_subscription(redis: Redis, redis_url: str) -> None:
    now = datetime.now(UTC)
    spec = SubscriptionSpec(channel="email", url=MAILTO, teams=["Dortmund"])
    sub = Subscription(
        id="sub_00000000000000000002", owner="o", spec=spec, created_at=now, updated_at=now
    )
    store = SubscriptionStore(redis)
    await store.create(sub)
    channel = EmailChannel(
        EmailSettings(host="x"), redis, key=await unsubscribe_key(redis), base_url=""
    )
    link = URL(channel.unsubscribe_url(sub.id))
    async with (
        serving(settings_for(redis_url), redis) as (base, _),
        aiohttp.ClientSession(base) as http,
    ):
        for forged in ("forged", "fälscht"):  # a non-ASCII one too: 404, never a 500
            async with http.post(link.path, params={"s": sub.id, "t": forged}) as resp:
                assert resp.status == 404
        async with http.get(link.path_qs) as resp:  # opening the link changes nothing
            assert resp.status == 200 and "<form" in await resp.text()
        assert await store.get(sub.id) is not None
        one_click = {"List-Unsubscribe": "One-Click"}
        async with http.post(link.path_qs, data=one_click) as resp:  # what a mail client sends
            assert resp.status == 200
    assert await store.get(sub.id) is None
