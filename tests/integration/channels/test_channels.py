"""Channels against real aiohttp receivers on 127.0.0.1 that check payloads like the platforms."""

from __future__ import annotations

import asyncio
import io
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifier.channels.base import MAX_BODY, Channel, Target, post
from notifier.channels.console import ConsoleChannel
from notifier.channels.discord import DiscordChannel
from notifier.channels.http import DeliveryClient
from notifier.channels.ntfy import NtfyChannel
from notifier.channels.ratelimit import RateLimiter
from notifier.channels.slack import SlackChannel
from notifier.channels.telegram import TelegramChannel, escape_markdown_v2
from notifier.channels.webhook import WebhookChannel, generate_secret
from notifier.domain.alerts import Alert
from notifier.domain.models import MatchStatus, Score
from notifier.errors import ChannelError, DeliveryError

LOOPBACK = ["127.0.0.0/8", "::1/128"]
TOKEN = "123456:ABC-secret_token"
Handler = Callable[[web.Request, bytes], Awaitable[web.StreamResponse]]


class FakeClock:
    """Monotonic time that advances only when slept on; wall time follows it."""

    def __init__(self) -> None:
        self.t = 0.0
        self.start = datetime.now(UTC)
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@dataclass
class Receiver:
    """A real HTTP server; ``handler`` answers, ``seen`` records (path, headers, body)."""

    port: int = 0
    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    handler: Handler | None = None
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append((request.path_qs, dict(request.headers), body))
        if self.handler is None:
            return web.Response(text="ok")
        return await self.handler(request, body)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.port = runner.addresses[0][1]
    yield rec
    rec.release.set()
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[DeliveryClient]:
    async with DeliveryClient(allow_networks=LOOPBACK, allow_http=True) as s:
        yield s


def make_alert(**overrides: Any) -> Alert:
    at = datetime(2025, 2, 18, 20, 23, tzinfo=UTC)
    fields: dict[str, Any] = {
        "id": "a1",
        "kind": "goal",
        "text": "GOAL Atalanta 1-0 Dortmund (Scamacca 23'). Dortmund lead 2-1 on aggregate",
        "match": "api-football:1",
        "tie": "t1",
        "event": "e1",
        "home": "Atalanta",
        "away": "Dortmund",
        "status": MatchStatus.FIRST_HALF,
        "minute": 23,
        "score": Score(home=1, away=0),
        "aggregate": {"Atalanta": 1, "Dortmund": 2},
        "occurred_at": at,
        "detected_at": at,
        "emitted_at": at,
    }
    return Alert(**(fields | overrides))


def reply(status: int, body: Any = "", headers: dict[str, str] | None = None) -> Handler:
    async def handler(request: web.Request, _: bytes) -> web.StreamResponse:
        if isinstance(body, dict):
            return web.json_response(body, status=status, headers=headers)
        return web.Response(status=status, text=body, headers=headers)

    return handler


async def test_webhook_signature_verifies_with_standardwebhooks(
    receiver: Receiver, session: DeliveryClient
) -> None:
    secret = generate_secret()
    alert = make_alert()

    async def verify(request: web.Request, body: bytes) -> web.StreamResponse:
        try:
            payload = Webhook(secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            return web.Response(status=401)
        assert payload == alert.public()
        return web.Response(status=204)

    receiver.handler = verify
    target = Target(channel="webhook", url=receiver.url("/hook"), secret=SecretStr(secret))
    channel: Channel = WebhookChannel(session)  # every channel has the one interface
    done = await channel.send(alert, target, idempotency_key="a1:s1")
    assert (done.status, done.channel) == (204, "webhook")
    _, headers, body = receiver.seen[0]
    assert headers["webhook-id"] == "a1:s1"
    with pytest.raises(WebhookVerificationError):  # the check really checks
        Webhook(generate_secret()).verify(body, headers)


async def test_webhook_body_is_shared_but_each_delivery_signed_for_its_own(
    receiver: Receiver, session: DeliveryClient
) -> None:
    channel = WebhookChannel(session)
    secrets = [generate_secret() for _ in range(3)]
    alert, other = make_alert(), make_alert(id="a2", minute=24)
    for n, secret in enumerate(secrets):
        target = Target(channel="webhook", url=receiver.url(f"/h{n}"), secret=SecretStr(secret))
        for a in (alert, other):
            await channel.send(a, target, idempotency_key=f"{a.id}|s{n}")
    assert len(receiver.seen) == 6
    for i, (path, headers, body) in enumerate(receiver.seen):
        n, a = divmod(i, 2)
        expected = (alert, other)[a]
        assert path == f"/h{n}" and headers["webhook-id"] == f"{expected.id}|s{n}"
        assert Webhook(secrets[n]).verify(body, headers) == expected.public()
        for wrong in set(range(3)) - {n}:
            with pytest.raises(WebhookVerificationError):
                Webhook(secrets[wrong]).verify(body, headers)


async def test_a_refused_host_stays_refused_and_cookies_are_not_kept(
    receiver: Receiver,
) -> None:
    async def set_cookie(request: web.Request, _: bytes) -> web.StreamResponse:
        response = web.Response(status=204)
        response.set_cookie("session", "from-the-receiver")
        return response

    receiver.handler = set_cookie
    secret = SecretStr(generate_secret())
    named = f"http://localhost:{receiver.port}/ok"  # a name: a cookie jar would keep its cookies
    async with DeliveryClient(allow_networks=["127.0.0.1/32", "::1/128"], allow_http=True) as s:
        channel = WebhookChannel(s)
        for _ in range(2):  # the second try is answered from the session's verdicts
            refused = Target(channel="webhook", url="http://127.0.0.2:9/x", secret=secret)
            with pytest.raises(ChannelError, match="not a public address") as err:
                await channel.send(make_alert(), refused, idempotency_key="k")
            assert err.value.permanent
            allowed = Target(channel="webhook", url=named, secret=secret)
            await channel.send(make_alert(), allowed, idempotency_key="k")
    assert [path for path, _, _ in receiver.seen] == ["/ok", "/ok"]
    assert all("Cookie" not in headers for _, headers, _ in receiver.seen)


async def test_webhook_without_secret_is_permanent(session: DeliveryClient) -> None:
    with pytest.raises(DeliveryError) as err:
        await WebhookChannel(session).send(
            make_alert(), Target(channel="webhook", url="http://127.0.0.1:9/"), idempotency_key="k"
        )
    assert err.value.permanent


async def test_slack_block_kit_and_one_per_second(
    receiver: Receiver, session: DeliveryClient
) -> None:
    clock = FakeClock()
    slack = SlackChannel(session, receiver.url(), clock=clock)
    target = Target(channel="slack", url="/services/T0/B0/XXX")
    await slack.send(make_alert(text="A <b> & c"), target, idempotency_key="k1")
    await slack.send(make_alert(), target, idempotency_key="k2")
    assert clock.sleeps == [1.0]  # the second message to that webhook waited a second
    path, headers, body = receiver.seen[0]
    msg = json.loads(body)
    assert path == "/services/T0/B0/XXX" and headers["Content-Type"] == "application/json"
    assert msg["text"] == "A <b> & c"
    header, section, context = msg["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert len(header["text"]["text"]) <= 150 and "Atalanta 1-0 Dortmund" in header["text"]["text"]
    assert section["text"] == {"type": "mrkdwn", "text": "A &lt;b&gt; &amp; c"}
    facts = " ".join(e["text"] for e in context["elements"])
    assert "Atalanta 1-2 Dortmund" in facts and "23'" in facts


async def test_slack_removed_webhook_is_gone(receiver: Receiver, session: DeliveryClient) -> None:
    receiver.handler = reply(404, "no_service")
    with pytest.raises(ChannelError) as err:
        await SlackChannel(session, receiver.url()).send(
            make_alert(), Target(channel="slack", url="/x"), idempotency_key="k"
        )
    assert err.value.gone and err.value.permanent


async def test_discord_embed_shape(receiver: Receiver, session: DeliveryClient) -> None:
    target = Target(channel="discord", url="/api/webhooks/1/tok")
    await DiscordChannel(session, receiver.url()).send(make_alert(), target, idempotency_key="k")
    msg = json.loads(receiver.seen[0][2])
    assert 0 < len(msg["content"]) <= 2000 and msg["allowed_mentions"] == {"parse": []}
    (embed,) = msg["embeds"]
    assert embed["title"] == "⚽ Goal" and embed["description"].startswith("GOAL Atalanta")
    assert isinstance(embed["color"], int) and 0 <= embed["color"] <= 0xFFFFFF
    assert datetime.fromisoformat(embed["timestamp"]) == make_alert().occurred_at
    names = [f["name"] for f in embed["fields"]]
    assert names == ["Aggregate", "Minute"]  # the score is in the content and the text
    assert all(len(f["value"]) <= 1024 for f in embed["fields"])


async def test_discord_429_retry_after_then_waits(
    receiver: Receiver, session: DeliveryClient
) -> None:
    receiver.handler = reply(
        429, {"message": "You are being rate limited.", "retry_after": 0.75, "global": False}
    )
    clock = FakeClock()
    discord = DiscordChannel(session, receiver.url(), clock=clock)
    target = Target(channel="discord", url="/api/webhooks/1/tok")
    with pytest.raises(DeliveryError) as err:
        await discord.send(make_alert(), target, idempotency_key="k")
    assert err.value.retry_after == 0.75 and not err.value.permanent
    receiver.handler = reply(
        204, "", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "1.5"}
    )
    await discord.send(make_alert(), target, idempotency_key="k")
    assert clock.sleeps == [0.75]  # the next send to that webhook waited out the 429
    await discord.send(make_alert(), target, idempotency_key="k")
    assert clock.sleeps == [0.75, 1.5]  # and then for the bucket Discord said was empty


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain text", "plain text"),
        ("_*[]()~`>#+-=|{}.!", r"\_\*\[\]\(\)\~\`\>\#\+\-\=\|\{\}\.\!"),
        ("back\\slash", "back\\\\slash"),
        ("Atalanta 1-0 Dortmund (Scamacca 23').", r"Atalanta 1\-0 Dortmund \(Scamacca 23'\)\."),
        ("*bold* _it_ [link](http://x.y)", r"\*bold\* \_it\_ \[link\]\(http://x\.y\)"),
        ("\\*", "\\\\\\*"),
        ("Müller 90+3' ⚽ #1!", r"Müller 90\+3' ⚽ \#1\!"),
        ("", ""),
    ],
)
def test_markdown_v2_escaping(raw: str, escaped: str) -> None:
    assert escape_markdown_v2(raw) == escaped


def unescape_markdown_v2(text: str) -> str:
    """What Telegram shows for text with no entities; fails on any unescaped special char."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            assert text[i + 1] in "\\_*[]()~`>#+-=|{}.!", text
            ch, i = text[i + 1], i + 1
        else:
            assert ch not in "_*[]()~`>#+-=|{}.!", f"unescaped {ch!r} in {text!r}"
        out.append(ch)
        i += 1
    return "".join(out)


async def test_telegram_send_message(receiver: Receiver, session: DeliveryClient) -> None:
    receiver.handler = reply(200, {"ok": True, "result": {"message_id": 1}})
    nasty = "GOAL A.C. (1-0) *Scamacca* [23'] #1!"
    target = Target(channel="telegram", secret=SecretStr(TOKEN), options={"chat_id": -100123})
    channel = TelegramChannel(session, receiver.url())
    await channel.send(make_alert(text=nasty), target, idempotency_key="k")
    path, _, body = receiver.seen[0]
    msg = json.loads(body)
    assert path == f"/bot{TOKEN}/sendMessage" and msg["chat_id"] == -100123
    assert msg["parse_mode"] == "MarkdownV2" and msg["disable_web_page_preview"] is True
    label, text, aggregate = msg["text"].split("\n")
    assert label == "⚽ *Goal*" and unescape_markdown_v2(text) == nasty
    assert aggregate.startswith("_") and unescape_markdown_v2(aggregate[1:-1]).endswith(
        "1-2 Dortmund"
    )


@pytest.mark.parametrize(
    ("status", "answer", "retry_after", "permanent", "gone"),
    [
        (429, {"error_code": 429, "parameters": {"retry_after": 7}}, 7.0, False, False),
        (403, {"error_code": 403, "description": "Forbidden: bot was blocked"}, None, True, True),
        (400, {"error_code": 400, "description": "Bad Request: chat not found"}, None, True, False),
        (502, {"error_code": 502, "description": "Bad Gateway"}, None, False, False),
    ],
)
async def test_telegram_errors(
    receiver: Receiver,
    session: DeliveryClient,
    status: int,
    answer: dict[str, Any],
    retry_after: float | None,
    permanent: bool,
    gone: bool,
) -> None:
    receiver.handler = reply(status, {"ok": False, "description": "x"} | answer)
    target = Target(channel="telegram", secret=SecretStr(TOKEN), options={"chat_id": "@chan"})
    with pytest.raises(ChannelError) as err:
        await TelegramChannel(session, receiver.url()).send(
            make_alert(), target, idempotency_key="k"
        )
    e = err.value
    assert (e.retry_after, e.permanent, e.gone, e.status) == (retry_after, permanent, gone, status)
    assert TOKEN not in str(e) and TOKEN not in repr(e.args) and e.__cause__ is None


async def test_telegram_limits_per_chat_and_per_bot(
    receiver: Receiver, session: DeliveryClient
) -> None:
    receiver.handler = reply(200, {"ok": True, "result": {}})
    clock = FakeClock()
    channel = TelegramChannel(session, receiver.url(), clock=clock)
    for chat in range(31):  # 31 chats at once: the bot's 30/s bucket makes the last one wait
        target = Target(channel="telegram", secret=SecretStr(TOKEN), options={"chat_id": chat})
        await channel.send(make_alert(), target, idempotency_key="k")
    assert clock.sleeps == [pytest.approx(1 / 30)]
    await channel.send(make_alert(), target, idempotency_key="k")  # same chat again: 1 msg/s
    assert clock.sleeps[-1] == pytest.approx(1 - 1 / 30)


async def test_ntfy_publish(receiver: Receiver, session: DeliveryClient) -> None:
    target = Target(channel="ntfy", secret=SecretStr("tk_abc"), options={"topic": "bvb"})
    await NtfyChannel(session, receiver.url()).send(make_alert(), target, idempotency_key="k")
    await NtfyChannel(session, receiver.url()).send(
        make_alert(kind="half_time"), target, idempotency_key="k"
    )
    (path, headers, body), (_, _, body2) = receiver.seen
    msg, msg2 = json.loads(body), json.loads(body2)
    assert path == "/" and headers["Authorization"] == "Bearer tk_abc"
    assert msg["topic"] == "bvb" and msg["title"] == "Goal: Atalanta 1-0 Dortmund"
    assert (msg["tags"], msg["priority"], msg2["priority"]) == (["soccer"], 4, 3)
    assert msg["message"] == make_alert().text


@pytest.mark.parametrize(
    ("status", "headers", "permanent", "gone", "retry_after"),
    [
        (500, {}, False, False, None),
        (503, {"retry-after": "120"}, False, False, 120.0),
        (429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, False, False, 0.0),
        (408, {}, False, False, None),
        (410, {}, True, True, None),
        (400, {}, True, False, None),
        (401, {}, True, False, None),
    ],
)
async def test_status_classification(
    receiver: Receiver,
    session: DeliveryClient,
    status: int,
    headers: dict[str, str],
    permanent: bool,
    gone: bool,
    retry_after: float | None,
) -> None:
    receiver.handler = reply(status, "nope", headers)
    target = Target(channel="webhook", url=receiver.url(), secret=SecretStr(generate_secret()))
    with pytest.raises(ChannelError) as err:
        await WebhookChannel(session).send(make_alert(), target, idempotency_key="k")
    e = err.value
    assert (e.status, e.permanent, e.gone, e.retry_after) == (status, permanent, gone, retry_after)


async def test_redirect_is_refused(receiver: Receiver, session: DeliveryClient) -> None:
    receiver.handler = reply(302, "", {"Location": receiver.url("/elsewhere")})
    target = Target(
        channel="webhook", url=receiver.url("/hook"), secret=SecretStr(generate_secret())
    )
    with pytest.raises(ChannelError, match="redirects are not followed") as err:
        await WebhookChannel(session).send(make_alert(), target, idempotency_key="k")
    assert err.value.permanent and [p for p, _, _ in receiver.seen] == ["/hook"]


async def test_hang_after_headers_is_bounded(receiver: Receiver, session: DeliveryClient) -> None:
    async def hang(request: web.Request, _: bytes) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "100"})
        await resp.prepare(request)
        await receiver.release.wait()
        return resp

    receiver.handler = hang
    started = time.monotonic()
    with pytest.raises(ChannelError, match="timed out") as err:
        await post(session, receiver.url(), b"{}", headers={}, total_s=0.5)
    assert not err.value.permanent and time.monotonic() - started < 1.5


async def test_huge_body_is_read_bounded(receiver: Receiver, session: DeliveryClient) -> None:
    huge = b"x" * (10 * 1024 * 1024)

    async def big(request: web.Request, _: bytes) -> web.StreamResponse:
        return web.Response(body=huge, status=200 if request.path == "/ok" else 500)

    receiver.handler = big
    answer = await post(session, receiver.url("/ok"), b"{}", headers={})
    assert answer.status == 200 and answer.truncated and len(answer.body) == MAX_BODY
    target = Target(
        channel="webhook", url=receiver.url("/fail"), secret=SecretStr(generate_secret())
    )
    with pytest.raises(ChannelError) as err:
        await WebhookChannel(session).send(make_alert(), target, idempotency_key="k")
    assert err.value.status == 500 and not err.value.permanent and len(str(err.value)) < 300


async def test_unreachable_and_refused_targets(receiver: Receiver) -> None:
    target = Target(channel="ntfy", url=receiver.url(), options={"topic": "t"})
    async with DeliveryClient(allow_http=True) as strict:  # loopback not allow-listed
        with pytest.raises(ChannelError, match="not a public address") as err:
            await NtfyChannel(strict).send(make_alert(), target, idempotency_key="k")
    assert err.value.permanent and receiver.seen == []
    async with DeliveryClient(allow_networks=LOOPBACK) as https_only:
        with pytest.raises(ChannelError, match="scheme must be https") as err:
            await NtfyChannel(https_only).send(make_alert(), target, idempotency_key="k")
    async with DeliveryClient(allow_networks=LOOPBACK, allow_http=True) as ok:
        closed = Target(channel="ntfy", url="http://127.0.0.1:9", options={"topic": "t"})
        with pytest.raises(ChannelError, match="cannot connect") as err:
            await NtfyChannel(ok).send(make_alert(), closed, idempotency_key="k")
    assert not err.value.permanent


async def test_local_rate_limit_beyond_max_wait_raises(
    receiver: Receiver, session: DeliveryClient
) -> None:
    clock = FakeClock()
    slack = SlackChannel(session, receiver.url(), clock=clock, max_wait=2.0)
    target = Target(channel="slack", url="/x")
    slack.limiter.block(slack.limit_key(target), 30.0)  # e.g. Slack said 429, Retry-After: 30
    with pytest.raises(ChannelError) as err:
        await slack.send(make_alert(), target, idempotency_key="k")
    assert err.value.retry_after == pytest.approx(30.0) and not err.value.permanent
    assert clock.sleeps == [] and receiver.seen == []  # neither slept nor sent


def test_rate_limiter_burst_and_eviction() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock, max_keys=2)
    assert [limiter.reserve("a") for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
    clock.t = 10.0
    limiter.reserve("b")
    limiter.reserve("c")  # over max_keys: "a", long idle, is forgotten (it behaved as new anyway)
    assert limiter.delay("a") == 0.0 and len(limiter) == 2


def test_a_limiter_without_rate_is_free_but_while_a_block_lasts() -> None:
    clock = FakeClock()
    limiter = RateLimiter(math.inf, clock=clock, max_keys=2)
    assert limiter.free() and limiter.reserve("a") == 0.0 and len(limiter) == 0
    limiter.block("a", 30.0)  # a 429 with Retry-After: 30
    assert not limiter.free()
    assert limiter.delay("a") == pytest.approx(30.0) and limiter.delay("b") == 0.0
    assert limiter.reserve("a") == pytest.approx(30.0) and limiter.reserve("b") == 0.0
    clock.t = 29.0
    assert not limiter.free() and limiter.delay("a") == pytest.approx(1.0)
    clock.t = 30.0
    assert limiter.free() and limiter.delay("a") == 0.0
    for key in "bcd":  # blocks past max_keys: the ones over are forgotten
        limiter.block(key, 1.0)
    assert len(limiter) <= 3


async def test_console_prints_text_or_json() -> None:
    text, js = io.StringIO(), io.StringIO()
    channels: list[Channel] = [ConsoleChannel(text), ConsoleChannel(js, json=True)]
    for channel in channels:
        done = await channel.send(make_alert(), Target(channel="console"), idempotency_key="k")
        assert done.status is None and done.delivered_at.tzinfo is not None
    assert text.getvalue() == make_alert().text + "\n"
    assert json.loads(js.getvalue()) == make_alert().public()
